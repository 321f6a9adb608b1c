import ESETConnectSandbox
import Foundation
import Synchronization
import Testing
@testable import InstallerLedger

/// A clock whose sleeps pass instantly and are recorded, so retries and backoff are tested
/// without waiting.
final class VirtualClock: Sendable {
    let offset = Mutex<Double>(0)
    let sleeps = Mutex<[Double]>([])

    var clock: ClientClock {
        ClientClock(
            now: { MonotonicClock.seconds() + self.offset.withLock { $0 } },
            sleep: { s in
                self.sleeps.withLock { $0.append(s) }
                self.offset.withLock { $0 += max(0, s) }
            })
    }
}

/// A sandbox on loopback plus a client and a fresh in-memory ledger.
struct SandboxFixture {
    let sandbox: SandboxServer
    let url: URL
    let virtual = VirtualClock()
    let ledger: Ledger

    init(installers: Int = 0, password: String = "sandbox") async throws {
        sandbox = SandboxServer(configuration: SandboxConfiguration(password: password, prepopulatedInstallers: installers))
        url = try await sandbox.start()
        ledger = try freshLedger()
    }

    func client(password: String = "sandbox", rate: Double = 1000) throws -> ESETConnectClient {
        let config = try ESETConnectConfiguration(apiURL: url.absoluteString, username: "api@example.com", password: password, rateLimit: rate)
        return ESETConnectClient(configuration: config, transport: URLSessionTransport(timeout: inProcessSandboxTimeout), clock: virtual.clock)
    }

    func knobs(_ k: SandboxKnobs) async { await sandbox.setKnobs(k) }
}

@Suite(.serialized) struct ESETConnectTests {
    let request = CreateInstallerRequest(displayName: "Vienna PCs", operatingSystemFamilyId: 1, requestedComponentIds: [13, 27])

    @Test func createRecordsTheInstallerAndResolvesThePending() async throws {
        let f = try await SandboxFixture()
        let created = try await InstallerCreation(ledger: f.ledger, client: try f.client()).create(request)
        #expect(created.installedComponents.map(\.id) == [13, 27])
        #expect(try f.ledger.installer(created.uuid).installer == created)
        #expect(try f.ledger.pendingCreations(state: .pending).isEmpty)
        #expect(try f.ledger.events(matching: EventFilter()).map(\.kind) == [.pending, .recorded, .resolved])
        #expect(await f.sandbox.installers().count == 1)
        await f.sandbox.stop()
    }

