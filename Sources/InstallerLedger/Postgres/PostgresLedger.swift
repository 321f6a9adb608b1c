import Foundation
import LedgerMigrationsPostgreSQL
import Logging
import NIOSSL
import PostgresNIO

/// A ledger in a PostgreSQL database: the connection and its schema. The same numbered
/// migrations as SQLite's, in PostgreSQL's dialect (`migrations/postgresql/`), recorded
/// with their checksums in `ledger_migration_checksums`, applied under an advisory lock so
/// that two first runs on two machines do not race; a database with migrations this build
/// does not know is refused untouched.
public final class PostgresLedger: Sendable {
    public let url: PostgresURL
    let connection: PostgresConnection
    let statements: StatementWatch
    let logger = PostgresLedger.quietLogger

    /// postgres-nio's logger: warnings and errors only, whatever `-v` asks, because its
    /// debug messages would show the statements' bound values (download URLs) and the
    /// connection's traffic.
    static var quietLogger: Logger {
        var logger = Logger(label: "installer-ledger.postgres")
        logger.logLevel = .warning
        return logger
    }

    /// The advisory lock that serialises schema changes (any constant both runs agree on).
    static let migrationLock: Int64 = 0x1ed6_e7_2016

    private init(url: PostgresURL, connection: PostgresConnection) {
        self.url = url
        self.connection = connection
        self.statements = StatementWatch(connection)
    }

    /// Connects, with the password found as libpq finds it.
    /// - Throws: `PostgresLedgerError` (`.cannotConnect`, `.authenticationFailed`, password file).
    public static func connect(_ url: PostgresURL, environment: [String: String] = ProcessInfo.processInfo.environment) async throws -> PostgresLedger {
        try open(url, environment: environment)
    }

