import Foundation
import Testing
@testable import ESETConnectSandbox

@Suite struct TokenEndpointTests {
    @Test func passwordGrantIssuesBearerTokens() async throws {
        try await withSandbox(SandboxConfiguration(tokenLifetime: 1800)) { _, client in
            let answer = try await client.passwordGrant()
            #expect(answer.status == 200)
            let object = try #require(answer.object)
            #expect((object["access_token"] as? String)?.isEmpty == false)
            #expect((object["refresh_token"] as? String)?.isEmpty == false)
            #expect(object["token_type"] as? String == "Bearer")
            #expect(object["expires_in"] as? Int == 1800)
            #expect(answer.header("request-id") != nil)
        }
    }

    @Test func refreshIssuesNewPairAndRetiresTheOldRefreshToken() async throws {
        try await withSandbox { _, client in
            let first = try #require(try await client.passwordGrant().object)
            let oldRefresh = try #require(first["refresh_token"] as? String)
            let form = "application/x-www-form-urlencoded"

            let refreshed = try await client.send("POST", "/oauth/token",
                                                  body: Data("grant_type=refresh_token&refresh_token=\(oldRefresh)".utf8), contentType: form)
            #expect(refreshed.status == 200)
            let second = try #require(refreshed.object)
            #expect(second["access_token"] as? String != first["access_token"] as? String)
            #expect(second["refresh_token"] as? String != oldRefresh)
            let newAccess = try #require(second["access_token"] as? String)
            #expect(try await client.send("GET", "/v1/installers", token: newAccess).status == 200)

            let reused = try await client.send("POST", "/oauth/token",
                                               body: Data("grant_type=refresh_token&refresh_token=\(oldRefresh)".utf8), contentType: form)
            #expect(reused.status == 400)
            #expect(reused.object?["error"] as? String == "invalid_grant")
        }
    }

    @Test func wrongPasswordIsInvalidGrant() async throws {
        try await withSandbox { _, client in
            let answer = try await client.passwordGrant(password: "wrong-pw")
            #expect(answer.status == 400)
            #expect(answer.object?["error"] as? String == "invalid_grant")
            #expect(answer.header("request-id") != nil)
        }
    }

    @Test func otherContentTypesAre415() async throws {
        try await withSandbox { _, client in
            let answer = try await client.send("POST", "/oauth/token",
                                               json: ["grant_type": "password", "username": "a", "password": "sandbox"])
            #expect(answer.status == 415)
            #expect(answer.header("request-id") != nil)
        }
    }

    @Test func apiCallsWithoutValidTokenAre401() async throws {
        try await withSandbox { sandbox, client in
            let missing = try await client.send("GET", "/v1/installers")
            #expect(missing.status == 401)
            #expect(missing.object?["code"] as? Int == 16)
            #expect((missing.object?["message"] as? String)?.isEmpty == false)
            #expect(missing.header("request-id") != nil)
            #expect(try await client.send("GET", "/v1/installers", token: "forged").status == 401)

            let token = try await client.accessToken()
            #expect(try await client.send("GET", "/v1/installers", token: token).status == 200)
            await sandbox.revokeAllTokens()
            #expect(try await client.send("GET", "/v1/installers", token: token).status == 401)
        }
    }

    @Test func accessTokensExpireBySandboxClock() async throws {
        try await withSandbox(SandboxConfiguration(tokenLifetime: 3600)) { sandbox, client in
            let token = try await client.accessToken()
            // The sandbox clock is the real one plus an offset: half an hour of real slack on
            // both sides of the lifetime, so no stall of a loaded machine crosses it early.
            await sandbox.advanceClock(by: 1800)
            #expect(try await client.send("GET", "/v1/installers", token: token).status == 200)
            await sandbox.advanceClock(by: 3600)
            #expect(try await client.send("GET", "/v1/installers", token: token).status == 401)
        }
    }
}
