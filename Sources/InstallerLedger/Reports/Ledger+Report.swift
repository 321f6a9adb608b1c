import Foundation

/// What can stop a report from reading the ledger or writing its output.
public enum ReportError: Error, Equatable, Sendable {
    /// There is no ledger file at the path (a report never creates one).
    case ledgerMissing(path: String)
    /// The output file could not be written.
    case cannotWriteOutput(path: String, reason: String)
}

extension ReportError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .ledgerMissing(let path):
            "there is no ledger at \(path); give the right --db (or INSTALLER_LEDGER_DB), or create it with 'installer-ledger sync' or 'import'"
        case .cannotWriteOutput(let path, let reason):
            "cannot write the report to \(path): \(reason); check that the folder exists and is writable"
        }
    }
}

// MARK: - Reading

extension Ledger {
    /// Opens an existing ledger for a report; unlike ``open(path:)`` it never creates one.
    /// - Throws: `ReportError.ledgerMissing`, or `LedgerError` when it cannot be opened.
    public static func openExisting(path: String) throws -> Ledger {
        if PostgresURL.isPostgres(path) { return try openPostgres(path, existing: true) }
        guard FileManager.default.fileExists(atPath: path) else { throw ReportError.ledgerMissing(path: path) }
        return try open(path: path)
    }

    /// When the ledger last learned what ESET has: the last successful `sync`, or
    /// `reconcile` that asked ESET (an `--offline` one does not), at or before `now`.
    public func lastSuccessfulRefresh(at now: Timestamp) throws -> Timestamp? {
        try read { db in try ReportQueries.lastSuccessfulRefreshes(db, at: now, scope: .all).first?.lastRefresh }
    }

