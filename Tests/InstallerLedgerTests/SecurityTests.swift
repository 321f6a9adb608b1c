import ESETConnectSandbox
import Foundation
import Testing
@testable import InstallerLedger

/// Credentials, tokens and download URLs stay where they belong; the ledger is private;
/// plain HTTP only on loopback; display names crafted as SQL are data. Runs the built binary
/// against the in-process sandbox. Failing checks print booleans, never the outputs, which
/// hold download URLs.
@Suite(.serialized) struct SecurityTests {
    static let sqlName = "'; DROP TABLE installers; --"

    /// Whether a text holds a secret download URL (the sandbox's secret path part) of `installers`.
    static func showsDownloadURL(_ text: String, of installers: [SandboxInstaller]) -> Bool {
        installers.contains { text.contains($0.downloadUrl) }
    }

    @Test func thereIsNoPasswordOptionAndAPasswordGivenAnywayIsNotEchoed() async throws {
        for command in ["create", "sync", "delete", "rotate"] {
            let help = try runProduct("installer-ledger", [command, "--help"])
            #expect(help.status == 0)
            #expect(!help.stdout.contains("--password "), "\(command) has a password option")
            #expect(!help.stdout.contains("--password="), "\(command) has a password option")
            #expect(!help.stdout.contains("--token"), "\(command) has a token option")
        }
        // Someone tries anyway: a usage error, and the value is not repeated on stderr.
        let r = try runProduct("installer-ledger", ["sync", "--password", "sandbox", "--api-url", "http://127.0.0.1:9"],
                               environment: ["ESET_CONNECT_USERNAME": "api@example.com"])
        #expect(r.status == 64)
        #expect(!leaksThePassword(r.stderr + r.stdout), "the refused password is echoed")
    }

    @Test func aPasswordFileOthersCanReadIsRefusedBeforeAnyTraffic() async throws {
        let s = try await CommandLineSandbox()
        let file = s.folder.file("password")
        try "sandbox\n".write(toFile: file, atomically: true, encoding: .utf8)
        for mode: mode_t in [0o644, 0o640, 0o604] {
            chmod(file, mode)
            let r = try await s.run(["sync", "--password-file", file], environment: ["ESET_CONNECT_PASSWORD": ""])
            #expect(r.status == 64, "mode \(String(mode, radix: 8)): \(r.stderr)")
            #expect(r.stderr.contains(file))
        }
        #expect(await s.sandbox.requestLog().isEmpty, "a request was sent with a loose password file")
        chmod(file, 0o600)
        let ok = try await s.run(["sync", "--password-file", file], environment: ["ESET_CONNECT_PASSWORD": ""])
        #expect(ok.status == 0, "\(ok.stderr)")
        try s.expectNoSecrets()
        await s.stop()
    }

    @Test func plainHTTPIsRefusedForEveryNonLoopbackHost() throws {
        for url in ["http://eset.example.com", "http://127.0.0.1.example.com", "http://10.0.0.1:8080",
                    "http://127.0.0.1@example.com", "http://localhost.example.com", "ftp://127.0.0.1"] {
            let r = try runProduct("installer-ledger", ["sync", "--api-url", url, "--db", TemporaryFolder().file("l.sqlite")],
                                   environment: ["ESET_CONNECT_USERNAME": "api@example.com", "ESET_CONNECT_PASSWORD": "sandbox"])
            #expect(r.status == 64, "\(url): \(r.status) \(r.stderr)")
            #expect(r.stderr.contains("only https is allowed"), "\(url): \(r.stderr)")
        }
    }

    @Test func theLedgerIsPrivate() throws {
        let folder = TemporaryFolder()
        let db = folder.file("new/deeper/ledger.sqlite")
        let examples = repositoryRoot.appendingPathComponent("examples/installers.ndjson").path
        let saved = umask(0o022)
        defer { umask(saved) }
        #expect(try runProduct("installer-ledger", ["import", examples, "--db", db]).status == 0)
        func mode(_ path: String) throws -> Int {
            try (FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) ?? -1
        }
        #expect(try mode(db) == 0o600)
        #expect(try mode(folder.file("new/deeper")) == 0o700)
        #expect(try mode(folder.file("new")) == 0o700)
        for suffix in ["-wal", "-shm"] where FileManager.default.fileExists(atPath: db + suffix) {
            #expect(try mode(db + suffix) & 0o077 == 0, "ledger\(suffix) is readable by others")
        }
    }

