import Foundation
import GRDB
import PostgresNIO

/// A copy's destination file cannot be made.
public enum CopyError: Error, Equatable, ClassifiedError {
    case cannotCreate(path: String, reason: String)

    public var description: String {
        switch self {
        case .cannotCreate(let path, let reason): "cannot create \(path): \(reason); check that its folder exists and is writable"
        }
    }

    public var exitClass: ExitClass { .ioError }
}

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

    /// Copies the PostgreSQL ledger at `source` to `destination`: an empty SQLite file (the
    /// way back, and a file to run the commands on). PostgreSQL to PostgreSQL is pg_dump's job.
    public static func copy(from source: PostgresURL, to destination: Destination,
                            environment: [String: String] = ProcessInfo.processInfo.environment) async throws -> Summary {
        switch destination {
        case .sqlite(let path): try await copy(fromPostgres: source, toSQLite: path, environment: environment)
        case .postgres(let url):
            throw PostgresLedgerError.betweenServers(to: url.redacted)
        }
    }

    // MARK: - SQLite

    /// Makes sure `path` is a new or empty file (creating it 0600).
    static func claimEmptyFile(_ path: String) throws {
        var existing = stat()
        if stat(path, &existing) == 0 {
            guard existing.st_mode & S_IFMT == S_IFREG, existing.st_size == 0 else {
                throw PostgresLedgerError.destinationNotEmpty(path, holding: existing.st_mode & S_IFMT == S_IFDIR ? "a folder" : "a file of \(existing.st_size) bytes")
            }
        } else {
            let fd = Foundation.open(path, O_CREAT | O_EXCL | O_WRONLY, 0o600)
            guard fd >= 0 else { throw CopyError.cannotCreate(path: path, reason: String(cString: strerror(errno))) }
            close(fd)
        }
    }

    /// Removes a half-made copy.
    static func remove(_ path: String) {
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
    }

    static func copy(_ source: Ledger, toSQLite path: String) throws -> Summary {
        try claimEmptyFile(path)
        do {
            try source.backup(toFile: path)
            let copy = try Ledger.open(path: path)
            return try copy.readDatabase { db in try counts(db) }
        } catch {
            remove(path)
            throw error
        }
    }

    /// From PostgreSQL, in one read-only snapshot (REPEATABLE READ), each table streamed in
    /// key order into a new ledger file; a failure removes the file.
    static func copy(fromPostgres url: PostgresURL, toSQLite path: String, environment: [String: String]) async throws -> Summary {
        try await PostgresLedger.with(url, environment: environment) { source in try await copy(from: source, toSQLite: path) }
    }

    static func copy(from source: PostgresLedger, toSQLite path: String) async throws -> Summary {
        try source.verifyCurrentSchema()
        try claimEmptyFile(path)
        do {
            let destination = try Ledger.open(path: path)
            try source.run("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            for table in tables {
                let (columns, keys) = try destination.readDatabase { db in try columnsAndKeys(db, table: table) }
                let insert = "INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES (\(databaseQuestionMarks(count: columns.count)))"
                let order = keys == ["rowid"] ? (columns.contains("id") ? "id" : columns[0]) : keys.joined(separator: ", ")
                let rows = try await source.stream("SELECT \(columns.joined(separator: ", ")) FROM \(table) ORDER BY \(order)")
                var batch = [[DatabaseValue]]()
                func flush() throws {
                    let rows = batch
                    try destination.writeDatabase { db in
                        let statement = try db.cachedStatement(sql: insert)
                        for row in rows { try statement.execute(arguments: StatementArguments(row)) }
                    }
                    batch.removeAll(keepingCapacity: true)
                }
                for try await row in rows {
                    batch.append(try row.map { cell in
                        guard cell.bytes != nil else { return .null }
                        switch cell.dataType {
                        case .int2, .int4, .int8: return try cell.decode(Int64.self).databaseValue
                        default: return try cell.decode(String.self).databaseValue
                        }
                    })
                    if batch.count == 2_000 { try flush() }
                }
                try flush()
            }
            _ = try? source.run("COMMIT")
            return try destination.readDatabase { db in try counts(db) }
        } catch {
            _ = try? source.run("ROLLBACK")
            remove(path)
            throw error
        }
    }

    /// A table's columns in order, and the keys its rows are read in: the primary key of a
    /// table without rowid, else `rowid`.
    static func columnsAndKeys(_ db: Database, table: String) throws -> ([String], [String]) {
        let info = try Row.fetchAll(db, sql: "PRAGMA table_info(\(table))")
        let columns = info.map { $0["name"] as String }
        let withoutRowID = (try String.fetchOne(db, sql: "SELECT sql FROM sqlite_master WHERE name = ?", arguments: [table]) ?? "")
            .uppercased().contains("WITHOUT ROWID")
        let pk = info.filter { ($0["pk"] as Int) > 0 }.sorted { ($0["pk"] as Int) < ($1["pk"] as Int) }.map { $0["name"] as String }
        return (columns, withoutRowID ? pk : ["rowid"])
    }

    /// Each table's rows.
    static func counts(_ db: Database) throws -> Summary {
        var summary = Summary()
        for t in tables { summary.rows[t] = try Int.fetchOne(db, sql: "SELECT count(*) FROM \(t)") ?? 0 }
        return summary
    }

    // MARK: - PostgreSQL

    static func copy(_ source: Ledger, toPostgres url: PostgresURL, environment: [String: String]) async throws -> Summary {
        try await PostgresLedger.with(url, environment: environment) { destination in try await copy(source, to: destination) }
    }

    static func copy(_ source: Ledger, to destination: PostgresLedger) async throws -> Summary {
        let url = destination.url
        // Empty: no ledger rows, and no tables of something else.
        let applied = try destination.appliedMigrations()
        if applied.isEmpty {
            let foreign = try destination.foreignTables()
            guard foreign.isEmpty else {
                throw PostgresLedgerError.destinationNotEmpty(url.redacted, holding: "tables \(foreign.prefix(5).joined(separator: ", "))")
            }
        }
        try destination.migrate()
        let snapshot = try source.snapshot()
        var summary = Summary()
        try destination.run("BEGIN")
        do {
            // Two copies into one database at once: the second waits here, then finds rows.
            try destination.run("SELECT pg_advisory_xact_lock(\(PostgresLedger.migrationLock))")
            for t in tables {
                let rows = try destination.run("SELECT count(*) FROM \(t)")
                if let n = try rows.first?.decode(Int64.self), n > 0 {
                    throw PostgresLedgerError.destinationNotEmpty(url.redacted, holding: "a ledger with \(n) rows in \(t)")
                }
            }
            for t in tables { summary.rows[t] = try await copy(table: t, from: snapshot, to: destination) }
            try destination.run("COMMIT")
        } catch {
            _ = try? destination.run("ROLLBACK")
            throw error
        }
        return summary
    }

    /// One table, in batches in key order; the identity sequence follows the copied ids.
    static func copy(table: String, from snapshot: any DatabaseReader, to destination: PostgresLedger) async throws -> Int {
        let (columns, keys) = try await snapshot.read { db in try columnsAndKeys(db, table: table) }
        let target = try destination.run("""
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
            var binds = [SQLValue]()
            binds.reserveCapacity(rows.count * columns.count)
            var tuples = [String]()
            for row in rows {
                let base = binds.count
                tuples.append("(" + (1...columns.count).map { "$\(base + $0)" }.joined(separator: ", ") + ")")
                for value in row {
                    switch value.storage {
                    case .null: binds.append(.null)
                    case .int64(let v): binds.append(.int(v))
                    case .double(let v): binds.append(.double(v))
                    case .string(let v): binds.append(.text(v))
                    case .blob(let v): binds.append(.text(String(decoding: v, as: UTF8.self)))
                    }
                }
            }
            try destination.run("INSERT INTO \(table) (\(list)) VALUES \(tuples.joined(separator: ", "))", binds)
            copied += rows.count
            after = last
        }
        if columns.contains("id") {
            try destination.run("""
                SELECT setval(pg_get_serial_sequence('\(table)', 'id'), (SELECT max(id) FROM \(table)))
                WHERE pg_get_serial_sequence('\(table)', 'id') IS NOT NULL AND EXISTS (SELECT 1 FROM \(table))
                """)
        }
        return copied
    }
}
