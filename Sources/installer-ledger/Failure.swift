import ArgumentParser
import Foundation
import InstallerLedger

/// The exit codes of SPEC.md, in one place.
enum ExitStatus: Int32 {
    case usage = 64, dataError = 65, noInput = 66, unavailable = 69, internalError = 70, ioError = 74, uncertain = 75, notAllowed = 77
}

extension ExitStatus {
    /// The exit status of a library error's class.
    init(_ exitClass: ExitClass) {
        switch exitClass {
        case .usage: self = .usage
        case .dataError: self = .dataError
        case .noInput: self = .noInput
        case .unavailable: self = .unavailable
        case .ioError: self = .ioError
        case .uncertain, .temporary: self = .uncertain
        case .notAllowed: self = .notAllowed
        case .internalError: self = .internalError
        }
    }

    /// How bad an outcome is when several runs end differently (`sync --all`): a bug first,
    /// then what needs a person soonest (an uncertain creation, refused credentials).
    var severity: Int {
        switch self {
        case .internalError: 7
        case .uncertain: 6
        case .notAllowed: 5
        case .ioError: 4
        case .unavailable: 3
        case .dataError: 2
        case .noInput: 1
        case .usage: 1
        }
    }
}

/// Maps an error to its exit code and the one-line message for stderr: every library error
/// says its exit class, SQLite's errors are worded for people, anything else is a bug.
func classify(_ error: any Error) -> (ExitStatus, String) {
    if let e = classifiedError(error) { return (ExitStatus(e.exitClass), e.description) }
    switch error {
    case let e as CommandFailure:
        return (e.status, e.message)
    case let e as OutputError:
        return (.ioError, e.description)
    default:
        return (.internalError, "internal error: \(String(describing: error).replacingOccurrences(of: "\n", with: " ")); please report it")
    }
}

/// Runs a command body, turning errors into one stderr line and the right exit code.
func withExitCodes(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as ExitCode {
        throw error
    } catch let error as ValidationError {
        throw error
    } catch {
        let (status, message) = classify(error)
        StandardError.write("installer-ledger: error: \(message)\n")
        throw ExitCode(status.rawValue)
    }
}

/// Failures writing output.
struct OutputError: Error, CustomStringConvertible {
    var description: String
}

/// A failure the command layer itself reports, with its exit code.
struct CommandFailure: Error {
    var status: ExitStatus
    var message: String
}
