import Foundation
import Testing

@Suite struct BinarySignalTests {
    /// A SIGTERM sent as soon as the "listening" line is read used to be lost about one time in
    /// three (the handler was installed after the line was printed), leaving the sandbox running.
    @Test func sigtermRightAfterTheListeningLineStopsTheSandbox() async throws {
        for _ in 0..<10 {
            let (process, first) = try launchSandboxBinary(["--port", "0"])
            defer { if process.isRunning { process.interrupt() } }
            #expect(first.hasPrefix("listening on "))
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
