import ESETConnectSandbox
import Foundation
import Synchronization
import Testing
@testable import InstallerLedger

/// Plan parsing and `BulkCreation` against the sandbox over real HTTP (virtual clock: retries
/// and backoff never sleep).
@Suite struct CreationPlanTests {
    static let vienna = "4fb28e60-7351-40c2-9ea5-619db2c05e05"

    func parse(_ text: String, source: String = "plan.csv") throws -> CreationPlan {
        try CreationPlan.parse(Array(text.utf8), source: source)
    }

    func error(_ text: String, source: String = "plan.csv") -> String {
        do {
            _ = try parse(text, source: source)
            return "(no error)"
        } catch {
            return "\(error)"
        }
    }

    @Test func csvWithHeaderDefaultsAndQuotedValues() throws {
        let text = "Name,OS,language,group,cloud-feedback,pua_detection,diagnostics,components\r\n"
            + "\"Kiosks, \"\"lobby\"\"\",windows,DE-AT,\(Self.vienna.uppercased()),no,,1,27;13;13\r\n"
            + "Sales Macs,macos,,,,,,\r\n\r\n\n"
        let plan = try parse(text)
        #expect(plan.format == .csv)
        #expect(plan.lines.map(\.number) == [2, 3])
        let kiosk = plan.lines[0].request
        #expect(kiosk == CreateInstallerRequest(
            displayName: "Kiosks, \"lobby\"", operatingSystemFamilyId: 1, preferredLanguageCode: "de-at",
            securityGroupUuid: Self.vienna, enableCloudScannerFeedback: false, enablePuaDetection: true,
            sendAnonymousDiagnosticData: true, requestedComponentIds: [13, 27]))
        #expect(plan.lines[1].request == CreateInstallerRequest(displayName: "Sales Macs", operatingSystemFamilyId: 3))
    }

    @Test func ndjsonWithTheSameFieldsGivesTheSameKeys() throws {
        let csv = try parse("""
            name,os,group,components
            Vienna PCs,windows,\(Self.vienna),13;27
            """)
        let ndjson = try parse("""
            {"name": "Vienna PCs", "os": "windows", "group": "\(Self.vienna)", "components": [27, 13], "diagnostics": false}
            """, source: "plan.ndjson")
        #expect(ndjson.format == .ndjson)
        #expect(ndjson.lines.map(\.request) == csv.lines.map(\.request))
        #expect(ndjson.lines.map(\.key) == csv.lines.map(\.key))
    }

    @Test func keysSurviveReorderingAndAppendingAndCountIdenticalLines() throws {
        let first = try parse("""
            name,os
            A,windows
            B,macos
            A,windows
            """)
        #expect(Set(first.lines.map(\.key)).count == 3)
        #expect(first.lines[0].key.hasSuffix("#1") && first.lines[2].key.hasSuffix("#2"))
        #expect(first.lines[0].key.dropLast(2) == first.lines[2].key.dropLast(2))
        let reordered = try parse("""
            os,name
            macos,B
            windows,A
            windows,C
            windows,A
            """)
        #expect(Set(first.lines.map(\.key)).isSubset(of: Set(reordered.lines.map(\.key))))
        #expect(reordered.lines.count == 4)
    }

    @Test func aBadLineNamesFileLineAndFieldAndCountsTheOthers() {
        let text = """
            name,os,group,components
            Fine,windows,,
            Servers,linux,,
            Bad group,windows,not-a-uuid,
            Bad component,windows,,13;99
            """
        let message = error(text)
        #expect(message.hasPrefix("plan.csv, line 3: field os 'linux': ESET Connect cannot create Linux installers"))
        #expect(message.contains("(and 2 more bad lines)"))
        #expect(message.contains("nothing was sent"))
        #expect(error("name,os,group\nX,windows,not-a-uuid\n").contains("line 2: field group 'not-a-uuid' is not a security group uuid"))
        #expect(error("name,os,components\nX,windows,13;99\n").contains("line 2: field components '99' is not a component id"))
        #expect(error("name,os,language\nX,windows,en_US\n").contains("field language 'en_us' is not a BCP 47"))
        #expect(error("name,os,diagnostics\nX,windows,maybe\n").contains("field diagnostics 'maybe' is not true or false"))
        #expect(error("name,os\n,windows\n").contains("line 2: field name is empty"))
        #expect(error("name,os,colour\nX,windows,red\n").contains("line 1: field colour is not a column of a plan"))
        #expect(error("name,language\nX,en-us\n").contains("no 'os' column"))
        #expect(error("name,os\nX,windows,extra\n").contains("line 2: has 3 values but the header has 2 columns"))
        #expect(error("name,os\n\"X,windows\n").contains("line 2: a quoted value is not closed"))
        #expect(error("name,os\n").hasPrefix("the plan plan.csv holds no installer"))
        #expect(error("  \n").hasPrefix("the plan plan.csv holds no installer"))
    }

    @Test func ndjsonErrorsNameTheLine() {
        let bad = """
            {"name": "A", "os": "windows"}
            {"name": "B", "os": "windows", "colour": "red"}
            """
        #expect(error(bad, source: "p.ndjson").hasPrefix("p.ndjson, line 2: field colour is not a field of a plan"))
        #expect(error("{\"name\": \"A\", \"os\": \"windows\"}\n{\"name\": ", source: "p.ndjson").hasPrefix("p.ndjson, line 2"))
        #expect(error("{\"name\": \"A\", \"os\": \"windows\"}\n[1]\n", source: "p.ndjson").contains("line 2: is an array, not an object"))
        #expect(error("{\"name\": \"A\", \"os\": \"windows\", \"components\": 13}\n", source: "p.ndjson").contains("field components is a number"))
    }

    @Test func theShippedExamplesAreValid() throws {
        let csv = try CreationPlan.read(path: repositoryRoot.appendingPathComponent("examples/bulk-plan.csv").path)
        #expect(csv.lines.count == 10)
        let ndjson = try CreationPlan.read(path: repositoryRoot.appendingPathComponent("examples/bulk-plan.ndjson").path)
        #expect(ndjson.lines.count == 5)
        // The four lines both files share (in another format and order) are the same plan lines.
        #expect(Set(ndjson.lines.map(\.key)).intersection(csv.lines.map(\.key)).count == 4)
        #expect(throws: CreationPlanError.unreadable(file: "/nonexistent/plan.csv", reason: "No such file or directory")) {
            try CreationPlan.read(path: "/nonexistent/plan.csv")
        }
    }
}