    @Test func droppedConnectionAfterSendingStaysPendingAndSyncResolvesIt() async throws {
        let f = try await SandboxFixture()
        let client = try f.client()
        _ = try await client.listInstallers { _ in }  // get a token first
        await f.knobs(SandboxKnobs(dropNextAfterProcessing: 1))
        await #expect { try await InstallerCreation(ledger: f.ledger, client: client).create(request) } throws: { error in
            guard case ESETConnectError.uncertain = error else { return false }
            return true
        }
        #expect(try f.ledger.pendingCreations(state: .pending).count == 1)
        #expect(await f.sandbox.installers().count == 1)
        let summary = try await InstallerSync(ledger: f.ledger, client: client).run()
        #expect(summary.resolved == 1 && summary.record.new == 1)
        let resolved = try #require(try f.ledger.pendingCreations().first)
        #expect(resolved.state == .resolved)
        #expect(resolved.installerUuid == (await f.sandbox.installers().first?.uuid))
        #expect(try f.ledger.installers(matching: InstallerFilter(), at: .now()).count == 1)
        // A second sync changes nothing.
        let again = try await InstallerSync(ledger: f.ledger, client: client).run()
        #expect(again.resolved == 0 && again.record.unchanged == 1)
        await f.sandbox.stop()
    }

    @Test func aCreationThatNeverHappenedIsMarkedFailedAfterTheGracePeriod() async throws {
        let f = try await SandboxFixture()
        let client = try f.client()
        _ = try await client.listInstallers { _ in }
        await f.knobs(SandboxKnobs(dropNextBeforeProcessing: 1))
        await #expect(throws: ESETConnectError.self) { try await InstallerCreation(ledger: f.ledger, client: client).create(self.request) }
        #expect(await f.sandbox.installers().isEmpty)
        let soon = try await InstallerSync(ledger: f.ledger, client: client).run()
        #expect(soon.stillPending.count == 1)
        let later = Timestamp.now().adding(.seconds(16 * 60))
        let summary = try await InstallerSync(ledger: f.ledger, client: client, now: { later }).run()
        #expect(summary.failed.count == 1)
        #expect(try f.ledger.pendingCreations(state: .failed).count == 1)
        await f.sandbox.stop()
    }

    @Test func answers202AreCollectedWithResponseIdAndCreateOnce() async throws {
        let f = try await SandboxFixture()
        await f.knobs(SandboxKnobs(accepted202Count: 3))
        let created = try await InstallerCreation(ledger: f.ledger, client: try f.client()).create(request)
        #expect(await f.sandbox.installers().map(\.uuid) == [created.uuid])
        #expect(f.virtual.sleeps.withLock { $0 }.filter { $0 == 2 }.count >= 2)
        await f.sandbox.stop()
    }

    @Test func rateLimitedAnswersHonourRetryAfter() async throws {
        // The sandbox's rate limit answers 429 with Retry-After; here a scripted transport
        // gives two such answers in a row, then the page.
        let answers = Mutex<[HTTPResponse]>([
            HTTPResponse(status: 200, body: Array(#"{"access_token": "t", "expires_in": 3600}"#.utf8)),
            HTTPResponse(status: 429, headers: ["Retry-After": "7", "request-id": "r1"], body: Array("slow down".utf8)),
            HTTPResponse(status: 429, headers: ["request-id": "r2"]),
            HTTPResponse(status: 200, body: Array(#"{"installers": [{"uuid": "a"}], "nextPageToken": ""}"#.utf8)),
        ])
        let virtual = VirtualClock()
        let config = try ESETConnectConfiguration(apiURL: "http://127.0.0.1:9", username: "u", password: "p", rateLimit: 1000)
        let client = ESETConnectClient(configuration: config, transport: ScriptedBox(answers), clock: virtual.clock)
        var uuids = [String]()
        try await client.listInstallers { uuids += $0.installers.map(\.installer.uuid) }
        #expect(uuids == ["a"])
        let sleeps = virtual.sleeps.withLock { $0 }
        #expect(sleeps.first == 7)           // Retry-After honoured
        #expect(sleeps.count == 2 && sleeps[1] >= 0.25 && sleeps[1] <= 1)  // then exponential backoff with jitter
    }

    @Test func serverErrorsAreRetriedThenReportedAsUnavailable() async throws {
        let f = try await SandboxFixture(installers: 2)
        let client = try f.client()
        _ = try await client.listInstallers { _ in }
        await f.knobs(SandboxKnobs(failNext: [503, 502, 500]))
        let summary = try await InstallerSync(ledger: f.ledger, client: client).run()
        #expect(summary.record.new == 2)
        await f.knobs(SandboxKnobs(failNext: Array(repeating: 503, count: 10), nonJSONErrorBodies: true))
        await #expect { try await client.listInstallers { _ in } } throws: { error in
            guard case ESETConnectError.unavailable(503, let rid, let message) = error else { return false }
            return rid != nil && message.contains("HTTP 503") && !message.contains("\n")
        }
        await f.sandbox.stop()
    }

    @Test func aServerErrorOnCreateIsUncertainAndNotResent() async throws {
        let f = try await SandboxFixture()
        let client = try f.client()
        _ = try await client.listInstallers { _ in }
        await f.sandbox.clearRequestLog()
        await f.knobs(SandboxKnobs(failNext: [500]))
        await #expect { try await InstallerCreation(ledger: f.ledger, client: client).create(self.request) } throws: { error in
            guard case ESETConnectError.uncertain(let rid, _) = error else { return false }
            return rid != nil
        }
        #expect(await f.sandbox.requestLog().filter { $0.method == "POST" && $0.path == "/v1/installers" }.count == 1)
        #expect(try f.ledger.pendingCreations(state: .pending).count == 1)
        await f.sandbox.stop()
    }

    @Test func expiredTokensAreRenewedOnceOn401() async throws {
        let f = try await SandboxFixture(installers: 1)
        let client = try f.client()
        _ = try await client.listInstallers { _ in }
        await f.sandbox.revokeAllTokens()
        var count = 0
        try await client.listInstallers { count += $0.installers.count }
        #expect(count == 1)
        await f.sandbox.stop()
    }

    @Test func refusedCredentialsAre401() async throws {
        let f = try await SandboxFixture()
        await #expect(throws: ESETConnectError.self) { try await f.client(password: "wrong").listInstallers { _ in } }
        do {
            try await f.client(password: "wrong").listInstallers { _ in }
        } catch let ESETConnectError.http(status, rid, _) {
            #expect(status == 401 && rid != nil)
        }
        await f.sandbox.stop()
    }

    @Test func linuxIsRefusedAndThePendingCreationFails() async throws {
        let f = try await SandboxFixture()
        let linux = CreateInstallerRequest(displayName: "Servers", operatingSystemFamilyId: 2)
        #expect(linux.problem != nil)
        await #expect { try await InstallerCreation(ledger: f.ledger, client: try f.client()).create(linux) } throws: { error in
            guard case ESETConnectError.http(400, _, let message) = error else { return false }
            return message.lowercased().contains("linux")
        }
        #expect(try f.ledger.pendingCreations(state: .failed).count == 1)
        await f.sandbox.stop()
    }

    @Test func syncPagesThroughEverythingAndMarksVanishedInstallersDeleted() async throws {
        let f = try await SandboxFixture(installers: 2_345)
        let client = try f.client()
        await f.sandbox.clearRequestLog()
        let first = try await InstallerSync(ledger: f.ledger, client: client).run()
        #expect(first.seen == 2_345 && first.record.new == 2_345)
        #expect(await f.sandbox.requestLog().filter { $0.path == "/v1/installers" }.count == 3)
        let victim = try #require(await f.sandbox.installers().first?.uuid)
        try await client.deleteInstaller(uuid: victim)
        let second = try await InstallerSync(ledger: f.ledger, client: client).run()
        #expect(second.deleted == 1 && second.record.unchanged == 2_344)
        #expect(try f.ledger.installer(victim).status == .deleted)
        #expect(try f.ledger.lastSuccessfulRun(kinds: ["sync"]) != nil)
        await f.sandbox.stop()
    }

    @Test func rateLimiterNeverExceedsItsRate() async throws {
        let virtual = VirtualClock()
        let limiter = RateLimiter(rate: 10, clock: virtual.clock)
        var starts = [Double]()
        for _ in 0..<45 {
            try await limiter.acquire()
            starts.append(virtual.clock.now())
        }
        for (i, t) in starts.enumerated() {
            #expect(starts[i...].prefix { $0 < t + 1.0 }.count <= 10)
        }
        #expect(starts.last! - starts.first! < 4.8)  // and it is not needlessly slow
    }

    @Test func onlyHTTPSUnlessLoopback() throws {
        #expect(throws: ESETConnectError.self) { try ESETConnectConfiguration(apiURL: "http://eset.example.com", username: "u", password: "p") }
        #expect(throws: ESETConnectError.self) { try ESETConnectConfiguration(region: "jp", username: "u", password: "p") }
        let jpn = try ESETConnectConfiguration(region: "jpn", username: "u", password: "p")
        #expect(jpn.installersURL.absoluteString == "https://jpn.installer-management.eset.systems/v1/installers")
        #expect(jpn.tokenURL.absoluteString == "https://jpn.business-account.iam.eset.systems/oauth/token")
        _ = try ESETConnectConfiguration(apiURL: "http://127.0.0.1:8080/", username: "u", password: "p")
        _ = try ESETConnectConfiguration(apiURL: "http://[::1]:8080", username: "u", password: "p")
    }

    @Test func looseRightsOnThePasswordFileAreRefused() throws {
        let folder = TemporaryFolder()
        let path = folder.file("password")
        try "s3cret\n".write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o644)
        #expect(throws: ESETConnectError.self) { try ESETConnectConfiguration.readPasswordFile(path) }
        chmod(path, 0o600)
        #expect(try ESETConnectConfiguration.readPasswordFile(path) == "s3cret")
    }
}

/// A transport answering from a script, for what the sandbox cannot produce on demand.
final class ScriptedBox: HTTPTransport {
    let answers: Mutex<[HTTPResponse]>
    init(_ answers: consuming Mutex<[HTTPResponse]>) {
        let list = answers.withLock { $0 }
        self.answers = Mutex(list)
    }
    func send(_ request: HTTPRequest) async throws -> HTTPResponse { answers.withLock { $0.removeFirst() } }
}