    /// Everything a report needs, read in one consistent snapshot.
    /// - Parameters:
    ///   - format: the report's format.
    ///   - includeUsable: also read every usable installer (Prometheus's `--per-installer`).
    ///   - scope: whose installers; the freshness check looks at each account in it.
    ///   - listLimit: read at most this many installers of each section (the text and HTML
    ///     formats show 50), soonest first, and count the rest; nil: read them all.
    public func reportSnapshot(thresholds: ReportThresholds, format: String, at now: Timestamp,
                               includeUsable: Bool = false, scope: AccountScope = .all, listLimit: Int? = nil) throws -> ReportSnapshot {
        try read { db in
            var s = ReportSnapshot()
            s.accounts = try ReportQueries.lastSuccessfulRefreshes(db, at: now, scope: scope)
            // The oldest account's refresh: the ledger is as fresh as its stalest account.
            s.lastRefresh = s.accounts.contains { $0.lastRefresh == nil } ? nil : s.accounts.compactMap(\.lastRefresh).min()
            // `+account_id`: the account narrows rows found through the usable-by-expiry
            // index, it never picks another index (the plans stay on the covering one).
            let scoped = scope.sqlCondition(column: "+account_id").map { " AND " + $0 } ?? ""
            let windowStart = now.subtracting(thresholds.expiredWithin)
            let criticalEnd = now.adding(thresholds.critical), warnEnd = now.adding(thresholds.warn)
            // Expired in the window and usable until then: not revoked or deleted before expiry.
            // An installer already replaced by a usable successor (`rotate`) needs nothing
            // more from anyone, so it raises neither the expiry checks nor the alarm.
            let expired = ReportQueries.Section(where: """
                expire_time > ? AND expire_time <= ? AND (status = 'usable' OR status_changed_at >= expire_time)
                AND \(ReportQueries.notReplaced)\(scoped)
                """, arguments: [windowStart.nanoseconds, now.nanoseconds])
            let usableUntil = { (from: Timestamp, to: Timestamp) in ReportQueries.Section(
                where: "status = 'usable' AND expire_time > ? AND expire_time <= ? AND \(ReportQueries.notReplaced)\(scoped)",
                arguments: [from.nanoseconds, to.nanoseconds]) }
            let critical = usableUntil(now, criticalEnd), warning = usableUntil(criticalEnd, warnEnd)
            let names = try AccountQueries.accountNames(db)
            s.expiredInWindow = try ReportQueries.reportInstallers(db, expired, limit: listLimit, names: names)
            s.expiringWithinWarn = try ReportQueries.reportInstallers(db, critical, limit: listLimit, names: names)
                + ReportQueries.reportInstallers(db, warning, limit: listLimit, names: names)
            if listLimit != nil {
                var totals = ReportSectionTotals()
                for (section, keyPath) in [(expired, \ReportSectionTotals.Counts.expired), (critical, \.critical), (warning, \.warning)] {
                    for (account, count) in try ReportQueries.count(db, section) {
                        let name = account.flatMap { names[$0] } ?? ""
                        totals.byAccount[name, default: ReportSectionTotals.Counts()][keyPath: keyPath] += count
                        totals.all[keyPath: keyPath] += count
                    }
                }
                s.totals = totals
            }
            if includeUsable {
                s.usable = try ReportQueries.reportInstallers(db, .init(where: "status = 'usable' AND expire_time > ?\(scoped)",
                                                                          arguments: [now.nanoseconds]), limit: nil, names: names)
            }
            // By group and product, and the gaps at now + warn: from the live subjects of the
            // index `installers_by_subject` (0007), in the same read.
            let live = try CoverageQueries.live(db, at: now, scope: scope)
            (s.byGroup, s.byProduct) = try CoverageQueries.summaries(db, live: live, names: names)
            s.coverageGaps = try CoverageQueries.coverageGaps(db, at: warnEnd, scope: scope, live: live)
            // Counted from indexes, not by scanning every installer: usable and deleted have
            // partial indexes (0003), count(*) reads the smallest index.
            let whereScoped = scope.sqlCondition().map { " WHERE " + $0 } ?? ""
            let byAccount = scope.sqlCondition().map { " AND " + $0 } ?? ""
            let total = try Int.fetchOne(db, sql: "SELECT count(*) FROM installers\(whereScoped)") ?? 0
            s.counts.usable = try Int.fetchOne(db, sql: "SELECT count(*) FROM installers WHERE status = 'usable'\(byAccount)") ?? 0
            s.counts.deleted = try Int.fetchOne(db, sql: "SELECT count(*) FROM installers WHERE status = 'deleted'\(byAccount)") ?? 0
            s.counts.unusable = total - s.counts.usable - s.counts.deleted
            return s
        }
    }

}

/// The report's reads of installers.
enum ReportQueries {
    /// A listing section: a condition on `installers` and its arguments.
    struct Section {
        var condition: String
        var arguments: [Int64]

        init(where condition: String, arguments: [Int64]) {
            self.condition = condition
            self.arguments = arguments
        }
    }

    /// How many installers a section holds, by account.
    static func count(_ db: any LedgerSQL, _ section: Section) throws -> [(account: Int64?, count: Int)] {
        try SQLRow.fetchAll(db, sql: "SELECT account_id, count(*) FROM installers WHERE \(section.condition) GROUP BY account_id",
                         arguments: SQLArguments(section.arguments)).map { ($0[0], $0[1]) }
    }
}

/// The report snapshot's reads, inside the one read the snapshot holds.
extension ReportQueries {
    /// Each account in scope that is not archived (archived ones only when named) with its
    /// last successful refresh at or before `now`, by name; an account that never had one
    /// is listed with nil.
    static func lastSuccessfulRefreshes(_ db: any LedgerSQL, at now: Timestamp, scope: AccountScope) throws -> [AccountRefresh] {
        var last = [Int64: Timestamp]()
        for row in try SQLRow.fetchAll(db, sql: """
            SELECT account_id, max(finished_at) FROM runs WHERE succeeded = 1 AND finished_at <= ?
              AND (kind = 'sync' OR (kind = 'reconcile' AND \(db.engine.jsonFlag("counts", "offline")) = 0))
              AND account_id IS NOT NULL GROUP BY account_id
            """, arguments: [now.nanoseconds]) {
            if let at = row[1] as Int64? { last[row[0]] = Timestamp(nanoseconds: at) }
        }
        return try AccountQueries.fetchAccounts(db).filter { a in scope.ids?.contains(a.id) ?? (a.archivedAt == nil) }
            .map { AccountRefresh(account: $0.name, lastRefresh: last[$0.id]) }
    }

