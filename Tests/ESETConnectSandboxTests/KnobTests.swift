import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
@testable import ESETConnectSandbox

@Suite struct KnobTests {
    @Test func accepted202IsCollectedOnceAndCreatesOneInstaller() async throws {
        try await withSandbox(SandboxConfiguration(knobs: SandboxKnobs(accepted202Count: 2))) { sandbox, client in
            let token = try await client.accessToken()
            let first = try await client.create(windowsInstaller(), token: token)
            #expect(first.status == 202)
            let responseID = try #require(first.header("response-id"))

            let again = try await client.create(windowsInstaller(), token: token, headers: ["response-id": responseID])
            #expect(again.status == 202)
            #expect(again.header("response-id") == responseID)

            let collected = try await client.create(windowsInstaller(), token: await client.accessToken(),
                                                    headers: ["response-id": responseID])
            #expect(collected.status == 200)
            let uuid = try #require(collected.installer?["uuid"] as? String)

            let twice = try await client.create(windowsInstaller(), token: token, headers: ["response-id": responseID])
            #expect(twice.status == 404)
            #expect(await sandbox.installers().map(\.uuid) == [uuid])
        }
    }

    @Test func unknownOrMismatchedResponseIDIs404() async throws {
        try await withSandbox(SandboxConfiguration(knobs: SandboxKnobs(accepted202Count: 1))) { _, client in
            let token = try await client.accessToken()
            let unknown = try await client.send("GET", "/v1/installers", token: token,
                                                headers: ["response-id": UUID().uuidString.lowercased()])
            #expect(unknown.status == 404)

            let first = try await client.send("GET", "/v1/installers", query: ["pageSize": "10"], token: token)
            #expect(first.status == 202)
            let responseID = try #require(first.header("response-id"))
            let otherQuery = try await client.send("GET", "/v1/installers", query: ["pageSize": "20"], token: token,
                                                   headers: ["response-id": responseID])
            #expect(otherQuery.status == 404)
            let same = try await client.send("GET", "/v1/installers", query: ["pageSize": "10"], token: token,
                                             headers: ["response-id": responseID])
            #expect(same.status == 200)
        }
    }

    @Test func pendingAnswersExpireAfterTenMinutesBySandboxClock() async throws {
        try await withSandbox(SandboxConfiguration(knobs: SandboxKnobs(accepted202Count: 1))) { sandbox, client in
            let token = try await client.accessToken()
            let first = try await client.create(windowsInstaller(), token: token)
            let responseID = try #require(first.header("response-id"))
            await sandbox.advanceClock(by: 601)
            let late = try await client.create(windowsInstaller(), token: await client.accessToken(),
                                               headers: ["response-id": responseID])
            #expect(late.status == 404)
            #expect(await sandbox.installers().count == 1)
        }
    }

    @Test(arguments: [nil, 3] as [Int?])
    func rateLimitAnswers429(retryAfter: Int?) async throws {
        let knobs = SandboxKnobs(rateLimitPerSecond: 3, retryAfterSeconds: retryAfter)
        try await withSandbox(SandboxConfiguration(knobs: knobs)) { sandbox, client in
            // One frozen instant: all five requests fall in one window even on a loaded machine.
            let frozen = ContinuousClock.now
            await sandbox.setRateClock { frozen }
            let token = try await client.accessToken()  // the token request counts too
            var statuses: [Int] = []
            var limited: Answer?
            for _ in 0..<4 {
                let answer = try await client.send("GET", "/v1/installers", token: token)
                statuses.append(answer.status)
                if answer.status == 429 { limited = answer }
            }
            #expect(statuses == [200, 200, 429, 429])
            let answer = try #require(limited)
            #expect(answer.header("Retry-After") == retryAfter.map(String.init))
            #expect(answer.object?["code"] as? Int == 8)
            #expect(answer.header("request-id") != nil)
            #expect(await sandbox.requestLog().map(\.status) == [200, 200, 200, 429, 429])
        }
    }

