import ESETConnectSandbox
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Synchronization
import Testing
@testable import InstallerLedger


/// The text with the secret part of the sandbox's download URLs replaced by `[redacted]`:
/// test failures print the values they compare, and download URLs must not be printed.
func redactingDownloadURLs(_ text: String) -> String {
    text.replacingOccurrences(of: #"(https://download\.sandbox\.invalid/installers/[0-9a-f-]+/)[0-9a-f]+"#,
                              with: "$1[redacted]", options: .regularExpression)
}

extension ProcessResult {
    /// The result as a test may print it.
    var redacted: ProcessResult {
        ProcessResult(status: status, stdout: redactingDownloadURLs(stdout), stderr: redactingDownloadURLs(stderr))
    }
}

/// Whether a text holds the sandbox password "sandbox" anywhere but in the two places the word
/// legitimately appears: the sandbox's download host and its injected-failure messages.
func leaksThePassword(_ text: String) -> Bool {
    text.replacingOccurrences(of: "download.sandbox.invalid", with: "")
        .replacingOccurrences(of: "(sandbox knob", with: "")
        .lowercased().contains("sandbox")
}

/// A sandbox on loopback, a ledger file, and `installer-ledger` runs against both, every
/// output kept to check that no secret ever appears.
final class CommandLineSandbox: @unchecked Sendable {
    let sandbox: SandboxServer
    let url: String
    let folder = TemporaryFolder()
    let transcript = Mutex<[String]>([])
    var db: String { folder.ledger() }

    init(installers: Int = 0) async throws {
        sandbox = SandboxServer(configuration: SandboxConfiguration(prepopulatedInstallers: installers))
        url = try await sandbox.start().absoluteString
    }

    init(configuration: SandboxConfiguration) async throws {
        sandbox = SandboxServer(configuration: configuration)
        url = try await sandbox.start().absoluteString
    }

    /// Credentials only in the environment; `--api-url` for commands that call ESET.
    var environment: [String: String] {
        ["INSTALLER_LEDGER_DB": db, "ESET_CONNECT_USERNAME": "api@example.com", "ESET_CONNECT_PASSWORD": "sandbox",
         "ESET_CONNECT_API_URL": "", "ESET_CONNECT_REGION": ""]
    }

    func run(_ arguments: [String], api: Bool = true, environment extra: [String: String] = [:], stdin: String? = nil) async throws -> ProcessResult {
        let args = api ? arguments + ["--api-url", url] : arguments
        let result = try await runProductAsync("installer-ledger", args, environment: environment.merging(extra) { $1 }, stdin: stdin)
        transcript.withLock { $0 += [args.joined(separator: " "), result.stdout, result.stderr] }
        return result.redacted
    }

    func plan(_ name: String, _ text: String) throws -> String {
        let path = folder.file(name)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func ledger() throws -> Ledger { try Ledger.open(path: db) }

    func posts() async -> Int {
        await sandbox.requestLog().filter { $0.method == "POST" && $0.path == "/v1/installers" }.count
    }

    /// No password, token or bearer header in any output, nor in the ledger's files.
    func expectNoSecrets(sourceLocation: SourceLocation = #_sourceLocation) throws {
        // Booleans first: a failing #expect prints the values it looked at, and these texts hold download URLs.
        let outputs = transcript.withLock { $0 }.joined(separator: "\n")
        let leaked = leaksThePassword(outputs)
        let tokenShown = outputs.contains("Bearer") || outputs.contains("access_token")
        #expect(!leaked, "the password appears in an output", sourceLocation: sourceLocation)
        #expect(!tokenShown, "a token appears in an output", sourceLocation: sourceLocation)
        var files = 0
        // On PostgreSQL, every row of the database stands for the files.
        let contents: [(String, String)] = TestEngine.isPostgres ? [("", try Ledger.open(path: db).contentDump())]
            : ["", "-wal", "-shm"].compactMap { suffix in
                FileManager.default.contents(atPath: db + suffix).map { (suffix, String(decoding: $0, as: UTF8.self)) }
            }
        for (suffix, text) in contents {
            files += 1
            let leakedHere = leaksThePassword(text)
            let tokenHere = text.contains("Bearer") || text.contains("access_token")
            #expect(!leakedHere, "the password appears in ledger\(suffix)", sourceLocation: sourceLocation)
            #expect(!tokenHere, "a token appears in ledger\(suffix)", sourceLocation: sourceLocation)
        }
        #expect(files > 0, "no ledger file was searched", sourceLocation: sourceLocation)
    }

    func stop() async { await sandbox.stop() }
}

/// End-to-end runs of the built binary against the in-process sandbox over real HTTP: create,
/// create --from, sync and delete, checking stdout, stderr, the exit code, the ledger and
/// what the sandbox holds. Outputs holding download URLs are never printed. One test at a
/// time: each runs several processes, and the machine is shared.
@Suite(.serialized) struct APICommandLineTests {
    static let vienna = "4fb28e60-7351-40c2-9ea5-619db2c05e05"