    /// SQL: the installer has no usable successor.
    static let notReplaced = """
        NOT EXISTS (SELECT 1 FROM successions s JOIN installers n ON n.uuid = s.successor_uuid
                    WHERE s.predecessor_uuid = installers.uuid AND n.status = 'usable')
        """

    /// A section's installers, soonest expiry first (at most `limit`), with their products:
    /// only the columns a report shows. Stepped through SQLite's C API (``any SQLStatement``):
    /// a JSON report of a million-installer ledger reads some 40,000 of them.
    /// `names`: the accounts' names by id, read once in the snapshot.
    static func reportInstallers(_ db: any LedgerSQL, _ section: Section, limit: Int?, names: [Int64: String]) throws -> [ReportInstaller] {
        var result = [ReportInstaller]()
        let statement = try db.prepare(sql: """
            SELECT uuid, display_name, os_family_id, security_group_uuid, group_display_name, expire_time, status, status_reason,
              account_id
            FROM installers WHERE \(section.condition) ORDER BY expire_time, uuid\(limit.map { " LIMIT \($0)" } ?? "")
            """)
        for (n, value) in section.arguments.enumerated() { statement.bind(Int32(n + 1), value) }
        try statement.forEachRow { row in
            result.append(ReportInstaller(
                uuid: row.text(0), displayName: row.text(1), operatingSystem: OperatingSystemFamily.word(forId: row.int64(2)),
                groupUuid: row.text(3), groupName: row.text(4), productIds: [], productNames: [],
                expireTime: row.isNull(5) ? nil : Timestamp(nanoseconds: row.int64(5)),
                status: InstallerStatus(rawValue: row.text(6)) ?? .unusable, statusReason: row.isNull(7) ? nil : row.text(7),
                account: row.isNull(8) ? "" : names[row.int64(8)] ?? ""))
        }
        var products = ProductReader(db)
        try products.attach(to: &result)
        return result
    }

    /// Fills in the products of installers, a batch of uuids per query, in uuid order:
    /// `activated_products` is keyed by uuid, so each of its pages is read once, not once per
    /// installer on it (40,000 installers' products read half the pages that way).
    struct ProductReader {
        static let batch = 500
        let db: any LedgerSQL
        var statements = [Int: any SQLStatement]()

        init(_ db: any LedgerSQL) { self.db = db }

        mutating func attach(to installers: inout [ReportInstaller]) throws {
            let order = installers.indices.sorted { installers[$0].uuid < installers[$1].uuid }
            var start = 0
            while start < order.count {
                let batch = order[start..<min(start + Self.batch, order.count)]
                start += batch.count
                var index = [String: Int]()
                for i in batch { index[installers[i].uuid] = i }
                let statement = try statements[batch.count] ?? db.prepare(sql: """
                    SELECT installer_uuid, product_id, product_display_name FROM activated_products
                    WHERE installer_uuid IN (\(sqlPlaceholders(count: batch.count))) ORDER BY installer_uuid, position
                    """)
                statements[batch.count] = statement
                for (n, i) in batch.enumerated() { statement.bind(Int32(n + 1), installers[i].uuid) }
                try statement.forEachRow { row in
                    guard let i = index[row.text(0)] else { return }
                    installers[i].productIds.append(row.int64(1))
                    installers[i].productNames.append(row.text(2))
                }
            }
        }
    }

}
