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
    /// Credentials refused, or not readable (77).
    case notAllowed
    /// A bug (70).
    case internalError
}

/// A library error that says which exit class it belongs to.
public protocol ClassifiedError: Error, CustomStringConvertible {
    var exitClass: ExitClass { get }
}
