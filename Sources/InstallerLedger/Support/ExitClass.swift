import GRDB

/// The kinds of failure a command can end with; the command layer maps each to the exit code
/// of SPEC.md in one place.
public enum ExitClass: Sendable, Equatable {
    /// A bad option or value (64).
    case usage
    /// Malformed input data (65).
    case dataError
    /// The ledger named does not exist (66).
    case noInput
    /// ESET Connect unavailable (69).
    case unavailable
    /// A local I/O failure: database or output file (74).
    case ioError
    /// A creation may have happened; recorded as pending (75).
    case uncertain
    /// Try again later: the ledger is locked by another run (75, EX_TEMPFAIL).
    case temporary
    /// Credentials refused, or not readable (77).
    case notAllowed
    /// A bug (70).
    case internalError
}

/// A library error that says which exit class it belongs to.
public protocol ClassifiedError: Error, CustomStringConvertible {
    var exitClass: ExitClass { get }
}

// MARK: - The exit class of each library error

extension LedgerError: ClassifiedError {
    public var exitClass: ExitClass {
        switch self {
        case .installerNotFound, .ambiguousPrefix: .usage
        case .newerSchema, .editedMigration, .cannotOpen: .ioError
        }
    }
}

extension ImportError: ClassifiedError {
    public var exitClass: ExitClass {
        if case .unreadable = self { return .ioError }
        return .dataError
    }
}

extension CreationPlanError: ClassifiedError {
    public var exitClass: ExitClass {
        if case .unreadable = self { return .ioError }
        return .dataError
    }
}

extension ESETConnectError: ClassifiedError {
    public var exitClass: ExitClass {
        switch self {
        case .configuration: .usage
        case .http(let status, _, _) where status == 401 || status == 403: .notAllowed
        case .http: .dataError
        case .unavailable, .malformedAnswer: .unavailable
        case .uncertain, .answerExpired: .uncertain
        }
    }
}

extension ReconcileError: ClassifiedError {
    public var exitClass: ExitClass {
        switch self {
        case .apiPartFailed(let api, _): api.exitClass
        case .planOutdated: .internalError
        }
    }
}

extension ReportError: ClassifiedError {
    public var exitClass: ExitClass { .ioError }
}

extension OutputFileError: ClassifiedError {
    public var exitClass: ExitClass { .ioError }
}

extension HandOverError: ClassifiedError {
    public var exitClass: ExitClass { .ioError }
}

extension TransportError: ClassifiedError {
    public var exitClass: ExitClass { mayHaveBeenSent ? .uncertain : .unavailable }
}

/// A SQLite failure of the ledger as people can act on it: a full disk, an I/O error, a
/// read-only or damaged file are local I/O errors (74); a lock held by another run past the
/// busy timeout is temporary (75: run again). Whatever the run wrote was rolled back.
public struct DatabaseFailure: ClassifiedError {
    public var exitClass: ExitClass
    public var description: String

    public init(_ error: DatabaseError) {
        let sqlite = error.message.map { " (SQLite: \($0))" } ?? ""
        let kept = "the ledger keeps what it had before this run"
        switch error.resultCode.primaryResultCode {
        case .SQLITE_FULL:
            exitClass = .ioError
            description = "the disk holding the ledger is full\(sqlite); \(kept): free some space and run the command again"
        case .SQLITE_IOERR:
            exitClass = .ioError
            description = "I/O error reading or writing the ledger\(sqlite); \(kept): check the disk and the file system, then run the command again"
        case .SQLITE_READONLY, .SQLITE_PERM, .SQLITE_AUTH:
            exitClass = .ioError
            description = "the ledger cannot be written\(sqlite): check that its file and folder are writable by this user, or use --db to name a writable one"
        case .SQLITE_CANTOPEN:
            exitClass = .ioError
            description = "the ledger cannot be opened\(sqlite): check the path and its permissions, or name another with --db"
        case .SQLITE_CORRUPT, .SQLITE_NOTADB:
            exitClass = .ioError
            description = "the ledger file is damaged or not a ledger\(sqlite); restore it from a backup or name another with --db"
        case .SQLITE_BUSY, .SQLITE_LOCKED:
            exitClass = .temporary
            description = "the ledger is locked by another run for longer than the 10 s busy timeout\(sqlite); nothing was changed: run the command again when the other one has finished"
        default:
            exitClass = .internalError
            description = "internal error: database error \(error.resultCode.rawValue)\(sqlite); please report it"
        }
    }
}

/// The library error as one that says its exit class: itself, SQLite's worded for people,
/// or nil for anything else (a bug).
public func classifiedError(_ error: any Error) -> (any ClassifiedError)? {
    if let e = error as? any ClassifiedError { return e }
    if let e = error as? DatabaseError { return DatabaseFailure(e) }
    return nil
}
