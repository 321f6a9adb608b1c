import Foundation
import GRDB

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
    ///   - format: the report's format (only Prometheus's per-installer gauges read every usable one).
    ///   - includeUsable: also read every usable installer (the Prometheus gauge lists them).
    ///   - scope: whose installers; the freshness check looks at each account in it.
    public func reportSnapshot(thresholds: ReportThresholds, format: String, at now: Timestamp,
                               includeUsable: Bool = false, scope: AccountScope = .all) throws -> ReportSnapshot {
        try read { db in
            var s = ReportSnapshot()
            s.accounts = try ReportQueries.lastSuccessfulRefreshes(db, at: now, scope: scope)
            // The oldest account's refresh: the ledger is as fresh as its stalest account.
            s.lastRefresh = s.accounts.contains { $0.lastRefresh == nil } ? nil : s.accounts.compactMap(\.lastRefresh).min()
            // `+account_id`: the account narrows rows found through the usable-by-expiry
            // index, it never picks another index (the plans stay on the covering one).
            let scoped = scope.sqlCondition(column: "+account_id").map { " AND " + $0 } ?? ""
            let windowStart = now.subtracting(thresholds.expiredWithin)
            // Expired in the window and usable until then: not revoked or deleted before expiry.
            // An installer already replaced by a usable successor (`rotate`) needs nothing
            // more from anyone, so it raises neither the expiry checks nor the alarm.
            s.expiredInWindow = try ReportQueries.reportInstallers(db, where: """
                expire_time > ? AND expire_time <= ? AND (status = 'usable' OR status_changed_at >= expire_time)
                AND \(ReportQueries.notReplaced)\(scoped)
                """, arguments: [windowStart.nanoseconds, now.nanoseconds])
            s.expiringWithinWarn = try ReportQueries.reportInstallers(db, where: "status = 'usable' AND expire_time > ? AND expire_time <= ? AND \(ReportQueries.notReplaced)\(scoped)",
                                                             arguments: [now.nanoseconds, now.adding(thresholds.warn).nanoseconds])
            if includeUsable {
                s.usable = try ReportQueries.reportInstallers(db, where: "status = 'usable' AND expire_time > ?\(scoped)", arguments: [now.nanoseconds])
            }
            let names = try AccountQueries.accountNames(db)
            s.byGroup = try Row.fetchAll(db, sql: ReportQueries.byGroup(scoped), arguments: [now.nanoseconds]).map { ReportQueries.coverage($0, names) }
            s.byProduct = try Row.fetchAll(db, sql: ReportQueries.byProduct(scoped), arguments: [now.nanoseconds]).map { ReportQueries.coverage($0, names) }
            // Counted from indexes, not by scanning every installer: usable and deleted have
            // partial indexes (0003), count(*) reads the smallest index.
            let whereScoped = scope.sqlCondition().map { " WHERE " + $0 } ?? ""
            let byAccount = scope.sqlCondition().map { " AND " + $0 } ?? ""
            let total = try Int.fetchOne(db, sql: "SELECT count(*) FROM installers\(whereScoped)") ?? 0
            s.counts.usable = try Int.fetchOne(db, sql: "SELECT count(*) FROM installers WHERE status = 'usable'\(byAccount)") ?? 0
            s.counts.deleted = try Int.fetchOne(db, sql: "SELECT count(*) FROM installers WHERE status = 'deleted'\(byAccount)") ?? 0
            s.counts.unusable = total - s.counts.usable - s.counts.deleted
            // Groups and products left without a usable installer by now + warn, in the same read.
            s.coverageGaps = try CoverageQueries.coverageGaps(db, at: now.adding(thresholds.warn), scope: scope)
            return s
        }
    }

}

/// The report's aggregate queries, one `?` each: the report's now.
enum ReportQueries {
    /// Usable, not yet expired installers, always read through the covering partial index
    /// `installers_usable_by_expiry` (0003): on a ledger that is mostly history the planner
    /// would otherwise walk a group or product index over every installer (18 s instead of
    /// a fraction of one on a million installers).
    /// `scoped`: an ` AND account_id IN (...)` condition, or empty.
    static func live(_ scoped: String) -> String {
        """
        SELECT uuid, security_group_uuid, group_display_name, expire_time, account_id FROM installers
        WHERE status = 'usable' AND expire_time > ?\(scoped)
        UNION ALL
        SELECT uuid, security_group_uuid, group_display_name, expire_time, account_id FROM installers
        WHERE status = 'usable' AND expire_time IS NULL\(scoped)
        """
    }

