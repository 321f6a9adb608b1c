import Foundation
import GRDB
import PostgresNIO

/// `installer-ledger copy --to DEST` (issue 16): the ledger, every table and its whole
/// history, into an empty SQLite file or an empty PostgreSQL database. It refuses a
/// destination that holds anything; a failed copy leaves it as it was (SQLite: the file is
/// removed; PostgreSQL: one transaction, rolled back).
public enum LedgerCopy {
    /// The ledger's tables, each after the tables it references. The migration bookkeeping
    /// (`ledger_migration_checksums`, GRDB's `grdb_migrations`) belongs to each engine.
    static let tables = ["accounts", "installers", "activated_products", "installed_components", "raw_answers", "events",
                         "pending_creations", "runs", "report_runs", "successions"]

    /// What a copy wrote: each table's rows.
    public struct Summary: Sendable, Equatable {
        public var rows: [String: Int] = [:]

        public var total: Int { rows.values.reduce(0, +) }

        /// `1,000 installers, 2,000 activated_products, …` in table order.
        public var text: String {
            LedgerCopy.tables.compactMap { t in rows[t].map { "\($0) \(t)" } }.joined(separator: ", ")
        }
    }

    /// What the destination names.
    public enum Destination: Sendable {
        case sqlite(path: String)
        case postgres(PostgresURL)

        /// - Throws: `PostgresLedgerError.invalidURL` for a bad PostgreSQL URL.
        public init(parsing text: String) throws(PostgresLedgerError) {
            self = PostgresURL.isPostgres(text) ? .postgres(try PostgresURL(parsing: text)) : .sqlite(path: text)
        }

        /// Safe to show: a URL without its password.
        public var description: String {
            switch self {
            case .sqlite(let path): path
            case .postgres(let url): url.redacted
            }
        }
    }

    /// Copies `source` to `destination`.
    public static func copy(_ source: Ledger, to destination: Destination,
                            environment: [String: String] = ProcessInfo.processInfo.environment) async throws -> Summary {
        switch destination {
        case .sqlite(let path): try copy(source, toSQLite: path)
        case .postgres(let url): try await copy(source, toPostgres: url, environment: environment)
        }
    }

    // MARK: - SQLite

