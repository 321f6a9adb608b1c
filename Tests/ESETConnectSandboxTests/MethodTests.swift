import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
@testable import ESETConnectSandbox

/// Methods a path does not serve are 405 with `Allow`, and methods FlyingFox does not know reach
/// the sandbox's routes, so every such answer has a google.rpc.Status body and a `request-id`.
@Suite struct MethodTests {
    @Test(arguments: [
        ("PUT", "/v1/installers", "GET, POST"),
        ("PATCH", "/v1/installers", "GET, POST"),
        ("DELETE", "/v1/installers", "GET, POST"),
        ("OPTIONS", "/v1/installers", "GET, POST"),
        ("PUT", "/v1/installers/6bade8d2-797b-496b-b612-494c1ba35fcd", "GET, DELETE"),
        ("POST", "/v1/installers/6bade8d2-797b-496b-b612-494c1ba35fcd", "GET, DELETE"),
        ("GET", "/v1/gpo-sccm-files:generate", "POST"),
        // Methods FlyingFox does not know used to get an empty 404 without request-id.
        ("PROPFIND", "/v1/installers", "GET, POST"),
        ("BREW", "/v1/installers", "GET, POST"),
        ("BREW", "/v1/installers/6bade8d2-797b-496b-b612-494c1ba35fcd", "GET, DELETE"),
        ("MKCOL", "/v1/installers/6bade8d2-797b-496b-b612-494c1ba35fcd", "GET, DELETE"),
    ])
    func methodsAPathDoesNotServeAre405WithAllow(method: String, path: String, allow: String) async throws {
        try await withSandbox { _, client in
            let answer = try await client.send(method, path, token: try await client.accessToken())
            #expect(answer.status == 405)
            #expect(answer.header("Allow") == allow)
            #expect(answer.header("request-id") != nil)
            #expect(answer.object?["code"] as? Int == 12)
            #expect((answer.object?["message"] as? String)?.contains("method \(method) not allowed") == true)
        }
    }

    @Test func headIs405WithAllowAndTheTokenEndpointAllowsPOST() async throws {
        try await withSandbox { _, client in
            let head = try await client.send("HEAD", "/v1/installers", token: try await client.accessToken())
            #expect(head.status == 405 && head.header("Allow") == "GET, POST" && head.header("request-id") != nil)
            for method in ["GET", "BREW"] {
                let token = try await client.send(method, "/oauth/token")
                #expect(token.status == 405)
                #expect(token.header("Allow") == "POST")
                #expect(token.header("request-id") != nil)
                #expect(token.object?["error"] as? String == "invalid_request")
            }
        }
    }

    /// An unknown method on a path nobody serves is 404 with a body, as every other error.
    @Test(arguments: [("BREW", "/v1/coffee"), ("PROPFIND", "/nowhere"), ("BREW", "/v1/installers/a/b"),
                      ("PROPFIND", "/_sandbox/knobs"), ("WHEN", "/_sandbox/nothing")])
    func unknownMethodsOnUnknownPathsAre404WithABody(method: String, path: String) async throws {
        try await withSandbox { _, client in
            let answer = try await client.send(method, path, token: try await client.accessToken())
            #expect(answer.status == 404)
            #expect(answer.header("request-id") != nil)
            #expect(answer.header("Content-Type") == "application/json")
            #expect(answer.object?["code"] as? Int == 5)
            #expect(answer.object?["message"] != nil)
        }
    }

    @Test func anUnknownMethodWithoutATokenIs401WithABody() async throws {
        try await withSandbox { sandbox, client in
            let answer = try await client.send("PROPFIND", "/v1/installers")
            #expect(answer.status == 401)
            #expect(answer.object?["code"] as? Int == 16)
            #expect(answer.header("request-id") != nil)
            #expect(await sandbox.requestLog().map(\.method) == ["PROPFIND"])
        }
    }
}