    /// Usable installers by account and device group: key, name, count, next expiry, covered
    /// until, account (a group belongs to one company).
    static func byGroup(_ scoped: String) -> String {
        """
        SELECT security_group_uuid, max(group_display_name), count(*), min(expire_time), max(expire_time), account_id
        FROM (\(live(scoped))) GROUP BY account_id, security_group_uuid ORDER BY 2 COLLATE NOCASE, 1, 6
        """
    }

    /// Usable installers by account and product; CROSS JOIN keeps the usable installers as the outer loop.
    static func byProduct(_ scoped: String) -> String {
        """
        SELECT CAST(p.product_id AS TEXT), max(p.product_display_name), count(DISTINCT i.uuid), min(i.expire_time),
          max(i.expire_time), i.account_id
        FROM (\(live(scoped))) i CROSS JOIN activated_products p ON p.installer_uuid = i.uuid
        GROUP BY i.account_id, p.product_id ORDER BY 2 COLLATE NOCASE, p.product_id, 6
        """
    }
}

/// The report snapshot's reads, inside the one read the snapshot holds.
extension ReportQueries {
    /// Each account in scope that is not archived (archived ones only when named) with its
    /// last successful refresh at or before `now`, by name; an account that never had one
    /// is listed with nil.
    static func lastSuccessfulRefreshes(_ db: Database, at now: Timestamp, scope: AccountScope) throws -> [AccountRefresh] {
        var last = [Int64: Timestamp]()
        for row in try Row.fetchAll(db, sql: """
            SELECT account_id, max(finished_at) FROM runs WHERE succeeded = 1 AND finished_at <= ?
              AND (kind = 'sync' OR (kind = 'reconcile' AND coalesce(json_extract(counts, '$.offline'), 0) = 0))
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

    /// The installers matching a condition, soonest expiry first, with their products: only
    /// the columns a report shows (the Prometheus format reads every usable installer).
    static func reportInstallers(_ db: Database, where condition: String, arguments: StatementArguments) throws -> [ReportInstaller] {
        var result = [ReportInstaller]()
        let names = try AccountQueries.accountNames(db)
        let cursor = try Row.fetchCursor(db, sql: """
            SELECT uuid, display_name, os_family_id, security_group_uuid, group_display_name, expire_time, status, status_reason,
              account_id
            FROM installers WHERE \(condition) ORDER BY expire_time, uuid
            """, arguments: arguments)
        var start = 0
        while let row = try cursor.next() {
            result.append(ReportInstaller(
                uuid: row[0], displayName: row[1], operatingSystem: OperatingSystemFamily.word(forId: row[2]),
                groupUuid: row[3], groupName: row[4], productIds: [], productNames: [],
                expireTime: (row[5] as Int64?).map(Timestamp.init(nanoseconds:)),
                status: InstallerStatus(rawValue: row[6]) ?? .unusable, statusReason: row[7],
                account: (row[8] as Int64?).flatMap { names[$0] } ?? ""))
            if result.count - start == 500 {
                try attachProducts(db, to: &result[start...])
                start = result.count
            }
        }
        try attachProducts(db, to: &result[start...])
        return result
    }

    /// Fills in the products of a batch of installers in one query.
    static func attachProducts(_ db: Database, to batch: inout ArraySlice<ReportInstaller>) throws {
        guard !batch.isEmpty else { return }
        var index = [String: Int]()
        for i in batch.indices { index[batch[i].uuid] = i }
        let products = try Row.fetchCursor(db, sql: """
            SELECT installer_uuid, product_id, product_display_name FROM activated_products
            WHERE installer_uuid IN (\(databaseQuestionMarks(count: batch.count))) ORDER BY installer_uuid, position
            """, arguments: StatementArguments(batch.map(\.uuid)))
        while let row = try products.next() {
            guard let i = index[row[0]] else { continue }
            batch[i].productIds.append(row[1])
            batch[i].productNames.append(row[2])
        }
    }

    static func coverage(_ row: Row, _ names: [Int64: String]) -> ReportCoverage {
        ReportCoverage(key: row[0] ?? "", name: row[1] ?? "", usable: row[2],
                       nextExpiry: (row[3] as Int64?).map(Timestamp.init(nanoseconds:)),
                       coveredUntil: (row[4] as Int64?).map(Timestamp.init(nanoseconds:)),
                       account: (row[5] as Int64?).flatMap { names[$0] } ?? "")
    }
}