    @Test func sqlInDisplayNamesIsStoredAndShownVerbatim() async throws {
        let s = try await CommandLineSandbox()
        let created = try await s.run(["create", "--name", Self.sqlName, "--os", "windows"])
        #expect(created.status == 0, "\(created.stderr)")
        let imported = try await s.run(["import", "-"], api: false, stdin: #"{"uuid": "0b7f3c1e-5a2d-4c8e-9f10-2a3b4c5d6e7f", "displayName": "Robert'); DROP TABLE events;--\" OR 1=1"}"#)
        #expect(imported.status == 0, "\(imported.stderr)")
        let list = try await s.run(["list", "--format", "json"], api: false)
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]])
        #expect(Set(rows.compactMap { $0["displayName"] as? String }) == [Self.sqlName, #"Robert'); DROP TABLE events;--" OR 1=1"#])
        let filtered = try await s.run(["list", "--name", "'; DROP", "--format", "ndjson"], api: false)
        #expect(filtered.stdout.split(separator: "\n").count == 1)
        let shown = try await s.run(["show", "0b7f3c1e"], api: false)
        #expect(shown.stdout.contains(#"Robert'); DROP TABLE events;--" OR 1=1"#))
        let ledger = try s.ledger()
        #expect(try ledger.installers(matching: InstallerFilter(), at: .now()).count == 2)
        #expect(try ledger.events(matching: EventFilter()).count >= 3)
        #expect(await s.sandbox.installers().map(\.displayName) == [Self.sqlName])
        await s.stop()
    }

    @Test func downloadURLsAndCredentialsStayOutOfLogsListsAndHistory() async throws {
        let s = try await CommandLineSandbox(installers: 3)
        // Raw outputs (not redacted by the helper) to search for the real URLs.
        func raw(_ args: [String], api: Bool = true) async throws -> ProcessResult {
            try await runProductAsync("installer-ledger", api ? args + ["--api-url", s.url] : args, environment: s.environment)
        }
        let created = try await raw(["create", "--name", "Branch PCs", "--os", "windows", "-v"])
        #expect(created.status == 0)
        let sync = try await raw(["sync", "-v"])
        #expect(sync.status == 0)
        let atESET = await s.sandbox.installers()
        #expect(atESET.count == 4)
        // Shown where asked for: create's stdout and show.
        #expect(Self.showsDownloadURL(created.stdout, of: atESET), "create does not show the new download URL")
        let uuid = try #require(atESET.first?.uuid)
        let show = try await raw(["show", uuid], api: false)
        #expect(Self.showsDownloadURL(show.stdout, of: atESET), "show does not show the download URL")
        // Redacted everywhere else, logs included.
        var elsewhere = [created.stderr, sync.stdout, sync.stderr]
        for args in [["list"], ["list", "--format", "json"], ["list", "--format", "csv"], ["list", "--format", "ndjson"],
                     ["history"], ["history", "--format", "json"], ["show", uuid, "--format", "json", "-v"]] {
            let r = try await raw(args, api: false)
            #expect(r.status == 0, "\(args)")
            elsewhere.append(args.first == "show" ? r.stderr : r.stdout + r.stderr)
        }
        for (i, text) in elsewhere.enumerated() {
            #expect(!Self.showsDownloadURL(text, of: atESET), "output \(i) shows a download URL")
            #expect(!leaksThePassword(text), "output \(i) shows the password")
            #expect(!text.contains("sbx-at-") && !text.contains("sbx-rt-") && !text.contains("Bearer"), "output \(i) shows a token")
        }
        // The ledger files hold no credential or token (the URLs are kept: show needs them).
        for suffix in ["", "-wal"] {
            guard let data = FileManager.default.contents(atPath: s.db + suffix) else { continue }
            let text = String(decoding: data, as: UTF8.self)
            #expect(!leaksThePassword(text), "ledger\(suffix) holds the password")
            #expect(!text.contains("sbx-at-") && !text.contains("sbx-rt-"), "ledger\(suffix) holds a token")
        }
        // Refused credentials: the error names the variable, never the value tried.
        let refused = try await runProductAsync("installer-ledger", ["sync", "--api-url", s.url],
                                                environment: s.environment.merging(["ESET_CONNECT_PASSWORD": "nope7"]) { $1 })
        #expect(refused.status == 77)
        #expect(!refused.stderr.contains("nope7"), "the refused password is echoed")
        await s.stop()
    }

    @Test func reportsAndExportsWhenBuiltRedactURLsUnlessAsked() async throws {
        let s = try await CommandLineSandbox(installers: 3)
        #expect(try await s.run(["sync"]).status == 0)
        let atESET = await s.sandbox.installers()
        func raw(_ args: [String]) async throws -> ProcessResult {
            try await runProductAsync("installer-ledger", args, environment: s.environment)
        }
        func built(_ command: String) throws -> Bool {
            let help = try runProduct("installer-ledger", [command, "--help"])
            return help.status == 0 && !(help.stdout + help.stderr).contains("not built yet")
        }
        if try built("export") {
            let export = try await raw(["export"])
            #expect(export.status == 0)
            #expect(!Self.showsDownloadURL(export.stdout, of: atESET), "export shows download URLs without being asked")
            let asked = try await raw(["export", "--include-download-urls"])
            #expect(Self.showsDownloadURL(asked.stdout, of: atESET), "export --include-download-urls hides them")
            #expect(!leaksThePassword(export.stdout + asked.stdout))
            let file = s.folder.file("audit.csv")
            #expect(try await raw(["export", "--output", file]).status == 0)
            let written = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
            #expect(!written.isEmpty && !Self.showsDownloadURL(written, of: atESET), "the export file shows download URLs")
        }
        if try built("report") {
            let report = try await raw(["report", "--format", "json"])
            #expect([0, 1, 2, 3].contains(report.status))
            #expect(!Self.showsDownloadURL(report.stdout + report.stderr, of: atESET), "report shows download URLs")
            #expect(!leaksThePassword(report.stdout + report.stderr))
        }
        await s.stop()
    }
}
