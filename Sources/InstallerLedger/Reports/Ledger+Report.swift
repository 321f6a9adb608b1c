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
        try dbWriter.read { db in try Self.lastSuccessfulRefresh(db, at: now) }
    }

    static func lastSuccessfulRefresh(_ db: Database, at now: Timestamp) throws -> Timestamp? {
        try Int64.fetchOne(db, sql: """
            SELECT max(finished_at) FROM runs WHERE succeeded = 1 AND finished_at <= ?
              AND (kind = 'sync' OR (kind = 'reconcile' AND coalesce(json_extract(counts, '$.offline'), 0) = 0))
            """, arguments: [now.nanoseconds]).map(Timestamp.init(nanoseconds:))
    }

    /// Everything a report needs, read in one consistent snapshot.
    /// - Parameters:
    ///   - format: the previous report is the previous one in the same format.
    ///   - includeUsable: also read every usable installer (the Prometheus gauge lists them).
    public func reportSnapshot(thresholds: ReportThresholds, format: String, at now: Timestamp,
                               includeUsable: Bool = false) throws -> ReportSnapshot {
        try dbWriter.read { db in
            var s = ReportSnapshot()
            s.lastRefresh = try Self.lastSuccessfulRefresh(db, at: now)
            s.previousReportAt = try Int64.fetchOne(db, sql: """
                SELECT max(generated_at) FROM report_runs WHERE format = ? AND generated_at < ?
                """, arguments: [format, now.nanoseconds]).map(Timestamp.init(nanoseconds:))
            let windowStart = s.previousReportAt ?? now.subtracting(ExpiryReport.firstReportLookback)
            // Expired in the window and usable until then: not revoked or deleted before expiry.
            s.expiredInWindow = try Self.reportInstallers(db, sql: """
                SELECT \(LedgerQueries.installerColumns) FROM installers
                WHERE expire_time > ? AND expire_time <= ? AND (status = 'usable' OR status_changed_at >= expire_time)
                ORDER BY expire_time, uuid
                """, arguments: [windowStart.nanoseconds, now.nanoseconds])
            var soon = InstallerFilter()
            soon.expiringWithin = thresholds.warn
            soon.sort = .expires
            let (soonSQL, soonArgs) = LedgerQueries.selectInstallers(soon, now: now)
            s.expiringWithinWarn = try Self.reportInstallers(db, sql: soonSQL, arguments: soonArgs)
            if includeUsable {
                var all = InstallerFilter()
                all.expiringWithin = LedgerDuration(nanoseconds: .max)
                all.sort = .expires
                let (sql, args) = LedgerQueries.selectInstallers(all, now: now)
                s.usable = try Self.reportInstallers(db, sql: sql, arguments: args)
            }
            s.byGroup = try Row.fetchAll(db, sql: """
                SELECT security_group_uuid, max(group_display_name), count(*), min(expire_time), max(expire_time)
                FROM installers WHERE status = 'usable' AND (expire_time > ? OR expire_time IS NULL)
                GROUP BY security_group_uuid ORDER BY 2 COLLATE NOCASE, 1
                """, arguments: [now.nanoseconds]).map(Self.coverage)
            s.byProduct = try Row.fetchAll(db, sql: """
                SELECT CAST(p.product_id AS TEXT), max(p.product_display_name), count(DISTINCT i.uuid), min(i.expire_time), max(i.expire_time)
                FROM installers i JOIN activated_products p ON p.installer_uuid = i.uuid
                WHERE i.status = 'usable' AND (i.expire_time > ? OR i.expire_time IS NULL)
                GROUP BY p.product_id ORDER BY 2 COLLATE NOCASE, p.product_id
                """, arguments: [now.nanoseconds]).map(Self.coverage)
            for row in try Row.fetchAll(db, sql: "SELECT status, count(*) FROM installers GROUP BY status") {
                switch InstallerStatus(rawValue: row[0]) {
                case .usable?: s.counts.usable = row[1]
                case .unusable?: s.counts.unusable = row[1]
                case .deleted?: s.counts.deleted = row[1]
                case nil: break
                }
            }
            return s
        }
    }

    /// Installers selected by `sql` (over `installerColumns`), with their products, in
    /// batches so a long list never exceeds SQLite's parameter limit.
    static func reportInstallers(_ db: Database, sql: String, arguments: StatementArguments) throws -> [ReportInstaller] {
        var result = [ReportInstaller]()
        var batch = [LedgerInstaller]()
        func flush() throws {
            try LedgerQueries.attachChildren(db, to: &batch)
            result += batch.map(ReportInstaller.init)
            batch.removeAll(keepingCapacity: true)
        }
        let cursor = try Row.fetchCursor(db, sql: sql, arguments: arguments)
        while let row = try cursor.next() {
            batch.append(LedgerQueries.decode(row))
            if batch.count == 500 { try flush() }
        }
        try flush()
        return result
    }

    static func coverage(_ row: Row) -> ReportCoverage {
        ReportCoverage(key: row[0] ?? "", name: row[1] ?? "", usable: row[2],
                       nextExpiry: (row[3] as Int64?).map(Timestamp.init(nanoseconds:)),
                       coveredUntil: (row[4] as Int64?).map(Timestamp.init(nanoseconds:)))
    }
}

// MARK: - Recording

extension Ledger {
    /// Records a report run, so the next report in the same format knows where "expired
    /// since the previous report" starts. An unreadable-ledger report is never recorded.
    public func recordReport(_ report: ExpiryReport, format: String) throws {
        guard report.ledgerReadable else { return }
        let counts = JSONValue.object(JSONObject(
            keys: ["expired", "critical", "warning", "usable"],
            values: [.int(Int64(report.expiredSincePreviousReport.count)), .int(Int64(report.critical.count)),
                     .int(Int64(report.warning.count)), .int(Int64(report.counts.usable))])).jsonText
        try dbWriter.write { db in
            try db.execute(sql: """
                INSERT INTO report_runs (format, generated_at, window_start, status, counts) VALUES (?, ?, ?, ?, ?)
                """, arguments: [format, report.generatedAt.nanoseconds, report.windowStart.nanoseconds,
                                 report.status.rawValue, counts])
        }
    }
}
