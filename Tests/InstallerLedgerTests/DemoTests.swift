import Foundation
import Testing
@testable import InstallerLedger

/// `installer-ledger demo` as a newcomer runs it: no credentials, no network, a fresh machine.
/// Its output holds download URLs, so it is checked but never printed.
@Suite struct DemoTests {
    /// Settings a newcomer might have lying around must not leak into the demo.
    let strayEnvironment = [
        "ESET_CONNECT_API_URL": "https://unreachable.invalid", "ESET_CONNECT_USERNAME": "someone@example.com",
        "ESET_CONNECT_PASSWORD": "wrong", "ESET_CONNECT_REGION": "us", "INSTALLER_LEDGER_DB": "/nonexistent/ledger.sqlite",
    ]

    /// The folder the demo announced, from its `ledger:` line.
    func announcedLedger(_ stdout: String) -> String? {
        stdout.split(separator: "\n").first { $0.hasPrefix("  ledger:") }
            .flatMap { $0.split(separator: " ").dropFirst().first.map(String.init) }
    }

    @Test func runsEveryStepAndCleansUp() async throws {
        let started = Date()
        let raw = try await runProductAsync("installer-ledger", ["demo"], environment: strayEnvironment)
        let r = raw.redacted
        #expect(r.status == 0, "\(r.stderr)")
        // About 1.5 s on an idle machine; the bound only catches a demo that hangs or waits
        // for real (a shared 2-core machine under load can be 10 times slower).
        #expect(Date().timeIntervalSince(started) < 60)
        let url = try #require(r.stdout.range(of: #"http://127\.0\.0\.1:[0-9]+"#, options: .regularExpression).map { String(r.stdout[$0]) })
        // Each step shows the command a user would type, in order, then its output.
        let commands = r.stdout.split(separator: "\n").filter { $0.hasPrefix("$ ") }.map(String.init)
        #expect(commands.count >= 11)  // the export line and ten steps; more steps may be added
        #expect(commands.first?.hasPrefix("$ export INSTALLER_LEDGER_DB=/") == true)
        #expect(commands.contains { $0.hasPrefix("$ installer-ledger create --api-url \(url) --name \"Vienna office PCs\" --os windows --group ") })
        let expectedOrder = ["create", "create", "cat", "create --api-url \(url) --from", "create --api-url \(url) --from",
                             "sync --api-url \(url)", "list", "list --expiring-within 30d", "show ", "history "]
        for (command, expected) in zip(commands.dropFirst(), expectedOrder) {
            #expect(command.hasPrefix("$ installer-ledger \(expected)") || command.hasPrefix("$ \(expected)"), "\(command)")
        }
        #expect(r.stdout.contains("4 created, 0 skipped (already done), 0 failed, 0 uncertain\n"))
        #expect(r.stdout.contains("0 created, 4 skipped (already done), 0 failed, 0 uncertain\n"))
        #expect(r.stdout.contains("12 listed: 6 new, 0 changed, 6 unchanged, 0 deleted, 0 pending resolved\n"))
        #expect(r.stdout.contains("12 installers\n"))
        // Two customers: a second account, both synced at once, a report that names both.
        #expect(commands.contains("$ installer-ledger sync --api-url \(url) --all"))
        #expect(r.stdout.contains("acme: 12 listed: 0 new, 0 changed, 12 unchanged, 0 deleted, 0 pending resolved\n"))
        #expect(r.stdout.contains("globex: 4 listed: 4 new, 0 changed, 0 unchanged, 0 deleted, 0 pending resolved\n"))
        #expect(r.stdout.contains("2 accounts: 2 ok, 0 failed\n"))
        let report = r.stdout.components(separatedBy: "$ installer-ledger report\n").last?.components(separatedBy: "\n# ").first ?? ""
        #expect(report.contains("By account: 2") && report.contains("  acme ") && report.contains("  globex "), "\(report)")
        #expect(r.stdout.contains("name,os,language,group,cloud_feedback,pua_detection,diagnostics,components\n"))
        #expect(r.stdout.contains("recorded        create    \"Vienna office PCs\""))
        // The 30-day list shows the installers created elsewhere that expire soon.
        let soon = r.stdout.components(separatedBy: "list --expiring-within 30d\n").last?.components(separatedBy: "\n# ").first ?? ""
        #expect(soon.contains("3 installers"))
        // Credentials only in the children's environment: never shown, the stray ones ignored.
        let leaked = leaksThePassword(raw.stdout + raw.stderr)  // a Bool, so a failure prints no output
        #expect(!leaked, "the password appears in the demo's output")
        #expect(r.stdout.contains("download URL: https://download.sandbox.invalid/installers/") && r.stdout.contains("/[redacted]\n"))
        #expect(!r.stdout.contains("ESET_CONNECT_PASSWORD=") && !r.stdout.contains("unreachable.invalid"))
        #expect(!r.stdout.contains("error"))
        // The temporary folder is gone.
        let ledger = try #require(announcedLedger(r.stdout))
        #expect(ledger.contains("installer-ledger-demo-"))
        #expect(!FileManager.default.fileExists(atPath: URL(fileURLWithPath: ledger).deletingLastPathComponent().path))
        #expect(r.stderr.hasPrefix("\ndemo: done; removed "))
    }

    @Test func keepLeavesALedgerToExploreAndDbMustBeNew() async throws {
        let folder = TemporaryFolder()
        let db = folder.file("demo.sqlite")
        let r = try await runProductAsync("installer-ledger", ["demo", "--db", db, "--keep"], environment: strayEnvironment).redacted
        #expect(r.status == 0, "\(r.stderr)")
        #expect(announcedLedger(r.stdout) == db)
        let kept = try #require(r.stderr.split(separator: " ").dropFirst(2).first.map(String.init))
        #expect(kept.contains("installer-ledger-demo-"))
        #expect(FileManager.default.fileExists(atPath: kept + "/bulk-plan.csv"))
        try? FileManager.default.removeItem(atPath: kept)
        let ledger = try Ledger.open(path: db)
        #expect(try ledger.installers(matching: InstallerFilter(), at: .now()).count == 16)
        #expect(try ledger.accounts().map(\.name) == ["acme", "globex"])
        #expect(try ledger.pendingCreations().count == 6 && ledger.pendingCreations(state: .resolved).count == 6)
        #expect(try ledger.lastSuccessfulRun(kinds: ["sync"]) != nil)

        let again = try await runProductAsync("installer-ledger", ["demo", "--db", db])
        #expect(again.status == 64 && again.stderr.contains("exists: the demo needs a new ledger file"))
    }

    @Test func ctrlCRemovesTheFolderAndEndsTheDemo() async throws {
        // Once the first installer is created, Ctrl-C.
        let result = try await runInterrupting(["demo"], environment: strayEnvironment, after: "\ncreated ")
        let (status, reason, stdout, stderr) = result
        #expect(reason == .uncaughtSignal && status == SIGINT, "\(status) \(reason)")
        #expect(stderr.contains("demo: interrupted; removed "))
        let ledger = try #require(announcedLedger(stdout))
        #expect(!FileManager.default.fileExists(atPath: URL(fileURLWithPath: ledger).deletingLastPathComponent().path))
    }
}