    static let plan = """
        name,os,language,group,cloud_feedback,pua_detection,diagnostics,components
        Bratislava PCs,windows,sk-sk,3ea17d5f-6240-4fb1-8d94-508ca1bf4d04,true,true,false,13;27
        Vienna PCs,windows,de-at,\(vienna),,,,
        Brno Macs,macos,,50c39f71-8462-41d3-8fb6-72aec3d16f06,,,,13;231
        Kiosks,windows,,,,false,,
        Kiosks,windows,,,,false,,

        """

    @Test func theSecretChecksCanFail() {
        #expect(leaksThePassword("ESET_CONNECT_PASSWORD=sandbox"))
        #expect(leaksThePassword("grant_type=password&password=Sandbox"))
        #expect(!leaksThePassword("https://download.sandbox.invalid/installers/x/y (sandbox knob failNext)"))
        #expect(redactingDownloadURLs("url https://download.sandbox.invalid/installers/ab-12/0f9e8d7c\n")
                == "url https://download.sandbox.invalid/installers/ab-12/[redacted]\n")
    }

    @Test func createSyncAndDelete() async throws {
        let s = try await CommandLineSandbox(installers: 3)

        // create: pending first, then recorded; uuid, expiry and download URL on stdout.
        let created = try await s.run(["create", "--name", "Vienna PCs", "--os", "windows", "--group", Self.vienna,
                                       "--component", "13", "--component", "27"])
        #expect(created.status == 0, "\(created.stderr)")
        #expect(created.stderr.isEmpty)
        let uuid = try #require(created.stdout.split(separator: " ").dropFirst().first.map(String.init))
        #expect(created.stdout.hasPrefix("created \(uuid)  \"Vienna PCs\"\n"))
        #expect(created.stdout.contains("  expires:      20"))
        #expect(created.stdout.contains("  group:        Vienna Office\n"))
        #expect(created.stdout.contains("  download URL: https://download.sandbox.invalid/installers/\(uuid)/[redacted]\n"))
        let atESET = try #require(await s.sandbox.installer(uuid: uuid))
        #expect(atESET.installedComponents.map(\.id) == [13, 27])
        let ledger = try s.ledger()
        #expect(try ledger.installer(uuid).status == .usable)
        var filter = EventFilter()
        filter.installerUuid = uuid
        #expect(try ledger.events(matching: filter).map(\.kind) == [.recorded, .resolved])
        #expect(try ledger.pendingCreations().map(\.state) == [.resolved])

        // Refused before sending: Linux (usage), and by ESET: an unknown group (65, recorded as failed).
        let linux = try await s.run(["create", "--name", "Servers", "--os", "linux"])
        #expect(linux.status == 64 && linux.stderr.contains("cannot create Linux installers"))
        let unknownGroup = try await s.run(["create", "--name", "Nowhere", "--os", "windows", "--group", "11111111-2222-4333-8444-555555555555"])
        #expect(unknownGroup.status == 65, "\(unknownGroup.stderr)")
        #expect(unknownGroup.stderr.hasPrefix("installer-ledger: error: ESET Connect refused the request (400) (ESET request-id "))
        #expect(unknownGroup.stderr.split(separator: "\n").count == 1)
        #expect(try ledger.pendingCreations(state: .failed).count == 1)
        #expect(await s.sandbox.installers().count == 4)

        // sync (verbose: the logs must not leak anything either) adopts the three made elsewhere.
        let sync = try await s.run(["sync", "-v"])
        #expect(sync.status == 0, "\(sync.stderr)")
        #expect(sync.stdout == "4 listed: 3 new, 0 changed, 1 unchanged, 0 deleted, 0 pending resolved\n")
        #expect(sync.stderr.contains("request"))  // the debug log was on
        // reconcile makes its client first: logging is set up at start, so -v reaches it too.
        let reconcile = try await s.run(["reconcile", "-v"])
        #expect(reconcile.status == 0 && reconcile.stderr.contains("path=/v1/installers"), "\(reconcile.stderr)")
        #expect(try ledger.installers(matching: InstallerFilter(), at: .now()).count == 4)
        #expect(try ledger.lastSuccessfulRun(kinds: ["sync"]) != nil)

        // delete: refused without --yes when not on a terminal; with --yes revoked and recorded.
        let prefix = String(uuid.prefix(8))
        let unconfirmed = try await s.run(["delete", prefix])
        #expect(unconfirmed.status == 64 && unconfirmed.stderr.contains("add --yes"))
        #expect(await s.sandbox.installer(uuid: uuid)?.deleted == false)
        let deleted = try await s.run(["delete", prefix, "--yes"])
        #expect(deleted.status == 0, "\(deleted.stderr)")
        #expect(deleted.stdout == "deleted \(uuid)\n")
        #expect(await s.sandbox.installer(uuid: uuid)?.deleted == true)
        #expect(try ledger.installer(uuid).status == .deleted)
        let last = try #require(try ledger.events(matching: filter).last)
        #expect(last.kind == .deleted && last.source == .delete)
        let again = try await s.run(["sync"])
        #expect(again.stdout == "3 listed: 0 new, 0 changed, 3 unchanged, 0 deleted, 0 pending resolved\n")

        // Credentials refused: 77. The ledger's account keeps its username, so a later run
        // needs only the password; without it, 77 naming the account and the variable.
        let wrong = try await s.run(["sync"], environment: ["ESET_CONNECT_PASSWORD": "wrong"])
        #expect(wrong.status == 77 && wrong.stderr.contains("refused the credentials (401)"))
        let stored = try await s.run(["sync"], environment: ["ESET_CONNECT_USERNAME": ""])
        #expect(stored.status == 0, "\(stored.stderr)")
        let noPassword = try await s.run(["sync"], environment: ["ESET_CONNECT_PASSWORD": ""])
        #expect(noPassword.status == 77 && noPassword.stderr.contains("account 'default'")
                && noPassword.stderr.contains("ESET_CONNECT_PASSWORD is not set"), "\(noPassword.stderr)")
        // A ledger without an account and no username: a usage error naming the variable.
        let fresh = try await s.run(["sync", "--db", s.folder.file("other.sqlite")], environment: ["ESET_CONNECT_USERNAME": ""])
        #expect(fresh.status == 64 && fresh.stderr.contains("ESET_CONNECT_USERNAME"), "\(fresh.stderr)")
        // Another identity than the ledger's only account: refused, never mixed in.
        let other = try await s.run(["sync"], environment: ["ESET_CONNECT_USERNAME": "someone-else@example.com"])
        #expect(other.status == 64 && other.stderr.contains("account add"), "\(other.stderr)")