/// A plan line is claimed once per account, by the database too (0008), on either engine.
@Suite struct PlanClaimTests {
    @Test func aLineIsClaimedOnceAndAFailedCreationGivesItsClaimUp() throws {
        let ledger = try freshLedger()
        let request = CreateInstallerRequest(displayName: "Vienna PCs", operatingSystemFamilyId: 1)
        let first = try ledger.addPending(request, planKey: "plan.csv:vienna", at: Sample.now)
        #expect(throws: PlanLineTaken.self) { try ledger.addPending(request, planKey: "plan.csv:vienna", at: Sample.now) }
        // Past the check, the database itself refuses a second claim of the line.
        let account = try #require(first.accountID)
        #expect(throws: (any Error).self) {
            try ledger.write { db in
                try db.execute(sql: """
                    INSERT INTO pending_creations (local_id, request_json, display_name, os_family_id, requested_at, state, plan_key, plan_claim, account_id)
                    VALUES ('second', '{}', 'Vienna PCs', 1, 1, 'pending', ?, ?, ?)
                    """, arguments: ["plan.csv:vienna", "plan.csv:vienna", account])
            }
        }
        #expect(try ledger.pendingCreations().map(\.localId) == [first.localId])
        // Other lines are claimed beside it; a failed creation gives its line up again.
        _ = try ledger.addPending(request, planKey: "plan.csv:brno", at: Sample.now)
        try ledger.markFailed(pendingId: first.localId, message: "ESET refused it", at: Sample.now)
        let retried = try ledger.addPending(request, planKey: "plan.csv:vienna", at: Sample.now)
        #expect(retried.localId != first.localId)
        #expect(throws: PlanLineTaken.self) { try ledger.addPending(request, planKey: "plan.csv:vienna", at: Sample.now) }
    }
}