    @Test func failNextAnswersInjectedStatusesWithoutActing() async throws {
        try await withSandbox(SandboxConfiguration(knobs: SandboxKnobs(failNext: [503, 500]))) { sandbox, client in
            let token = try await client.accessToken()
            let first = try await client.create(windowsInstaller(), token: token)
            #expect(first.status == 503)
            #expect(first.object?["code"] as? Int == 14)
            #expect(first.header("request-id") != nil)
            #expect(try await client.create(windowsInstaller(), token: token).status == 500)
            #expect(await sandbox.installers().isEmpty)
            #expect(try await client.create(windowsInstaller(), token: token).status == 200)
            #expect(await sandbox.installers().count == 1)
            #expect(await sandbox.knobs.failNext.isEmpty)
        }
    }

    @Test func nonJSONErrorBodiesAreHTML() async throws {
        try await withSandbox(SandboxConfiguration(knobs: SandboxKnobs(failNext: [502], nonJSONErrorBodies: true))) { _, client in
            let token = try await client.accessToken()
            let answer = try await client.send("GET", "/v1/installers", token: token)
            #expect(answer.status == 502)
            #expect(answer.header("Content-Type")?.hasPrefix("text/html") == true)
            #expect(answer.object == nil)
            #expect(String(decoding: answer.body, as: UTF8.self).contains("502 Bad Gateway"))
        }
    }

    @Test func malformedNextTruncatesSuccessfulBodies() async throws {
        try await withSandbox(SandboxConfiguration(prepopulatedInstallers: 5, knobs: SandboxKnobs(malformedNext: 1))) { _, client in
            let token = try await client.accessToken()
            let broken = try await client.send("GET", "/v1/installers", token: token)
            #expect(broken.status == 200)
            #expect(!broken.body.isEmpty)
            #expect((try? JSONSerialization.jsonObject(with: broken.body)) == nil)
            #expect(try await client.send("GET", "/v1/installers", token: token).object != nil)
        }
    }

