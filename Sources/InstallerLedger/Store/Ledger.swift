import Foundation
import GRDB
import LedgerMigrations

/// The installer ledger: one SQLite database holding every installer, its products and
/// components, the append-only history and the last raw answer of each installer.
///
/// Writes are named transactions that keep the ledger's invariants; reads are focused
/// queries. Tests use `inMemory()`, production `open(path:)`.
public final class Ledger: Sendable {
    /// The database; only this file touches it: the features read and write through
    /// `read`, `write` and `writeWithoutForeignKeyChecks`, with their SQL in query types
    /// written against the store seam (`LedgerSQL`).
    private let store: Store
    /// Where the ledger lives, for messages: a path, `:memory:`, or a PostgreSQL URL
    /// without its password.
    public let path: String

    /// The engine holding the ledger, and its connection.
    private enum Store: Sendable {
        case sqlite(any DatabaseWriter)
        /// One connection, one transaction at a time.
        case postgres(PostgresLedger, NSLock)
    }

    init(dbWriter: any DatabaseWriter, path: String) throws {
        self.store = .sqlite(dbWriter)
        self.path = path
        try Self.migrator(path: path).migrate(dbWriter)
    }

    private init(postgres: PostgresLedger) {
        self.store = .postgres(postgres, NSLock())
        self.path = postgres.url.redacted
    }

    deinit {
        if case .postgres(let connection, _) = store { connection.closeBlocking() }
    }

    /// The engine holding the ledger.
    public var engine: LedgerEngine {
        switch store {
        case .sqlite: .sqlite
        case .postgres: .postgresql
        }
    }

