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
    /// `read`, `write` and `writeWithoutTransaction`, with their SQL in query types.
    private let dbWriter: any DatabaseWriter
    /// Where the ledger lives, for messages; `:memory:` for in-memory ledgers.
    public let path: String

    init(dbWriter: any DatabaseWriter, path: String) throws {
        self.dbWriter = dbWriter
        self.path = path
        try Self.migrator(path: path).migrate(dbWriter)
    }

    /// Opens (creating when absent) the ledger file: WAL mode, foreign keys on, a 10 s busy
    /// timeout so a cron job and a human never fail with "database is locked". A new file is
    /// created 0600 in a 0700 folder. A ledger from a newer version, or one whose applied
    /// migrations differ from this build's, is refused before anything is written.
    /// - Throws: `LedgerError`.
    public static func open(path: String) throws -> Ledger {
        try refusePostgres(path)
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

    /// A PostgreSQL URL given where the commands need a ledger file: refused with what this
    /// build can do with it, never echoing a password.
    /// - Throws: `PostgresLedgerError.commandsNeedSQLite` (or `.invalidURL`).
    static func refusePostgres(_ path: String) throws(PostgresLedgerError) {
        guard PostgresURL.isPostgres(path) else { return }
        throw .commandsNeedSQLite(url: try PostgresURL(parsing: path).redacted)
    }

    /// What a connection is for, which decides its GRDB configuration.
    enum ConnectionKind { case file, memory, readOnlyCheck }

    /// The one place GRDB connections are configured. A file ledger: WAL (DatabasePool), foreign
    /// keys on, a 10 s busy timeout so a cron job and a human never fail with "database is locked".
    static func configuration(_ kind: ConnectionKind) -> Configuration {
        var config = Configuration()
        // The selection rule's SQL functions, on every connection (list, rotate, exports).
        config.prepareDatabase { db in
            for function in SelectionText.functions { db.add(function: function) }
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

    /// Runs `body` in one read snapshot.
    func read<T>(_ body: (Database) throws -> T) throws -> T {
        try dbWriter.read(body)
    }

    /// Runs `body` in one write transaction (rolled back when it throws).
    func write<T>(_ body: (Database) throws -> T) throws -> T {
        try dbWriter.write(body)
    }

    /// Runs `body` on the writer connection outside a transaction (for pragmas that only take
    /// effect there, such as the foreign-key bracket of bulk writes).
    func writeWithoutTransaction<T>(_ body: (Database) throws -> T) throws -> T {
        try dbWriter.writeWithoutTransaction(body)
    }

    /// Copies every page of the ledger into the (new or empty) file at `path` with SQLite's
    /// online backup: the same ledger, history included, in one consistent snapshot.
    func backup(toFile path: String) throws {
        let destination = try DatabaseQueue(path: path, configuration: Self.configuration(.file))
        try dbWriter.backup(to: destination)
        try destination.close()
    }

    /// A read snapshot that stays consistent across several reads (a copy to PostgreSQL
    /// awaits the server between batches): the ledger as it was when it was made.
    func snapshot() throws -> any DatabaseReader {
        guard let pool = dbWriter as? DatabasePool else { return dbWriter }  // in memory: one connection
        return try pool.makeSnapshot()
    }

    /// The schema's migrations applied to this ledger, in order.
    public func appliedMigrations() throws -> [String] {
        try dbWriter.read { db in try Self.migrator(path: path).appliedMigrations(db) }
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