@Suite(.serialized) struct BulkCreateTests {
    static let plan = try! CreationPlan.parse(Array("""
        name,os,group,components
        Bratislava PCs,windows,3ea17d5f-6240-4fb1-8d94-508ca1bf4d04,13;27
        Vienna PCs,windows,4fb28e60-7351-40c2-9ea5-619db2c05e05,
        Brno Macs,macos,50c39f71-8462-41d3-8fb6-72aec3d16f06,13;231
        Finance,windows,61d4a082-9573-42e4-90c7-83bfd4e27007,13;27;210
        Kiosks,windows,,
        Kiosks,windows,,
        """.utf8), source: "plan.csv")

    func run(_ f: SandboxFixture, _ client: ESETConnectClient, concurrency: Int = 4, plan: CreationPlan = plan,
             now: @escaping @Sendable () -> Timestamp = { .now() }) async throws -> (BulkSummary, [BulkOutcome]) {
        var outcomes = [BulkOutcome]()
        let summary = try await BulkCreation(ledger: f.ledger, client: client, concurrency: concurrency, now: now)
            .run(plan) { outcomes.append($0) }
        return (summary, outcomes)
    }

    func posts(_ f: SandboxFixture) async -> Int {
        await f.sandbox.requestLog().filter { $0.method == "POST" && $0.path == "/v1/installers" }.count
    }

    @Test func createsEveryLineAndARerunCreatesNothing() async throws {
        let f = try await SandboxFixture()
        let client = try f.client()
        let (summary, outcomes) = try await run(f, client)
        #expect(summary.line == "6 created, 0 skipped (already done), 0 failed, 0 uncertain")
        #expect(Set(outcomes.map(\.line.number)) == Set(2...7))
        let atESET = await f.sandbox.installers()
        #expect(atESET.count == 6)
        #expect(atESET.filter { $0.displayName == "Kiosks" }.count == 2)
        #expect(try f.ledger.installers(matching: InstallerFilter(), at: .now()).count == 6)
        let creations = try f.ledger.pendingCreations()
        #expect(creations.allSatisfy { $0.state == .resolved && $0.planKey != nil })
        #expect(Set(creations.compactMap(\.planKey)) == Set(Self.plan.lines.map(\.key)))

        let (again, skipped) = try await run(f, client)
        #expect(again.line == "0 created, 6 skipped (already done), 0 failed, 0 uncertain")
        #expect(skipped.allSatisfy { if case .skipped = $0.result { true } else { false } })
        #expect(await f.sandbox.installers().count == 6)
        #expect(await posts(f) == 6)
        await f.sandbox.stop()
    }

    @Test func aLostAnswerStaysPendingIsNotResentAndSyncResolvesIt() async throws {
        let f = try await SandboxFixture()
        let client = try f.client()
        _ = try await client.listInstallers { _ in }
        // A first run creates line 2; in the second, line 3 is created at ESET but its answer is lost.
        let (first, _) = try await run(f, client, concurrency: 1, plan: CreationPlan(source: "p", format: .csv, lines: [Self.plan.lines[0]]))
        #expect(first.created == 1)
        await f.knobs(SandboxKnobs(dropNextAfterProcessing: 1))
        let (summary, outcomes) = try await run(f, client, concurrency: 1)
        #expect(summary.created == 4 && summary.skipped == 1 && summary.uncertain == 1 && summary.stoppedBy == nil)
        let lost = try #require(outcomes.first { if case .uncertain = $0.result { true } else { false } })
        #expect(lost.line.number == 3)
        #expect(await f.sandbox.installers().count == 6)
        #expect(try f.ledger.pendingCreations(state: .pending).map(\.planKey) == [lost.line.key])

        // Re-run: the pending line is not sent again.
        let postsBefore = await posts(f)
        let (rerun, rerunOutcomes) = try await run(f, client)
        #expect(rerun.skipped == 5 && rerun.stillPending == 1 && rerun.created == 0)
        #expect(rerun.line == "0 created, 5 skipped (already done), 0 failed, 1 uncertain")
        #expect(rerunOutcomes.contains { if case .stillPending = $0.result { $0.line.number == 3 } else { false } })
        #expect(await posts(f) == postsBefore)

        // Sync resolves it; the next run finds everything done, with exactly one of each.
        let sync = try await InstallerSync(ledger: f.ledger, client: client).run()
        #expect(sync.resolved == 1 && sync.record.new == 1)
        let (done, _) = try await run(f, client)
        #expect(done.skipped == 6 && done.created == 0 && done.stillPending == 0)
        #expect(await f.sandbox.installers(includeDeleted: true).count == 6)
        #expect(try f.ledger.installers(matching: InstallerFilter(), at: .now()).count == 6)
        await f.sandbox.stop()
    }