    /// Opens the ledger named by `--db`: a file (see `open(path:)`), or a PostgreSQL URL,
    /// whose schema is brought up to date (or, with `existing`, must already be).
    /// - Throws: `LedgerError`, `PostgresLedgerError`.
    static func openPostgres(_ text: String, existing: Bool,
                             environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Ledger {
        let connection = try PostgresLedger.open(try PostgresURL(parsing: text), environment: environment)
        do {
            // A read never creates a ledger; an older one is brought up to date, as a file's is.
            try connection.migrate(creating: !existing)
        } catch {
            connection.closeBlocking()
            throw error
        }
        return Ledger(postgres: connection)
    }

    /// Opens (creating when absent) the ledger file: WAL mode, foreign keys on, a 10 s busy
    /// timeout so a cron job and a human never fail with "database is locked". A new file is
    /// created 0600 in a 0700 folder. A ledger from a newer version, or one whose applied
    /// migrations differ from this build's, is refused before anything is written. A
    /// PostgreSQL URL opens that database, creating the ledger's schema in it when absent.
    /// - Throws: `LedgerError`, `PostgresLedgerError`.
    public static func open(path: String) throws -> Ledger {
        if PostgresURL.isPostgres(path) { return try openPostgres(path, existing: false) }
        let fm = FileManager.default
        let folder = (path as NSString).deletingLastPathComponent
        do {
            if !folder.isEmpty, !fm.fileExists(atPath: folder) {
                try fm.createDirectory(atPath: folder, withIntermediateDirectories: true,
                                       attributes: [.posixPermissions: 0o700])
            }
            if !fm.fileExists(atPath: path) {
                let fd = Foundation.open(path, O_CREAT | O_EXCL | O_WRONLY, 0o600)
                if fd < 0, errno != EEXIST {
                    throw LedgerError.cannotOpen(path: path, reason: String(cString: strerror(errno)))
                }
                if fd >= 0 { close(fd) }
            } else {
                try checkCompatibility(path: path)
            }
            let pool = try DatabasePool(path: path, configuration: configuration(.file))
            return try Ledger(dbWriter: pool, path: path)
        } catch let error as LedgerError {
            throw error
        } catch let error as DatabaseError {
            throw LedgerError.cannotOpen(path: path, reason: error.message ?? "\(error)")
        } catch {
            throw LedgerError.cannotOpen(path: path, reason: "\(error.localizedDescription)")
        }
    }


    /// What a connection is for, which decides its GRDB configuration.
    enum ConnectionKind { case file, memory, readOnlyCheck }

    /// The one place GRDB connections are configured. A file ledger: WAL (DatabasePool), foreign
    /// keys on, a 10 s busy timeout so a cron job and a human never fail with "database is locked".
    static func configuration(_ kind: ConnectionKind) -> Configuration {
        var config = Configuration()
        // The selection rule's SQL functions, on every connection (list, rotate, exports).
        config.prepareDatabase { db in
            for function in sqliteFunctions { db.add(function: function) }
        }
        switch kind {
        case .memory:
            config.foreignKeysEnabled = true
        case .readOnlyCheck:
            config.readonly = true
            config.busyMode = .timeout(10)
        case .file:
            config.busyMode = .timeout(10)
            config.foreignKeysEnabled = true
            config.prepareDatabase { db in
                try db.execute(sql: "PRAGMA synchronous = NORMAL")
                // 16 KiB pages for a new ledger (a no-op once the file has tables): a quarter
                // of the pages, so a quarter of the b-tree and WAL bookkeeping per byte. It
                // took 0.5 s (8 %) off importing 100,000 installers, mostly system time.
                try db.execute(sql: "PRAGMA page_size = 16384")
                // Bulk imports touch pages all over the uuid-keyed b-trees: a 64 MiB cache
                // keeps them in memory instead of re-reading them from the WAL. A reader walks
                // an index or a slice once: 16 MiB, so that a report on a million installers
                // stays within its memory budget (it filled 64 MiB with pages read once).
                try db.execute(sql: db.configuration.readonly ? "PRAGMA cache_size = -16384" : "PRAGMA cache_size = -65536")
            }
        }
        return config
    }

    /// SQLite's functions for the selection rule (`SelectionText`) and the as-of sort
    /// (`LedgerEngine.rfc3339Nanoseconds`), registered on every connection.
    static let sqliteFunctions = [
        DatabaseFunction("ledger_equal_folded", argumentCount: 2, pure: true) { values in
            guard let a = String.fromDatabaseValue(values[0]), let b = String.fromDatabaseValue(values[1]) else { return false }
            return a.lowercased() == b.lowercased()
        },
        DatabaseFunction("ledger_contains_folded", argumentCount: 2, pure: true) { values in
            guard let a = String.fromDatabaseValue(values[0]), let b = String.fromDatabaseValue(values[1]) else { return false }
            return a.lowercased().contains(b.lowercased())
        },
        DatabaseFunction("ledger_rfc3339_ns", argumentCount: 1, pure: true) { values in
            guard let text = String.fromDatabaseValue(values[0]) else { return nil }
            return (try? Timestamp(rfc3339: text))?.nanoseconds
        },
    ]

    /// A fresh ledger in memory, for tests.
    public static func inMemory() throws -> Ledger {
        try Ledger(dbWriter: DatabaseQueue(configuration: configuration(.memory)), path: ":memory:")
    }

    /// Refuses a ledger with migrations this build does not know or whose recorded
    /// checksums differ, reading through a read-only connection so the file stays untouched.
    static func checkCompatibility(path: String) throws {
        let queue = try DatabaseQueue(path: path, configuration: configuration(.readOnlyCheck))
        defer { try? queue.close() }
        try queue.read { db in try verifyMigrations(db, path: path) }
    }

    static func verifyMigrations(_ db: Database, path: String) throws {
        guard try db.tableExists("grdb_migrations") else { return }
        let applied = try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations")
        let shipped = Dictionary(uniqueKeysWithValues: LedgerMigrationFiles.all.map { ($0.identifier, $0.sql) })
        let unknown = applied.filter { shipped[$0] == nil }.sorted()
        guard unknown.isEmpty else { throw LedgerError.newerSchema(path: path, unknownMigrations: unknown) }
        guard try db.tableExists("ledger_migration_checksums") else { return }
        let recorded = try Row.fetchAll(db, sql: "SELECT identifier, sha256 FROM ledger_migration_checksums")
        for row in recorded {
            let id: String = row["identifier"]
            if let sql = shipped[id], SHA256.hex(Array(sql.utf8)) != row["sha256"] as String {
                throw LedgerError.editedMigration(path: path, identifier: id)
            }
        }
    }

    static func migrator(path: String) -> DatabaseMigrator {
        var migrator = DatabaseMigrator()
        for (identifier, sql) in LedgerMigrationFiles.all {
            migrator.registerMigration(identifier) { db in
                try db.execute(sql: sql)
                try db.execute(
                    sql: "INSERT INTO ledger_migration_checksums (identifier, sha256) VALUES (?, ?)",
                    arguments: [identifier, SHA256.hex(Array(sql.utf8))])
            }
        }
        return migrator
    }

    // MARK: - Access for the store's features

    /// Runs `body` in one read snapshot (PostgreSQL: a REPEATABLE READ READ ONLY transaction,
    /// which never fails beside writers).
    func read<T>(_ body: (any LedgerSQL) throws -> T) throws -> T {
        switch store {
        case .sqlite(let writer):
            return try writer.read { db in try body(SQLiteSQL(db)) }
        case .postgres(let connection, let lock):
            return try lock.withLock {
                try connection.transaction("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") { try body(PostgresSQL(connection)) }
            }
        }
    }

    /// Runs `body` in one write transaction (rolled back when it throws). PostgreSQL: the
    /// writers of every machine take turns, as SQLite's do, under one advisory lock held to
    /// the end of the transaction; READ COMMITTED, so each statement sees what the writer
    /// before committed. No write ever fails for racing another, so no body is ever run twice
    /// (an import's body consumes its input).
    func write<T>(_ body: (any LedgerSQL) throws -> T) throws -> T {
        switch store {
        case .sqlite(let writer):
            return try writer.write { db in try body(SQLiteSQL(db)) }
        case .postgres(let connection, let lock):
            return try lock.withLock {
                try connection.transaction("BEGIN ISOLATION LEVEL READ COMMITTED", then: [
                    "SET LOCAL lock_timeout = '\(PostgresLedger.writerWait)s'",
                    "SELECT pg_advisory_xact_lock(\(PostgresLedger.writerLock))",
                ]) { try body(PostgresSQL(connection)) }
            }
        }
    }

    /// Runs `body` in one write transaction with foreign-key enforcement off, for bulk writers
    /// whose rows satisfy the keys by construction (import, reconcile); every other write
    /// keeps them enforced. SQLite's pragma only takes effect outside a transaction, hence
    /// this bracket; enforcement is back on when it returns or throws. PostgreSQL's keys
    /// cannot be switched off: the writers insert parents before children.
    func writeWithoutForeignKeyChecks<T>(_ body: (any LedgerSQL) throws -> T) throws -> T {
        guard case .sqlite(let writer) = store else { return try write(body) }
        return try writer.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA foreign_keys = OFF")
            defer { try? db.execute(sql: "PRAGMA foreign_keys = ON") }
            var result: T?
            try db.inTransaction {
                result = try body(SQLiteSQL(db))
                return .commit
            }
            return result!
        }
    }

