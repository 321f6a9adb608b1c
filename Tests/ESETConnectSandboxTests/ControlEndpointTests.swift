import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
@testable import ESETConnectSandbox

@Suite struct ControlEndpointTests {
    @Test func knobsCanBeReadReplacedAndPatched() async throws {
        try await withSandbox { sandbox, client in
            let put = try await client.send("PUT", "/_sandbox/knobs", json: ["failNext": [503], "latencyMilliseconds": 1])
            #expect(put.status == 200)
            #expect(await sandbox.knobs == SandboxKnobs(latencyMilliseconds: 1, failNext: [503]))

            let patch = try await client.send("PATCH", "/_sandbox/knobs", json: ["rateLimitPerSecond": 50, "latencyMilliseconds": 0])
            #expect(patch.status == 200)
            #expect(await sandbox.knobs == SandboxKnobs(rateLimitPerSecond: 50, failNext: [503]))

            let got = try await client.send("GET", "/_sandbox/knobs")
            #expect(got.object?["rateLimitPerSecond"] as? Int == 50)
            #expect(try await client.send("PUT", "/_sandbox/knobs", body: Data("nope".utf8)).status == 400)
        }
    }

    @Test func clockInstallersAndRequestsAreExposed() async throws {
        try await withSandbox(SandboxConfiguration(prepopulatedInstallers: 4)) { sandbox, client in
            let before = await sandbox.now()
            let clock = try await client.send("POST", "/_sandbox/clock", query: ["advance": "86400"])
            #expect(clock.status == 200)
            let now = try #require(parseTimestamp(clock.object?["now"] as? String ?? ""))
            #expect(now.timeIntervalSince(before) > 86_399)

            let token = try await client.accessToken()
            let uuid = try #require(await sandbox.installers().first?.uuid)
            #expect(try await client.send("DELETE", "/v1/installers/\(uuid)", token: token).status == 200)

            let all = try await client.send("GET", "/_sandbox/installers")
            let list = try #require(try JSONSerialization.jsonObject(with: all.body) as? [[String: Any]])
            #expect(list.count == 4)
            #expect(list.filter { $0["deleted"] as? Bool == true }.compactMap { $0["uuid"] as? String } == [uuid])

            let requests = try await client.send("GET", "/_sandbox/requests")
            let log = try #require(try JSONSerialization.jsonObject(with: requests.body) as? [[String: Any]])
            #expect(log.compactMap { $0["path"] as? String } == ["/oauth/token", "/v1/installers/\(uuid)"])
            #expect(log.compactMap { $0["status"] as? Int } == [200, 200])
        }
    }

    @Test func nonLoopbackHostsAreRefused() async throws {
        for host in ["0.0.0.0", "192.168.1.10", "example.com"] {
            await #expect(throws: SandboxError.nonLoopbackHost(host)) {
                try await SandboxServer(configuration: SandboxConfiguration(host: host)).start()
            }
        }
    }
}

@Suite struct SandboxBinaryTests {
    @Test func printsListeningFirstAndServesUntilSIGTERM() async throws {
        let (process, first) = try launchSandboxBinary(["--port", "0", "--installers", "3", "--password", "s3cret"])
        defer { if process.isRunning { process.terminate() } }
        #expect(first.hasPrefix("listening on http://127.0.0.1:"))
        let url = try #require(URL(string: String(first.dropFirst("listening on ".count))))

        let client = SandboxClient(baseURL: url)
        #expect(try await client.passwordGrant(password: "s3cret").status == 200)
        let token = try await client.send("POST", "/oauth/token", body: Data("grant_type=password&username=u&password=s3cret".utf8),
                                          contentType: "application/x-www-form-urlencoded").object?["access_token"] as? String
        let list = try await client.send("GET", "/v1/installers", token: token)
        #expect(list.object?["totalSize"] as? String == "3")

        process.terminate()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
    }

    @Test func refusesANonLoopbackHost() throws {
        let (status, message) = try runSandboxBinary(["--host", "0.0.0.0"])
        #expect(status == 64)
        #expect(message.contains("loopback"))
    }
}