    @Test func aCreationThatNeverHappenedIsRetriedOnceSyncMarksItFailed() async throws {
        let f = try await SandboxFixture()
        let client = try f.client()
        _ = try await client.listInstallers { _ in }
        await f.knobs(SandboxKnobs(dropNextBeforeProcessing: 1))
        let (summary, _) = try await run(f, client, concurrency: 1)
        #expect(summary.uncertain == 1 && summary.created == 5)
        #expect(await f.sandbox.installers().count == 5)
        // Long after, sync concludes it was never created; the plan line is tried again.
        let later = Timestamp.now().adding(.seconds(20 * 60))
        let sync = try await InstallerSync(ledger: f.ledger, client: client, now: { later }).run()
        #expect(sync.failed.count == 1)
        let (retry, outcomes) = try await run(f, client, now: { later })
        #expect(retry.created == 1 && retry.skipped == 5)
        #expect(outcomes.filter { if case .created = $0.result { true } else { false } }.count == 1)
        #expect(await f.sandbox.installers(includeDeleted: true).count == 6)
        await f.sandbox.stop()
    }

    @Test func aRefusedLineFailsTheOthersGoOnAndARerunRetriesIt() async throws {
        let f = try await SandboxFixture()
        let client = try f.client()
        _ = try await client.listInstallers { _ in }
        await f.knobs(SandboxKnobs(failNext: [400]))
        let (summary, outcomes) = try await run(f, client, concurrency: 1)
        #expect(summary.failed == 1 && summary.created == 5 && summary.stoppedBy == nil)
        #expect(outcomes.first.map { if case .failed(ESETConnectError.http(400, _, _)) = $0.result { true } else { false } } == true)
        #expect(try f.ledger.pendingCreations(state: .failed).count == 1)
        let (retry, _) = try await run(f, client)
        #expect(retry.created == 1 && retry.skipped == 5)
        #expect(await f.sandbox.installers().count == 6)
        await f.sandbox.stop()
    }

    @Test func forbiddenStopsSendingAndTheRestIsNotSent() async throws {
        let f = try await SandboxFixture()
        let client = try f.client()
        _ = try await client.listInstallers { _ in }
        await f.knobs(SandboxKnobs(failNext: [403]))
        let (summary, outcomes) = try await run(f, client, concurrency: 1)
        #expect(summary.failed == 1 && summary.notSent == 5 && summary.created == 0)
        #expect(outcomes.count == 1)
        guard case ESETConnectError.http(403, _, _)? = summary.stoppedBy else {
            Issue.record("expected a 403 to stop the run")
            return
        }
        #expect(await f.sandbox.installers().isEmpty)
        let (retry, _) = try await run(f, client)
        #expect(retry.created == 6)
        await f.sandbox.stop()
    }

    @Test func anUnavailableServiceStopsTheRunAfterRetries() async throws {
        let f = try await SandboxFixture()
        let client = try f.client()
        _ = try await client.listInstallers { _ in }
        await f.knobs(SandboxKnobs(failNext: Array(repeating: 503, count: 6)))
        let (summary, _) = try await run(f, client, concurrency: 1)
        guard case ESETConnectError.unavailable(503, _, _)? = summary.stoppedBy else {
            Issue.record("expected 503s to stop the run")
            return
        }
        #expect(summary.failed == 1 && summary.notSent == 5)
        #expect(f.virtual.sleeps.withLock { $0 }.count == 5)  // backoff, on the virtual clock
        await f.sandbox.stop()
    }