        try s.expectNoSecrets()
        await s.stop()
    }

    @Test func bulkCreateThenRerunCreatesNothing() async throws {
        let s = try await CommandLineSandbox()
        let plan = try s.plan("plan.csv", Self.plan)
        let first = try await s.run(["create", "--from", plan])
        #expect(first.status == 0, "\(first.stderr)")
        let lines = first.stdout.split(separator: "\n")
        #expect(lines.last == "5 created, 0 skipped (already done), 0 failed, 0 uncertain")
        #expect(Set(lines.dropLast().map { String($0.prefix(8)) }) == ["line 2: ", "line 3: ", "line 4: ", "line 5: ", "line 6: "])
        #expect(lines.dropLast().allSatisfy { $0.contains(": created ") && $0.contains(" download URL https://download.sandbox.invalid/installers/") && $0.hasSuffix("/[redacted]") })
        #expect(first.stderr.isEmpty)  // no progress bar: stderr is not a terminal
        let atESET = await s.sandbox.installers()
        #expect(atESET.count == 5 && atESET.filter { $0.displayName == "Kiosks" }.count == 2)
        let ledger = try s.ledger()
        #expect(try ledger.installers(matching: InstallerFilter(), at: .now()).count == 5)
        #expect(try ledger.pendingCreations().allSatisfy { $0.state == .resolved && $0.planKey?.hasPrefix("plan-v1:") == true })

        // The same plan again, reordered, as NDJSON on stdin: nothing is sent.
        let ndjson = """
            {"name": "Kiosks", "os": "windows", "pua_detection": false}
            {"name": "Brno Macs", "os": "macos", "group": "50c39f71-8462-41d3-8fb6-72aec3d16f06", "components": [231, 13]}
            {"name": "Kiosks", "os": "windows", "pua_detection": false}
            {"name": "Vienna PCs", "os": "windows", "language": "de-at", "group": "\(Self.vienna)"}
            {"name": "Bratislava PCs", "os": "windows", "language": "sk-sk", "group": "3ea17d5f-6240-4fb1-8d94-508ca1bf4d04", "components": [13, 27]}
            """
        let postsBefore = await s.posts()
        let rerun = try await s.run(["create", "--from", "-", "--format", "ndjson"], stdin: ndjson)
        #expect(rerun.status == 0, "\(rerun.stderr)")
        #expect(rerun.stderr == "0 created, 5 skipped (already done), 0 failed, 0 uncertain\n")
        let objects = rerun.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        #expect(objects.count == 5 && objects.allSatisfy { $0["result"] as? String == "skipped" })
        #expect(Set(objects.compactMap { $0["uuid"] as? String }) == Set(atESET.map(\.uuid)))
        #expect(await s.posts() == postsBefore)
        #expect(await s.sandbox.installers().count == 5)

        // Flags and --from do not mix.
        let mixed = try await s.run(["create", "--from", plan, "--os", "windows"])
        #expect(mixed.status == 64 && mixed.stderr.contains("--from takes every setting from the plan: remove --os"))
        try s.expectNoSecrets()
        await s.stop()
    }

    @Test func aBadLineRefusesTheWholePlanAndSendsNothing() async throws {
        let s = try await CommandLineSandbox()
        let plan = try s.plan("bad.csv", Self.plan + "Servers,linux,,,,,,\nMore,windows,,,maybe,,,\n")
        let r = try await s.run(["create", "--from", plan])
        #expect(r.status == 65)
        #expect(r.stdout.isEmpty)
        #expect(r.stderr == "installer-ledger: error: \(plan), line 7: field os 'linux': ESET Connect cannot create Linux installers (use windows or macos) (and 1 more bad line); nothing was sent, fix the plan and run create --from again\n")
        #expect(await s.sandbox.requestLog().isEmpty)
        if FileManager.default.fileExists(atPath: s.db) { #expect(try s.ledger().pendingCreations().isEmpty) }
        let missing = try await s.run(["create", "--from", s.folder.file("missing.csv")])
        #expect(missing.status == 74 && missing.stderr.contains("cannot read the plan"))
        await s.stop()
    }

    @Test func aLostAnswerMidPlanStaysPendingUntilSyncAndIsNeverDuplicated() async throws {
        let s = try await CommandLineSandbox()
        // A first run creates two lines.
        let firstPlan = Self.plan.split(separator: "\n").prefix(3).joined(separator: "\n") + "\n"
        let plan = try s.plan("plan.csv", firstPlan)
        #expect(try await s.run(["create", "--from", plan]).status == 0)

        // Lines appended; the first new creation happens at ESET but its answer is lost.
        try Self.plan.write(toFile: plan, atomically: true, encoding: .utf8)
        await s.sandbox.setKnobs(SandboxKnobs(dropNextAfterProcessing: 1))
        let lost = try await s.run(["create", "--from", plan, "--concurrency", "1"])
        #expect(lost.status == 75, "\(lost.stderr)")
        #expect(lost.stdout.contains("line 4: uncertain \"Brno Macs\": the outcome is uncertain"))
        #expect(lost.stdout.hasSuffix("2 created, 2 skipped (already done), 0 failed, 1 uncertain\n"))
        #expect(lost.stderr.contains("1 creation has an uncertain outcome and stays pending: run 'installer-ledger sync'"))
        #expect(await s.sandbox.installers().count == 5)
        #expect(try s.ledger().pendingCreations(state: .pending).count == 1)

        // Re-run before sync: the pending line is not sent again.
        let postsBefore = await s.posts()
        let early = try await s.run(["create", "--from", plan])
        #expect(early.status == 75)
        #expect(early.stdout.contains("line 4: uncertain \"Brno Macs\": an earlier run's creation"))
        #expect(early.stdout.hasSuffix("0 created, 4 skipped (already done), 0 failed, 1 uncertain\n"))
        #expect(await s.posts() == postsBefore)

        // sync matches it; then the plan is complete, with exactly one installer per line.
        let sync = try await s.run(["sync"])
        #expect(sync.stdout == "5 listed: 1 new, 0 changed, 4 unchanged, 0 deleted, 1 pending resolved\n")
        let done = try await s.run(["create", "--from", plan])
        #expect(done.status == 0)
        #expect(done.stdout.hasSuffix("0 created, 5 skipped (already done), 0 failed, 0 uncertain\n"))
        #expect(await s.sandbox.installers(includeDeleted: true).count == 5)
        #expect(try s.ledger().installers(matching: InstallerFilter(), at: .now()).count == 5)
        #expect(try s.ledger().pendingCreations().allSatisfy { $0.state == .resolved })
        try s.expectNoSecrets()
        await s.stop()
    }

    @Test func refusedLinesAreRetriedAndForbiddenStopsTheRun() async throws {
        let s = try await CommandLineSandbox()
        let plan = try s.plan("plan.csv", Self.plan)

        // 403 on the first creation: nothing more is sent, the rest is "not sent", exit 77.
        await s.sandbox.setKnobs(SandboxKnobs(failNext: [403]))
        let forbidden = try await s.run(["create", "--from", plan, "--concurrency", "1"])
        #expect(forbidden.status == 77)
        #expect(forbidden.stdout.hasSuffix("0 created, 0 skipped (already done), 1 failed, 0 uncertain, 4 not sent\n"))
        #expect(forbidden.stderr.contains("does not allow this (403)") && forbidden.stderr.contains("4 lines not sent"))
        #expect(await s.sandbox.installers().isEmpty)

        // One line refused (400): the others are created, exit 65; a re-run creates just that one.
        await s.sandbox.setKnobs(SandboxKnobs(failNext: [400]))
        let refused = try await s.run(["create", "--from", plan])
        #expect(refused.status == 65)
        #expect(refused.stdout.contains(": failed \"") && refused.stdout.contains("refused the request (400)"))
        #expect(refused.stdout.hasSuffix("4 created, 0 skipped (already done), 1 failed, 0 uncertain\n"))
        #expect(refused.stderr.contains("1 line failed (see above)"))
        let retried = try await s.run(["create", "--from", plan])
        #expect(retried.status == 0)
        #expect(retried.stdout.hasSuffix("1 created, 4 skipped (already done), 0 failed, 0 uncertain\n"))
        #expect(await s.sandbox.installers(includeDeleted: true).count == 5)
        try s.expectNoSecrets()
        await s.stop()
    }

    @Test func anInterruptedRunResumesWithoutDuplicates() async throws {
        let s = try await CommandLineSandbox()
        let plan = try s.plan("plan.csv", Self.plan)
        await s.sandbox.setKnobs(SandboxKnobs(latencyMilliseconds: 300))
        // Ctrl-C once the first line is reported: the line in flight finishes, no new one starts.
        let raw = try await runInterrupted(["create", "--from", plan, "--concurrency", "1", "--api-url", s.url],
                                                   environment: s.environment, after: "line ")
        s.transcript.withLock { $0 += [raw.stdout, raw.stderr] }
        let interrupted = raw.redacted
        #expect(interrupted.status == 130, "\(interrupted.stderr)")
        #expect(interrupted.stderr.contains("stopping: no new line is started"))
        let createdFirst = interrupted.stdout.components(separatedBy: ": created ").count - 1
        #expect(createdFirst >= 1 && createdFirst < 5)
        #expect(interrupted.stdout.contains("\(5 - createdFirst) not sent"))
        #expect(await s.sandbox.installers().count == createdFirst)

        await s.sandbox.setKnobs(SandboxKnobs())
        let resumed = try await s.run(["create", "--from", plan])
        #expect(resumed.status == 0)
        #expect(resumed.stdout.hasSuffix("\(5 - createdFirst) created, \(createdFirst) skipped (already done), 0 failed, 0 uncertain\n"))
        #expect(await s.sandbox.installers(includeDeleted: true).count == 5)
        try s.expectNoSecrets()
        await s.stop()
    }

    /// The client's limiter, seen from the server: in no sliding second does the sandbox
    /// receive more than `--rate-limit` requests (the token request included). The sandbox
    /// runs as a process of its own here: one in this process stamps a request when this
    /// process's threads get to it, and a stall of the suites' work would bunch the arrivals.
    @Test func theRateLimitHoldsAtTheSandbox() async throws {
        let s = try await CommandLineSandbox()
        let sandbox = Process()
        sandbox.executableURL = productsDirectory.appendingPathComponent("eset-connect-sandbox")
        sandbox.arguments = ["--port", "0"]
        let out = Pipe()
        sandbox.standardOutput = out
        sandbox.standardError = FileHandle.nullDevice
        try sandbox.run()
        defer { sandbox.terminate(); sandbox.waitUntilExit() }
        let listening = try await offThePool {
            var line = Data()
            while !line.contains(UInt8(ascii: "\n")) {
                let chunk = out.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                line.append(chunk)
            }
            return String(decoding: line, as: UTF8.self)
        }
        let url = try #require(listening.split(separator: "\n").first.map { String($0.dropFirst("listening on ".count)) })
        #expect(url.hasPrefix("http://127.0.0.1:"))

        let lines = (1...9).map { "Branch \($0),windows" }.joined(separator: "\n")
        let plan = try s.plan("plan.csv", "name,os\n" + lines + "\n")
        let r = try await s.run(["create", "--from", plan, "--rate-limit", "5", "--concurrency", "4", "--api-url", url], api: false)
        #expect(r.status == 0, "\(r.stderr)")
        let (data, _) = try await URLSession.shared.data(from: try #require(URL(string: url + "/_sandbox/requests")))
        let log = try #require(try JSONSerialization.jsonObject(with: data) as? [[String: Any]])
        let times = try log.map { try Timestamp(rfc3339: $0["receivedAt"] as? String ?? "").nanoseconds }.sorted()
        #expect(times.count == 10)  // one token, nine creations
        let second: Int64 = 1_000_000_000
        for (i, start) in times.enumerated() {
            let inWindow = times[i...].prefix { $0 - start < second }.count
            #expect(inWindow <= 5, "\(inWindow) requests within a second from request \(i)")
        }
        // ... and it did wait (10 requests at 5/s need just over one second; the bound above
        // only catches a limiter that sleeps far too long, on a loaded machine).
        #expect(times.last! - times.first! >= second)
        #expect(times.last! - times.first! < 10 * second)
        await s.stop()
    }

    /// Runs the binary and sends it SIGINT once `marker` appears on its stdout.
    func runInterrupted(_ arguments: [String], environment: [String: String], after marker: String) async throws -> ProcessResult {
        let r = try await runInterrupting(arguments, environment: environment, after: marker)
        return ProcessResult(status: r.status, stdout: r.stdout, stderr: r.stderr)
    }
}