    /// The SQLite database, for the copy (PostgreSQL ledgers are copied by their URL).
    private var sqliteWriter: any DatabaseWriter {
        get throws {
            guard case .sqlite(let writer) = store else { throw PostgresLedgerError.betweenServers(to: path) }
            return writer
        }
    }

    /// GRDB's own connection, for the copy between engines (SQLite ledgers only).
    func readDatabase<T>(_ body: (Database) throws -> T) throws -> T { try sqliteWriter.read(body) }

    /// GRDB's own connection in a write transaction, for the copy (SQLite ledgers only).
    func writeDatabase<T>(_ body: (Database) throws -> T) throws -> T { try sqliteWriter.write(body) }

    /// GRDB's connection outside a transaction (tests set pragmas through it; SQLite only).
    func writeDatabaseWithoutTransaction<T>(_ body: (Database) throws -> T) throws -> T {
        try sqliteWriter.writeWithoutTransaction(body)
    }

    /// Copies every page of the ledger into the (new or empty) file at `path` with SQLite's
    /// online backup: the same ledger, history included, in one consistent snapshot.
    func backup(toFile path: String) throws {
        let destination = try DatabaseQueue(path: path, configuration: Self.configuration(.file))
        try sqliteWriter.backup(to: destination)
        try destination.close()
    }

    /// A read snapshot that stays consistent across several reads (a copy to PostgreSQL
    /// awaits the server between batches): the ledger as it was when it was made.
    func snapshot() throws -> any DatabaseReader {
        let writer = try sqliteWriter
        guard let pool = writer as? DatabasePool else { return writer }  // in memory: one connection
        return try pool.makeSnapshot()
    }

    /// The schema's migrations applied to this ledger, in order.
    public func appliedMigrations() throws -> [String] {
        switch store {
        case .sqlite(let writer):
            return try writer.read { db in try Self.migrator(path: path).appliedMigrations(db) }
        case .postgres(let connection, let lock):
            let applied = try lock.withLock { try connection.appliedMigrations() }
            return PostgresLedger.shipped.map(\.identifier).filter { applied[$0] != nil }
        }
    }

    /// The default ledger path: `$XDG_DATA_HOME/installer-ledger/ledger.sqlite`, else
    /// `~/.local/share/installer-ledger/ledger.sqlite`.
    public static func defaultPath(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let xdg = environment["XDG_DATA_HOME"], !xdg.isEmpty {
            return "\(xdg)/installer-ledger/ledger.sqlite"
        }
        let home = environment["HOME"] ?? NSHomeDirectory()
        return "\(home)/.local/share/installer-ledger/ledger.sqlite"
    }
}