    static func copy(_ source: Ledger, toSQLite path: String) throws -> Summary {
        let fm = FileManager.default
        var existing = stat()
        if stat(path, &existing) == 0 {
            guard existing.st_mode & S_IFMT == S_IFREG, existing.st_size == 0 else {
                throw PostgresLedgerError.destinationNotEmpty(path, holding: existing.st_mode & S_IFMT == S_IFDIR ? "a folder" : "a file of \(existing.st_size) bytes")
            }
        } else {
            let fd = Foundation.open(path, O_CREAT | O_EXCL | O_WRONLY, 0o600)
            guard fd >= 0 else { throw LedgerError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
            close(fd)
        }
        do {
            try source.backup(toFile: path)
            let copy = try Ledger.open(path: path)
            return try copy.read { db in try counts(db) }
        } catch {
            for suffix in ["", "-wal", "-shm"] { try? fm.removeItem(atPath: path + suffix) }
            throw error
        }
    }

    /// Each table's rows.
    static func counts(_ db: Database) throws -> Summary {
        var summary = Summary()
        for t in tables { summary.rows[t] = try Int.fetchOne(db, sql: "SELECT count(*) FROM \(t)") ?? 0 }
        return summary
    }

    // MARK: - PostgreSQL

    static func copy(_ source: Ledger, toPostgres url: PostgresURL, environment: [String: String]) async throws -> Summary {
        let destination = try await PostgresLedger.connect(url, environment: environment)
        defer { Task { await destination.close() } }
        // Empty: no ledger rows, and no tables of something else.
        let applied = try await destination.appliedMigrations()
        if applied.isEmpty {
            let foreign = try await destination.foreignTables()
            guard foreign.isEmpty else {
                throw PostgresLedgerError.destinationNotEmpty(url.redacted, holding: "tables \(foreign.prefix(5).joined(separator: ", "))")
            }
        }
        try await destination.migrate()
        for t in tables {
            let rows = try await destination.run("SELECT count(*) FROM \(t)")
            if let n = try rows.first?.decode(Int64.self), n > 0 {
                throw PostgresLedgerError.destinationNotEmpty(url.redacted, holding: "a ledger with \(n) rows in \(t)")
            }
        }
        let snapshot = try source.snapshot()
        var summary = Summary()
        try await destination.run("BEGIN")
        do {
            for t in tables { summary.rows[t] = try await copy(table: t, from: snapshot, to: destination) }
            try await destination.run("COMMIT")
        } catch {
            _ = try? await destination.run("ROLLBACK")
            throw error
        }
        return summary
    }

    /// One table, in batches in key order; the identity sequence follows the copied ids.
    static func copy(table: String, from snapshot: any DatabaseReader, to destination: PostgresLedger) async throws -> Int {
        let (columns, keys) = try await snapshot.read { db -> ([String], [String]) in
            let info = try Row.fetchAll(db, sql: "PRAGMA table_info(\(table))")
            let columns = info.map { $0["name"] as String }
            let withoutRowID = (try String.fetchOne(db, sql: "SELECT sql FROM sqlite_master WHERE name = ?", arguments: [table]) ?? "")
                .uppercased().contains("WITHOUT ROWID")
            let pk = info.filter { ($0["pk"] as Int) > 0 }.sorted { ($0["pk"] as Int) < ($1["pk"] as Int) }.map { $0["name"] as String }
            return (columns, withoutRowID ? pk : ["rowid"])
        }
        let target = try await destination.run("""
            SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = '\(table)'
            ORDER BY ordinal_position
            """).map { try $0.decode(String.self) }
        guard Set(target) == Set(columns) else {
            throw PostgresLedgerError.server(url: destination.url.redacted, message: "table \(table) has columns \(target) where the ledger file has \(columns); the two schemas differ")
        }
        let perStatement = max(1, min(1000, 30000 / columns.count))
        let list = columns.joined(separator: ", "), keyList = keys.joined(separator: ", ")
        var after: [DatabaseValue]?
        var copied = 0
        while true {
            let start = after
            let (rows, last) = try await snapshot.read { db -> ([[DatabaseValue]], [DatabaseValue]?) in
                let condition = start.map { a in " WHERE (\(keyList)) > (\(databaseQuestionMarks(count: a.count)))" } ?? ""
                let fetched = try Row.fetchAll(db, sql: "SELECT \(keyList), \(list) FROM \(table)\(condition) ORDER BY \(keyList) LIMIT \(perStatement)",
                                               arguments: StatementArguments(start ?? []))
                let values = fetched.map { row in (keys.count..<row.count).map { row[$0] as DatabaseValue } }
                return (values, fetched.last.map { row in (0..<keys.count).map { row[$0] as DatabaseValue } })
            }
            guard !rows.isEmpty else { break }
            var binds = PostgresBindings(capacity: rows.count * columns.count)
            var tuples = [String]()
            for row in rows {
                let base = binds.count
                tuples.append("(" + (1...columns.count).map { "$\(base + $0)" }.joined(separator: ", ") + ")")
                for value in row {
                    switch value.storage {
                    case .null: binds.appendNull()
                    case .int64(let v): binds.append(v)
                    case .double(let v): binds.append(v)
                    case .string(let v): binds.append(v)
                    case .blob(let v): binds.append(String(decoding: v, as: UTF8.self))
                    }
                }
            }
            try await destination.run("INSERT INTO \(table) (\(list)) VALUES \(tuples.joined(separator: ", "))", binds)
            copied += rows.count
            after = last
        }
        if columns.contains("id") {
            try await destination.run("""
                SELECT setval(pg_get_serial_sequence('\(table)', 'id'), (SELECT max(id) FROM \(table)))
                WHERE pg_get_serial_sequence('\(table)', 'id') IS NOT NULL AND EXISTS (SELECT 1 FROM \(table))
                """)
        }
        return copied
    }
}