    @Test func refusedCredentialsFailEveryLineInFlightAndStop() async throws {
        let f = try await SandboxFixture()
        let (summary, outcomes) = try await run(f, try f.client(password: "wrong"), concurrency: 2)
        guard case ESETConnectError.http(401, _, _)? = summary.stoppedBy else {
            Issue.record("expected a 401 to stop the run")
            return
        }
        #expect(summary.failed == outcomes.count && summary.failed + summary.notSent == 6 && summary.failed <= 2)
        #expect(await f.sandbox.installers().isEmpty)
        await f.sandbox.stop()
    }

    @Test func aStopRequestStartsNoNewLine() async throws {
        let f = try await SandboxFixture()
        let client = try f.client()
        let stop = BulkCreation.Stop()
        var outcomes = [BulkOutcome]()
        let summary = try await BulkCreation(ledger: f.ledger, client: client, concurrency: 1).run(Self.plan, stop: stop) {
            outcomes.append($0)
            stop.request()
        }
        #expect(summary.interrupted && summary.created == 1 && summary.notSent == 5)
        #expect(await f.sandbox.installers().count == 1)
        await f.sandbox.stop()
    }

    @Test func noMoreThanTheConcurrencyIsInFlight() async throws {
        let f = try await SandboxFixture()
        await f.knobs(SandboxKnobs(latencyMilliseconds: 30))
        let counting = CountingTransport(URLSessionTransport(timeout: inProcessSandboxTimeout))
        let config = try ESETConnectConfiguration(apiURL: f.url.absoluteString, username: "u", password: "sandbox", rateLimit: 1000)
        let client = ESETConnectClient(configuration: config, transport: counting, clock: f.virtual.clock)
        let (summary, _) = try await run(f, client, concurrency: 3)
        #expect(summary.created == 6)
        #expect(counting.maxInFlight.withLock { $0 } == 3)
        await f.sandbox.stop()
    }
}

/// Counts requests in flight at once.
final class CountingTransport: HTTPTransport {
    let inner: any HTTPTransport
    let inFlight = Mutex(0)
    let maxInFlight = Mutex(0)

    init(_ inner: any HTTPTransport) { self.inner = inner }

    func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        let now = inFlight.withLock { $0 += 1; return $0 }
        maxInFlight.withLock { $0 = max($0, now) }
        defer { inFlight.withLock { $0 -= 1 } }
        return try await inner.send(request)
    }
}

/// The limiter counts a request until its answer arrives, so the server never sees more than
/// the rate even when early requests reach it late.
@Suite struct RateLimiterWindowTests {
    @Test func aRequestCountsUntilItsAnswerPlusTheWindow() async throws {
        let virtual = VirtualClock()
        let clock = virtual.clock
        let limiter = RateLimiter(rate: 2, clock: clock)
        let t0 = clock.now()
        let first = try await limiter.begin()
        let second = try await limiter.begin()
        #expect(clock.now() - t0 < 0.01)
        virtual.offset.withLock { $0 += 0.5 }  // the first answer takes half a second
        await limiter.end(first)
        _ = try await limiter.begin()  // waits for the first's place: answer + 1.05 s
        #expect(clock.now() - t0 >= 1.55 - 1e-6)
        // Both places now in flight: the next start waits for an answer, then a window.
        let waiting = Task { try await limiter.begin() }
        let answered = clock.now()
        await limiter.end(second)
        _ = try await waiting.value
        #expect(clock.now() - answered >= 1.05 - 1e-6)
    }

    @Test func acquireStillCountsStartsOnly() async throws {
        let virtual = VirtualClock()
        let limiter = RateLimiter(rate: 10, clock: virtual.clock)
        let t0 = virtual.clock.now()
        for _ in 0..<20 { try await limiter.acquire() }
        #expect(virtual.clock.now() - t0 >= 1.05 - 1e-6 && virtual.clock.now() - t0 < 1.2)
    }
}
