import Foundation
import Testing

@Suite struct BinarySignalTests {
    /// A SIGTERM sent as soon as the "listening" line is read used to be lost about one time in
    /// three (the handler was installed after the line was printed), leaving the sandbox running.
    @Test func sigtermRightAfterTheListeningLineStopsTheSandbox() async throws {
        for _ in 0..<10 {
            let process = Process()
            process.executableURL = try sandboxBinary()
            process.arguments = ["--port", "0"]
            let stdout = Pipe()
            process.standardOutput = stdout
            process.standardError = FileHandle.nullDevice
            try process.run()
            defer { if process.isRunning { process.interrupt() } }
            var line = Data()
            while !line.contains(UInt8(ascii: "\n")) {
                let chunk = stdout.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                line.append(chunk)
            }
            #expect(String(decoding: line, as: UTF8.self).hasPrefix("listening on "))
            process.terminate()

            // Exits within milliseconds; give a loaded machine up to 5 s before calling it lost.
            var waited = 0
            while process.isRunning && waited < 500 {
                try await Task.sleep(for: .milliseconds(10))
                waited += 1
            }
            #expect(!process.isRunning, "SIGTERM was lost")
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
            #expect(process.terminationReason == .exit && process.terminationStatus == 0)
        }
    }
}