    @Test func dropBeforeProcessingClosesWithoutAnswerOrAction() async throws {
        try await withSandbox { sandbox, client in
            let token = try await client.accessToken()
            await sandbox.setKnobs(SandboxKnobs(dropNextBeforeProcessing: 1))
            await #expect(throws: URLError.self) {
                try await SandboxClient(baseURL: client.baseURL).create(windowsInstaller(), token: token)
            }
            #expect(await sandbox.installers().isEmpty)
            #expect(await sandbox.requestLog().last?.status == nil)
            #expect(try await client.create(windowsInstaller(), token: token).status == 200)
        }
    }

    @Test func dropAfterProcessingCreatesButNeverAnswers() async throws {
        try await withSandbox { sandbox, client in
            let token = try await client.accessToken()
            await sandbox.setKnobs(SandboxKnobs(dropNextAfterProcessing: 1))
            await #expect(throws: URLError.self) {
                try await SandboxClient(baseURL: client.baseURL).create(windowsInstaller("Uncertain"), token: token)
            }
            let installers = await sandbox.installers()
            #expect(installers.map(\.displayName) == ["Uncertain"])
            let listed = try await client.send("GET", "/v1/installers", token: token)
            #expect((listed.object?["installers"] as? [[String: Any]])?.first?["uuid"] as? String == installers.first?.uuid)
        }
    }

    /// libcurl (URLSession on Linux) silently re-sends a request whose *reused* connection closed
    /// without an answer (a POST then hangs 60 s); with `Connection: close` on every answer the
    /// session holds no idle connection, so the drop reaches the client at once as an error.
    @Test func dropOnAReusedConnectionIsNotRetriedSilently() async throws {
        try await withSandbox { sandbox, client in
            let token = try await client.accessToken()
            #expect(try await client.send("GET", "/v1/installers", token: token).status == 200)
            await sandbox.setKnobs(SandboxKnobs(dropNextAfterProcessing: 1))
            let start = ContinuousClock.now
            await #expect(throws: URLError.self) {
                try await client.create(windowsInstaller("Once"), token: token)
            }
            #expect(ContinuousClock.now - start < .seconds(5))
            #expect(await sandbox.installers().count == 1)
            #expect(await sandbox.requestLog().filter { $0.method == "POST" && $0.path == "/v1/installers" }.count == 1)
        }
    }

    @Test func latencyDelaysAnswers() async throws {
        try await withSandbox(SandboxConfiguration(knobs: SandboxKnobs(latencyMilliseconds: 60))) { _, client in
            let start = ContinuousClock.now
            _ = try await client.passwordGrant()
            #expect(ContinuousClock.now - start >= .milliseconds(60))
        }
    }

    @Test func everyAnswerCarriesAFreshRequestID() async throws {
        try await withSandbox(SandboxConfiguration(knobs: SandboxKnobs(rateLimitPerSecond: 100))) { sandbox, client in
            let token = try await client.accessToken()
            var answers = [
                try await client.send("GET", "/v1/installers", token: token),
                try await client.send("GET", "/v1/installers"),
                try await client.send("GET", "/v1/installers/nope", token: token),
                try await client.send("GET", "/v1/nothing-here", token: token),
                try await client.send("PUT", "/v1/installers", token: token),
                try await client.send("POST", "/oauth/token", body: Data("x".utf8), contentType: "text/plain"),
                try await client.send("GET", "/_sandbox/knobs"),
            ]
            await sandbox.setKnobs(SandboxKnobs(accepted202Count: 1))
            answers.append(try await client.send("GET", "/v1/installers", token: token))
            #expect(answers.map(\.status) == [200, 401, 404, 404, 405, 415, 200, 202])
            let ids = answers.compactMap { $0.header("request-id") }
            #expect(ids.count == answers.count)
            #expect(Set(ids).count == ids.count)
            #expect(ids.allSatisfy { UUID(uuidString: $0) != nil })
        }
    }

    @Test func failNextCollection504ForgetsThePendingAnswer() async throws {
        let knobs = SandboxKnobs(accepted202Count: 1, failNextCollection: [504])
        try await withSandbox(SandboxConfiguration(prepopulatedInstallers: 2, knobs: knobs)) { sandbox, client in
            let token = try await client.accessToken()
            let first = try await client.send("GET", "/v1/installers", token: token)
            #expect(first.status == 202)
            let responseID = try #require(first.header("response-id"))

            let timedOut = try await client.send("GET", "/v1/installers", token: token, headers: ["response-id": responseID])
            #expect(timedOut.status == 504)
            #expect(timedOut.object?["code"] as? Int == 4)
            #expect(timedOut.header("request-id") != nil)
            #expect(await sandbox.knobs.failNextCollection.isEmpty)
            // Gone: the old response-id no longer collects anything.
            let stale = try await client.send("GET", "/v1/installers", token: token, headers: ["response-id": responseID])
            #expect(stale.status == 404)

            // Sent again as a new request, it is accepted and collected as usual.
            let again = try await client.send("GET", "/v1/installers", token: token)
            #expect(again.status == 202)
            let newID = try #require(again.header("response-id"))
            #expect(newID != responseID)
            let collected = try await client.send("GET", "/v1/installers", token: token, headers: ["response-id": newID])
            #expect(collected.status == 200)
            #expect((collected.object?["installers"] as? [Any])?.count == 2)
        }
    }

    @Test func failNextCollectionOtherStatusesKeepTheAnswerAndSpareOtherRequests() async throws {
        try await withSandbox { sandbox, client in
            let token = try await client.accessToken()
            // Set through the control endpoint, as a script would.
            let patched = try await client.send("PATCH", "/_sandbox/knobs",
                                                json: ["accepted202Count": 1, "failNextCollection": [503]])
            #expect(patched.object?["failNextCollection"] as? [Int] == [503])
            let first = try await client.create(windowsInstaller(), token: token)
            #expect(first.status == 202)  // not a collection: the knob is left alone
            #expect(await sandbox.knobs.failNextCollection == [503])
            let responseID = try #require(first.header("response-id"))
            let unavailable = try await client.create(windowsInstaller(), token: token, headers: ["response-id": responseID])
            #expect(unavailable.status == 503)
            let collected = try await client.create(windowsInstaller(), token: token, headers: ["response-id": responseID])
            #expect(collected.status == 200)
            let uuid = try #require(collected.installer?["uuid"] as? String)
            #expect(await sandbox.installers().map(\.uuid) == [uuid])
        }
    }

    @Test func knobsDecodeFailNextCollection() throws {
        let knobs = try JSONDecoder().decode(SandboxKnobs.self, from: Data(#"{"failNextCollection":[504,503]}"#.utf8))
        #expect(knobs == SandboxKnobs(failNextCollection: [504, 503]))
        #expect(try JSONDecoder().decode(SandboxKnobs.self, from: Data("{}".utf8)).failNextCollection.isEmpty)
    }
}
