import ArgumentParser
import Foundation
import InstallerLedger

/// The exit codes of SPEC.md, in one place.
enum ExitStatus: Int32 {
    case usage = 64, dataError = 65, unavailable = 69, internalError = 70, ioError = 74, uncertain = 75, notAllowed = 77
}

/// Maps a library error to its exit code and the one-line message for stderr.
func classify(_ error: any Error) -> (ExitStatus, String) {
    switch error {
    case let e as LedgerError:
        switch e {
        case .installerNotFound, .ambiguousPrefix: return (.usage, e.description)
        case .newerSchema, .editedMigration, .cannotOpen: return (.ioError, e.description)
        }
    case let e as ImportError:
        if case .unreadable = e { return (.ioError, e.description) }
        return (.dataError, e.description)
    case let e as OutputError:
        return (.ioError, e.description)
    case let e as CreationPlanError:
        if case .unreadable = e { return (.ioError, e.description) }
        return (.dataError, e.description)
    case let e as ESETConnectError:
        switch e {
        case .configuration: return (.usage, e.description)
        case .http(let status, _, _) where status == 401 || status == 403: return (.notAllowed, e.description)
        case .http: return (.dataError, e.description)
        case .unavailable: return (.unavailable, e.description)
        case .uncertain, .answerExpired: return (.uncertain, e.description)
        case .malformedAnswer: return (.unavailable, e.description)
        }
    case let e as CommandFailure:
        return (e.status, e.message)
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

/// Unbuffered writes to stderr.
enum StandardError {
    static func write(_ s: String) {
        var bytes = Array(s.utf8)
        bytes.withUnsafeMutableBytes { _ = Foundation.write(2, $0.baseAddress, $0.count) }
    }
}

/// Buffered writes to stdout (large results stream in chunks).
struct StandardOutput {
    private var buffer = [UInt8]()

    init() { buffer.reserveCapacity(1 << 16) }

    mutating func write(_ s: String) throws {
        buffer.append(contentsOf: s.utf8)
        if buffer.count >= 1 << 16 { try flush() }
    }

    mutating func flush() throws {
        var offset = 0
        while offset < buffer.count {
            let n = buffer[offset...].withUnsafeBytes { Foundation.write(1, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                // A closed pipe (e.g. `| head`) is not worth an error.
                if errno == EPIPE { buffer.removeAll(); throw ExitCode.success }
                throw OutputError(description: "cannot write to standard output: \(String(cString: strerror(errno)))")
            }
            offset += n
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Streams a renderer's output for items produced by `produce`.
    static func stream<R: StreamRenderer>(_ renderer: inout R, _ produce: (([R.Item]) throws -> Void) throws -> Void) throws {
        var out = StandardOutput()
        try out.write(renderer.begin())
        try produce { items in try out.write(renderer.render(items)) }
        try out.write(renderer.end())
        try out.flush()
    }
}

/// A failure the command layer itself reports, with its exit code.
struct CommandFailure: Error {
    var status: ExitStatus
    var message: String
}
