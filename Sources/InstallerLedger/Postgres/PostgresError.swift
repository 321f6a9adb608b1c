/// What goes wrong with a PostgreSQL ledger. No message ever holds a password: URLs are
/// shown ``PostgresURL/redacted``.
public enum PostgresLedgerError: Error, Equatable, Sendable {
    /// `--db` or `--to` is not a usable PostgreSQL URL (the text shown is redacted).
    case invalidURL(String, String)
    /// The password file can be read by others: libpq's rule, refused rather than ignored.
    case passwordFileReadable(path: String, mode: String)
    case passwordFileUnreadable(path: String)
    /// No connection: refused, unreachable, TLS failed.
    case cannotConnect(url: String, reason: String)
    /// The server refused the user or password.
    case authenticationFailed(url: String, reason: String)
    /// The database has migrations this build does not know: a newer installer-ledger wrote it.
    case newerSchema(url: String, unknownMigrations: [String])
    /// An applied migration's checksum differs from this build's file.
    case editedMigration(url: String, identifier: String)
    /// A copy's destination already holds a ledger, or other tables.
    case destinationNotEmpty(String, holding: String)
    /// The database holds no ledger (or one at an older schema) to copy from.
    case noLedger(url: String, reason: String)
    /// `copy` from one PostgreSQL database to another: pg_dump's job.
    case betweenServers(to: String)
    /// The server refused a statement.
    case server(url: String, message: String)
    /// The server refused a statement of a command, with its SQLSTATE.
    case rejected(url: String, message: String, sqlState: String)
    /// The connection broke (server restarted, network gone): whatever the transaction had
    /// not committed is rolled back.
    case connectionLost(url: String, reason: String)
}

extension PostgresLedgerError {
    /// Two transactions raced and the server chose this one to fail: run it again.
    var isSerializationFailure: Bool {
        if case .rejected(_, _, let state) = self { return state == "40001" || state == "40P01" }
        return false
    }

    /// The role may read but not write (a read-only role, or a read-only transaction).
    var isWriteRefused: Bool {
        if case .rejected(_, _, let state) = self { return state == "42501" || state == "25006" }
        return false
    }
}

extension PostgresLedgerError: CustomStringConvertible, ClassifiedError {
    public var description: String {
        switch self {
        case .invalidURL(let text, let why):
            "'\(text)' is not a PostgreSQL URL: \(why) (postgresql://[user@]host[:port]/dbname[?sslmode=disable|prefer|require|verify-full])"
        case .passwordFileReadable(let path, let mode):
            "the password file \(path) can be read by others (mode \(mode)); run 'chmod 600 \(path)'"
        case .passwordFileUnreadable(let path):
            "cannot read the password file \(path)"
        case .cannotConnect(let url, let reason):
            "cannot connect to \(url): \(reason)"
        case .authenticationFailed(let url, let reason):
            "\(url) refused the login: \(reason); check the user and its password (PGPASSWORD, PGPASSFILE or ~/.pgpass)"
        case .newerSchema(let url, let unknown):
            "the ledger at \(url) was written by a newer installer-ledger (migrations \(unknown.joined(separator: ", "))); upgrade installer-ledger. Nothing was changed."
        case .editedMigration(let url, let identifier):
            "the ledger at \(url) applied migration \(identifier) with other contents than this build's; nothing was changed"
        case .destinationNotEmpty(let destination, let holding):
            "\(destination) is not empty (\(holding)); copy only into an empty SQLite file or PostgreSQL database"
        case .noLedger(_, let reason):
            reason
        case .betweenServers(let to):
            "copying one PostgreSQL database into another (\(to)) is pg_dump's job: 'pg_dump --format custom SOURCE | pg_restore --dbname DEST'"
        case .server(let url, let message):
            "\(url): \(message)"
        case .rejected(let url, let message, _) where isWriteRefused:
            "the PostgreSQL role cannot change the ledger at \(url) (\(message)); this command writes: run it as a role that may write (list, show, history, export and gaps only read)"
        case .rejected(let url, let message, _) where isSerializationFailure:
            "the ledger at \(url) was changed by another run at the same moment (\(message)); nothing of this run was written: run the command again"
        case .rejected(let url, _, let state) where state == "55P03":
            "another run has been writing the ledger at \(url) for more than \(PostgresLedger.writerWait) s; nothing of this run was written: run the command again when it has finished"
        case .rejected(let url, let message, let state):
            "\(url) refused a statement: \(message) (SQLSTATE \(state)); nothing of this run was written"
        case .connectionLost(let url, let reason):
            "the connection to \(url) was lost (\(reason)); what this run had not committed was rolled back: run the command again when the server is back"
        }
    }

    public var exitClass: ExitClass {
        switch self {
        case .invalidURL, .destinationNotEmpty, .betweenServers: .usage
        case .passwordFileReadable, .passwordFileUnreadable, .authenticationFailed: .notAllowed
        case .noLedger: .noInput
        case .cannotConnect, .newerSchema, .editedMigration, .server: .ioError
        case .connectionLost: .temporary
        case .rejected(_, _, let state):
            if isWriteRefused { .notAllowed }
            else if isSerializationFailure || state.hasPrefix("08") || state.hasPrefix("57P") || state == "55P03" { .temporary }
            else if state.hasPrefix("53") || state.hasPrefix("58") { .ioError }
            else { .internalError }
        }
    }
}
