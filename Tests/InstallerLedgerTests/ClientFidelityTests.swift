import ESETConnectSandbox
import Foundation
import Testing
@testable import InstallerLedger

/// The client against a sandbox that behaves as ESET's Go gateway does: page tokens in standard
/// base64 (`+`, `/`, `=`) whose `+` a raw query would turn into a space, and a 504 while a 202
/// answer is being collected. Real HTTP on 127.0.0.1; sleeps go to a virtual clock.
@Suite(.serialized) struct ClientFidelityTests {
    @Test func queryValuesArePercentEncodedStrictly() throws {
        let base = try #require(URL(string: "http://127.0.0.1:9/v1/installers"))
        let url = ESETConnectClient.url(base, query: [("pageSize", "10"), ("pageToken", "+/8=&x y%~._-")])
        #expect(url.absoluteString == "http://127.0.0.1:9/v1/installers?pageSize=10&pageToken=%2B%2F8%3D%26x%20y%25~._-")
    }

    @Test func pagingThroughBase64TokensListsEveryInstallerOnce() async throws {
        let f = try await SandboxFixture(installers: 25)
        let client = try f.client()
        await f.sandbox.clearRequestLog()
        var uuids: [String] = [], tokens: [String] = []
        try await client.listInstallers(pageSize: 10) { page in
            uuids += page.installers.map(\.installer.uuid)
            if !page.nextPageToken.isEmpty { tokens.append(page.nextPageToken) }
        }
        #expect(uuids.count == 25)
        #expect(Set(uuids).count == 25)
        #expect(uuids == (await f.sandbox.installers()).map(\.uuid))
        // The sandbox's tokens hold every character a query string can mangle...
        #expect(tokens.count == 2)
        #expect(tokens.allSatisfy { $0.contains("+") && $0.contains("/") && $0.contains("=") })
        // ...and the client sent them percent-encoded.
        let queries = await f.sandbox.requestLog().filter { $0.path == "/v1/installers" }.map(\.query)
        #expect(queries.count == 3)
        #expect(queries[0] == "pageSize=10")
        for (query, token) in zip(queries.dropFirst(), tokens) {
            #expect(query == "pageSize=10&pageToken=" + token.replacingOccurrences(of: "+", with: "%2B")
                .replacingOccurrences(of: "/", with: "%2F").replacingOccurrences(of: "=", with: "%3D"))
        }
        await f.sandbox.stop()
    }

    /// What the test above would catch: a page-2 URL built with `URLComponents.queryItems`, as
    /// the client did before, sends the token's `+` raw, and the gateway refuses the token.
    @Test func aPageTokenSentWithARawPlusIsRefused() async throws {
        let f = try await SandboxFixture(installers: 15)
        let client = try f.client()
        var token = ""
        try await client.listInstallers(pageSize: 10) { page in if token.isEmpty { token = page.nextPageToken } }
        #expect(token.contains("+"))
        var components = try #require(URLComponents(url: f.url.appendingPathComponent("v1/installers"), resolvingAgainstBaseURL: false))
        components.queryItems = [URLQueryItem(name: "pageSize", value: "10"), URLQueryItem(name: "pageToken", value: token)]
        let naive = try #require(components.url)
        #expect(naive.query?.contains("+") == true)
        await #expect { _ = try await client.perform(method: "GET", url: naive, body: nil, isCreate: false) } throws: { error in
            guard case ESETConnectError.http(400, _, let message) = error else { return false }
            return message == "pageToken: invalid page token"
        }
        await f.sandbox.stop()
    }

    /// The requests of `path` since the log was cleared: status and whether a response-id was sent.
    private func exchanges(_ f: SandboxFixture, method: String, path: String) async -> [(status: Int?, responseID: String?)] {
        await f.sandbox.requestLog().filter { $0.method == method && $0.path == path }.map { ($0.status, $0.responseID) }
    }

    @Test func a504WhileCollectingAListSendsTheRequestAgainAsANewOne() async throws {
        let f = try await SandboxFixture(installers: 3)
        let client = try f.client()
        _ = try await client.listInstallers { _ in }  // a token first
        await f.knobs(SandboxKnobs(accepted202Count: 1, failNextCollection: [504]))
        await f.sandbox.clearRequestLog()
        var count = 0
        try await client.listInstallers { count += $0.installers.count }
        #expect(count == 3)
        let seen = await exchanges(f, method: "GET", path: "/v1/installers")
        #expect(seen.map(\.status) == [202, 504, 202, 200])
        // The 504 made the old response-id worthless: the request went again without it.
        #expect(seen[0].responseID == nil && seen[1].responseID != nil && seen[2].responseID == nil && seen[3].responseID != nil)
        #expect(seen[1].responseID != seen[3].responseID)
        await f.sandbox.stop()
    }

    @Test func a504WhileCollectingAGetSendsTheRequestAgainAsANewOne() async throws {
        let f = try await SandboxFixture(installers: 1)
        let client = try f.client()
        let uuid = try #require(await f.sandbox.installers().first?.uuid)
        _ = try await client.getInstaller(uuid: uuid)
        await f.knobs(SandboxKnobs(accepted202Count: 2, failNextCollection: [504]))
        await f.sandbox.clearRequestLog()
        let fetched = try await client.getInstaller(uuid: uuid)
        #expect(fetched.installer.uuid == uuid)
        let seen = await exchanges(f, method: "GET", path: "/v1/installers/\(uuid)")
        #expect(seen.map(\.status) == [202, 504, 202, 202, 200])
        #expect(seen.map { $0.responseID != nil } == [false, true, false, true, true])
        #expect(f.virtual.sleeps.withLock { $0 }.count >= 3)  // every wait on the virtual clock
        await f.sandbox.stop()
    }

    /// DELETE is idempotent: sent again after the 504, it finds the installer already revoked and
    /// gets 404, which `delete` and `rotate` take as "revoked" (ESETConnectError.http(404)).
    @Test func a504WhileCollectingADeleteSendsItAgainAsANewOne() async throws {
        let f = try await SandboxFixture(installers: 2)
        let client = try f.client()
        let uuid = try #require(await f.sandbox.installers().first?.uuid)
        _ = try await client.listInstallers { _ in }
        await f.knobs(SandboxKnobs(accepted202Count: 1, failNextCollection: [504]))
        await f.sandbox.clearRequestLog()
        await #expect { try await client.deleteInstaller(uuid: uuid) } throws: { error in
            guard case ESETConnectError.http(404, _, _) = error else { return false }
            return true
        }
        let seen = await exchanges(f, method: "DELETE", path: "/v1/installers/\(uuid)")
        #expect(seen.map(\.status) == [202, 504, 404])
        #expect(seen.map { $0.responseID != nil } == [false, true, false])
        #expect(await f.sandbox.installer(uuid: uuid)?.deleted == true)
        #expect(await f.sandbox.installers().count == 1)
        await f.sandbox.stop()
    }

    /// A creation is never sent twice: a 504 while collecting it leaves it uncertain (pending
    /// until sync, exit 75), and ESET may well hold the installer.
    @Test func a504WhileCollectingACreationIsUncertainAndNotResent() async throws {
        let f = try await SandboxFixture()
        let client = try f.client()
        _ = try await client.listInstallers { _ in }
        await f.knobs(SandboxKnobs(accepted202Count: 1, failNextCollection: [504]))
        await f.sandbox.clearRequestLog()
        let request = CreateInstallerRequest(displayName: "Graz PCs", operatingSystemFamilyId: 1)
        await #expect { try await InstallerCreation(ledger: f.ledger, client: client).create(request) } throws: { error in
            guard let error = error as? ESETConnectError, case .uncertain(let rid, _) = error else { return false }
            return error.mayHaveCreated && rid != nil
        }
        let seen = await exchanges(f, method: "POST", path: "/v1/installers")
        #expect(seen.map(\.status) == [202, 504])
        #expect(seen.map { $0.responseID != nil } == [false, true])
        #expect(try f.ledger.pendingCreations(state: .pending).count == 1)
        #expect(await f.sandbox.installers().map(\.displayName) == ["Graz PCs"])
        await f.sandbox.stop()
    }
}