    /// Connects, waiting on the calling thread (never an event loop).
    /// - Throws: `PostgresLedgerError` (`.cannotConnect`, `.authenticationFailed`, password file).
    public static func open(_ url: PostgresURL, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> PostgresLedger {
        let user = url.user ?? environment["PGUSER"].flatMap { $0.isEmpty ? nil : $0 } ?? currentUserName()
        let password = try PostgresPassword.resolve(for: url, user: user, environment: environment)
        var configuration = PostgresConnection.Configuration(host: url.host, port: url.port, username: user, password: password,
                                                             database: url.database, tls: try tls(url))
        // verify-full checks the server's name through SNI, which takes names, not addresses:
        // for a host given as an IP address the certificate's chain is checked (as libpq's
        // verify-ca); name the server by DNS for the name check too.
        if url.sslMode == .verifyFull, !Self.isIPAddress(url.host) { configuration.options.tlsServerName = url.host }
        configuration.options.connectTimeout = .seconds(10)
        do {
            let connection = try PostgresConnection.connect(on: MultiThreadedEventLoopGroup.singleton.next(), configuration: configuration,
                                                            id: 1, logger: quietLogger).wait()
            return PostgresLedger(url: url, connection: connection)
        } catch let error as PSQLError {
            throw describe(error, url: url, connecting: true)
        } catch {
            throw PostgresLedgerError.cannotConnect(url: url.redacted, reason: PostgresURL.redact(String(describing: error)) + connectHint)
        }
    }

    static let connectHint = "; check the host, the port, that the server runs and accepts this client (pg_hba.conf)"

    /// Connects, runs `body`, and closes the connection however `body` ends.
    public static func with<T>(_ url: PostgresURL, environment: [String: String] = ProcessInfo.processInfo.environment,
                               _ body: (PostgresLedger) async throws -> T) async throws -> T {
        let ledger = try await connect(url, environment: environment)
        do {
            let result = try await body(ledger)
            await ledger.close()
            return result
        } catch {
            await ledger.close()
            throw error
        }
    }

    public func close() async {
        try? await connection.close()
    }

    /// Closes the connection, waiting on the calling thread.
    public func closeBlocking() {
        try? connection.close().wait()
    }

    static func tls(_ url: PostgresURL) throws -> PostgresConnection.Configuration.TLS {
        var tls = TLSConfiguration.makeClientConfiguration()
        switch url.sslMode {
        case .disable:
            return .disable
        case .prefer, .require:
            // As libpq: encrypted, the server's certificate not checked.
            tls.certificateVerification = .none
        case .verifyFull:
            tls.certificateVerification = .fullVerification
            if let root = url.sslRootCert { tls.trustRoots = .file(root) }
        }
        let context: NIOSSLContext
        do {
            context = try NIOSSLContext(configuration: tls)
        } catch {
            throw PostgresLedgerError.cannotConnect(url: url.redacted, reason: "TLS set-up failed: \(error)")
        }
        return url.sslMode == .prefer ? .prefer(context) : .require(context)
    }

    static func isIPAddress(_ host: String) -> Bool {
        var v4 = in_addr(), v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
    }

    static func currentUserName() -> String {
        if let pw = getpwuid(geteuid()), let name = pw.pointee.pw_name { return String(cString: name) }
        return "postgres"
    }

    /// A server or connection error as the user reads it, without the password.
    static func describe(_ error: PSQLError, url: PostgresURL, connecting: Bool = false) -> PostgresLedgerError {
        let message = error.serverInfo?[.message] ?? String(describing: error.code)
        let state = error.serverInfo?[.sqlState] ?? ""
        // 28P01 invalid_password, 28000 invalid_authorization_specification.
        if state.hasPrefix("28") || error.code == .authMechanismRequiresPassword {
            return .authenticationFailed(url: url.redacted, reason: error.code == .authMechanismRequiresPassword
                                         ? "the server asks for a password and none was found" : PostgresURL.redact(message))
        }
        if error.code == .sslUnsupported {
            return .cannotConnect(url: url.redacted, reason: "the server does not offer TLS, which sslmode=\(url.sslMode.rawValue) requires; turn ssl on in postgresql.conf, or use sslmode=disable on a trusted network")
        }
        if state == "3D000" {  // invalid_catalog_name
            return .cannotConnect(url: url.redacted, reason: "the database \(url.database) does not exist; create it first ('createdb --owner USER \(url.database)')")
        }
        if !connecting, [.serverClosedConnection, .connectionError, .uncleanShutdown, .clientClosedConnection].contains(error.code) {
            return .connectionLost(url: url.redacted, reason: error.underlying.map { PostgresURL.redact(String(describing: $0)) } ?? String(describing: error.code))
        }
        if connecting || error.serverInfo == nil {
            let reason = error.underlying.map { PostgresURL.redact(String(describing: $0)) } ?? PostgresURL.redact(message)
            return .cannotConnect(url: url.redacted, reason: reason + Self.connectHint)
        }
        return .rejected(url: url.redacted, message: PostgresURL.redact(message), sqlState: state)
    }

    // MARK: - Running SQL

    /// Runs one statement, wrapping server errors.
    @discardableResult
    func run(_ sql: String, _ values: [SQLValue] = []) throws -> [PostgresRow] {
        try queryBlocking(sql, values).rows
    }

    /// Runs one query and streams its rows.
    func stream(_ sql: String) async throws -> PostgresRowSequence {
        do {
            return try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
        } catch let error as PSQLError {
            throw Self.describe(error, url: url)
        }
    }

    // MARK: - Schema

    /// The shipped migrations, as (identifier, SQL text).
    static var shipped: [(identifier: String, sql: String)] { LedgerPostgreSQLMigrationFiles.all }

    /// Applies the migrations this database lacks, under the advisory lock.
    /// - Parameter creating: false for a command that only reads: a database without a
    ///   ledger is refused (`.noLedger`), never given one; an older ledger is brought up to date.
    /// - Returns: the identifiers applied now.
    /// - Throws: `PostgresLedgerError.newerSchema`, `.editedMigration` or `.noLedger` before changing anything.
    @discardableResult
    public func migrate(creating: Bool = true) throws -> [String] {
        try run("SELECT pg_advisory_lock(\(Self.migrationLock))")
        do {
            let applied = try appliedMigrations()
            try check(applied)
            if !creating, applied.isEmpty { throw noLedger }
            var done = [String]()
            for m in Self.shipped where applied[m.identifier] == nil {
                try run("BEGIN")
                do {
                    for statement in Self.statements(m.sql) { try run(statement) }
                    try run("INSERT INTO ledger_migration_checksums (identifier, sha256) VALUES ($1, $2)",
                            [.text(m.identifier), .text(SHA256.hex(Array(m.sql.utf8)))])
                    try run("COMMIT")
                } catch {
                    _ = try? run("ROLLBACK")
                    throw error
                }
                done.append(m.identifier)
            }
            try run("SELECT pg_advisory_unlock(\(Self.migrationLock))")
            return done
        } catch {
            _ = try? run("SELECT pg_advisory_unlock(\(Self.migrationLock))")
            throw error
        }
    }

    /// Refuses a database whose ledger is not at this build's schema, without changing it:
    /// a copy reads it as it is.
    public func verifyCurrentSchema() throws {
        let applied = try appliedMigrations()
        try check(applied)
        if let missing = Self.shipped.first(where: { applied[$0.identifier] == nil }) {
            throw applied.isEmpty ? noLedger : PostgresLedgerError.noLedger(url: url.redacted, reason:
                "the ledger at \(url.redacted) lacks migration \(missing.identifier); run any command that writes with this version first")
        }
    }

    /// This database holds no ledger (none of its tables).
    private var noLedger: PostgresLedgerError {
        .noLedger(url: url.redacted, reason: "there is no ledger at \(url.redacted) (the database has no ledger tables); create one with 'installer-ledger import FILE' or 'installer-ledger sync', or copy one into it with 'installer-ledger copy --to'")
    }

    /// Refuses applied migrations this build does not know (a newer version wrote them) or
    /// whose checksum differs from the shipped file.
    func check(_ applied: [String: String]) throws(PostgresLedgerError) {
        let unknown = applied.keys.filter { id in !Self.shipped.contains { $0.identifier == id } }.sorted()
        guard unknown.isEmpty else { throw .newerSchema(url: url.redacted, unknownMigrations: unknown) }
        for m in Self.shipped {
            if let sum = applied[m.identifier], sum != SHA256.hex(Array(m.sql.utf8)) {
                throw .editedMigration(url: url.redacted, identifier: m.identifier)
            }
        }
    }

    /// The applied migrations with their checksums; empty for a database without a ledger.
    public func appliedMigrations() throws -> [String: String] {
        let exists = try run("SELECT to_regclass('ledger_migration_checksums') IS NOT NULL")
        guard let row = exists.first, try row.decode(Bool.self) else { return [:] }
        var applied = [String: String]()
        for row in try run("SELECT identifier, sha256 FROM ledger_migration_checksums") {
            let (id, sum) = try row.decode((String, String).self)
            applied[id] = sum
        }
        return applied
    }

    /// The tables of the current schema that are not the ledger's.
    func foreignTables() throws -> [String] {
        let known = Set(LedgerCopy.tables + ["ledger_migration_checksums"])
        return try run("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename")
            .map { try $0.decode(String.self) }.filter { !known.contains($0) }
    }

    /// A migration file's statements: split at `;` outside quotes, dollar quotes and comments.
    static func statements(_ sql: String) -> [String] {
        var result = [String](), current = ""
        let chars = Array(sql)
        var i = 0
        var dollarTag: String?
        var inQuote = false
        while i < chars.count {
            let c = chars[i]
            if let tag = dollarTag {
                if c == "$", String(chars[i..<min(chars.count, i + tag.count)]) == tag {
                    current += tag
                    i += tag.count
                    dollarTag = nil
                    continue
                }
            } else if inQuote {
                if c == "'" { inQuote = false }
            } else if c == "-", i + 1 < chars.count, chars[i + 1] == "-" {
                while i < chars.count, chars[i] != "\n" { i += 1 }
                continue
            } else if c == "'" {
                inQuote = true
            } else if c == "$", let end = chars[(i + 1)...].firstIndex(of: "$"),
                      chars[(i + 1)..<end].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) {
                let tag = String(chars[i...end])
                dollarTag = tag
                current += tag
                i = end + 1
                continue
            } else if c == ";" {
                let s = current.trimmingCharacters(in: .whitespacesAndNewlines)
                if !s.isEmpty { result.append(s) }
                current = ""
                i += 1
                continue
            }
            current.append(c)
            i += 1
        }
        let s = current.trimmingCharacters(in: .whitespacesAndNewlines)
        if !s.isEmpty { result.append(s) }
        return result
    }
}
