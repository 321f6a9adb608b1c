import Foundation
import Testing
@testable import InstallerLedger

/// The nightly systemd unit stays verified and hardened (exposure at most 2.5), where the
/// machine has systemd-analyze.
@Suite struct ExampleUnitTests {
    static let analyzer: String? = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"].first { FileManager.default.isExecutableFile(atPath: $0) }

    func analyze(_ arguments: [String]) throws -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.analyzer!)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test(.enabled(if: analyzer != nil, "systemd-analyze is not installed"))
    func theNightlyUnitIsVerifiedAndHardened() throws {
        let unit = repositoryRoot.appendingPathComponent("examples/systemd/installer-ledger-nightly.service").path
        let (verified, messages) = try analyze(["verify", unit])
        #expect(verified == 0 && messages.isEmpty, "\(messages)")
        let (status, report) = try analyze(["security", "--offline=yes", unit])
        #expect(status == 0)
        let level = report.split(separator: "\n").last { $0.contains("Overall exposure level") }
            .flatMap { $0.split(separator: ":").last?.split(separator: " ").first }.flatMap { Double($0) }
        let exposure = try #require(level, "\(report.suffix(300))")
        #expect(exposure <= 2.5, "exposure \(exposure)")
        // The password comes as a credential file, not from the environment.
        let text = try String(contentsOfFile: unit, encoding: .utf8)
        #expect(text.contains("LoadCredential=eset-password:") && text.contains("--password-file ${CREDENTIALS_DIRECTORY}/eset-password"))
    }
}

/// The Prometheus exposition passes `promtool check metrics` (Debian's prometheus package),
/// where the machine has promtool; .ci/run installs it.
@Suite struct PromtoolTests {
    static let promtool: String? = ["/usr/bin/promtool", "/usr/local/bin/promtool"].first { FileManager.default.isExecutableFile(atPath: $0) }

    @Test(.enabled(if: promtool != nil, "promtool is not installed"))
    func theExpositionPassesPromtool() throws {
        let fixture = try ReportLedger()
        for perInstaller in [false, true] {
            let report = fixture.run(.prometheus, perInstaller: perInstaller).report
            let text = ReportRendering.prometheus(report, perInstaller: perInstaller)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: Self.promtool!)
            process.arguments = ["check", "metrics"]
            let input = Pipe(), output = Pipe()
            process.standardInput = input
            process.standardOutput = output
            process.standardError = output
            try process.run()
            input.fileHandleForWriting.write(Data(text.utf8))
            try input.fileHandleForWriting.close()
            let said = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            #expect(process.terminationStatus == 0 && said.isEmpty, "per-installer \(perInstaller): \(said)")
        }
    }
}
