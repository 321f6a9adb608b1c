import ArgumentParser
import Foundation
import InstallerLedger

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
