import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
@testable import ESETConnectSandbox

/// Query strings are decoded as a Go gateway decodes them (`+` is a space, `%2B` a plus), and
/// page tokens hold `+`, `/` and `=`, so a client that leaves `+` raw breaks on page 2 here as it
/// would at ESET.
@Suite struct QueryStringTests {
    @Test func queryStringsDecodeAsGoDoes() {
        func values(_ raw: String) -> [String] { QueryString.parse(raw).values.map { "\($0.name)=\($0.value)" } }
        #expect(values("pageToken=a+b") == ["pageToken=a b"])
        #expect(values("pageToken=a%2Bb%2F%3D%3D") == ["pageToken=a+b/=="])
        #expect(values("pageToken=+/8==") == ["pageToken= /8=="])
        #expect(values("a=1&&b=&c") == ["a=1", "b=", "c="])
        #expect(values("na%6De=%C3%A9") == ["name=é"])
        #expect(QueryString.parse("pageToken=a+b").error == nil)
        #expect(QueryString.parse("pageToken=%zz&pageSize=5").error == #"invalid URL escape "%zz""#)
        #expect(values("pageToken=%zz&pageSize=5") == ["pageSize=5"])
        #expect(QueryString.parse("pageToken=%4").error == #"invalid URL escape "%4""#)
        #expect(QueryString.parse("pageSize=5;usable=true").error == "invalid semicolon separator in query")
    }

    @Test func plusInAQueryIsASpaceAndPercent2BIsAPlus() async throws {
        try await withSandbox(SandboxConfiguration(prepopulatedInstallers: 12)) { _, client in
            let token = try await client.accessToken()
            let first = try await client.send("GET", "/v1/installers", query: ["pageSize": "5"], token: token)
            let next = try #require(first.object?["nextPageToken"] as? String)
            #expect(next.contains("+"))

            // As URLComponents.queryItems sends it: the `+` stays raw and arrives as a space.
            let raw = try await client.send("GET", "/v1/installers", rawQuery: "pageSize=5&pageToken=\(next)", token: token)
            #expect(raw.status == 400)
            #expect(raw.object?["message"] as? String == "pageToken: invalid page token")
            #expect(raw.header("request-id") != nil)

            let encoded = try await client.send("GET", "/v1/installers",
                                                rawQuery: "pageSize=5&pageToken=" + next.replacingOccurrences(of: "+", with: "%2B"),
                                                token: token)
            #expect(encoded.status == 200)
            #expect((encoded.object?["installers"] as? [Any])?.count == 5)

            // `+` is a space in any value, `%74` a `t`.
            let spaced = try await client.send("GET", "/v1/installers", rawQuery: "usable=+%74rue+", token: token)
            #expect(spaced.status == 400)
            #expect(spaced.object?["message"] as? String == "usable: invalid boolean ' true '")
            #expect(try await client.send("GET", "/v1/installers", rawQuery: "usable=%74rue", token: token).status == 200)
        }
    }

    @Test func aBadEscapeOrASemicolonIs400() async throws {
        try await withSandbox(SandboxConfiguration(prepopulatedInstallers: 3)) { sandbox, _ in
            let url = try #require(await sandbox.url)
            let token = try await SandboxClient(baseURL: url).accessToken()
            for (query, message) in [("pageToken=%zz", #"invalid URL escape "%zz""#),
                                     ("pageSize=5;usable=true", "invalid semicolon separator in query")] {
                let answer = try await RawHTTP.send("GET /v1/installers?\(query) HTTP/1.1\r\nHost: x\r\n"
                    + "Authorization: Bearer \(token)\r\nConnection: close\r\n\r\n", to: url)
                #expect(answer.status == 400, "\(query)")
                #expect(answer.headers["request-id"] != nil)
                let object = try #require(try JSONSerialization.jsonObject(with: answer.body) as? [String: Any])
                #expect(object["code"] as? Int == 3)
                #expect(object["message"] as? String == message)
            }
        }
    }

    @Test func pageTokensHoldPlusSlashAndEquals() async throws {
        try await withSandbox(SandboxConfiguration(prepopulatedInstallers: 31)) { sandbox, client in
            let token = try await client.accessToken()
            var tokens: [String] = [], seen: [String] = [], pageToken = ""
            repeat {
                let answer = try await client.send("GET", "/v1/installers", query: ["pageSize": "10", "pageToken": pageToken],
                                                   token: token)
                #expect(answer.status == 200)
                seen += (answer.object?["installers"] as? [[String: Any]])?.compactMap { $0["uuid"] as? String } ?? []
                pageToken = answer.object?["nextPageToken"] as? String ?? ""
                if !pageToken.isEmpty { tokens.append(pageToken) }
            } while !pageToken.isEmpty && tokens.count < 10
            #expect(tokens.count == 3)
            for token in tokens {
                #expect(token.contains("+") && token.contains("/") && token.hasSuffix("=="), "\(token)")
                #expect(token.count <= 128)
            }
            #expect(seen == (await sandbox.installers()).map(\.uuid))
        }
    }

    @Test func pageTokensAreStandardBase64AndRefuseASpaceForThePlus() throws {
        for (micros, uuid) in [(Int64(0), "a"), (1_767_225_600_123_456, "6bade8d2-797b-496b-b612-494c1ba35fcd"),
                               (-1, "x-y"), (Int64.max, String(repeating: "f", count: 64))] {
            let key = PageKey(createMicros: micros, uuid: uuid)
            let token = key.token
            #expect(token.hasPrefix("+/") && token.hasSuffix("=="), "\(token)")
            #expect(Data(base64Encoded: token) != nil)
            #expect(PageKey(token: token) == key)
            #expect(PageKey(token: token.replacingOccurrences(of: "+", with: " ")) == nil)
        }
        #expect(PageKey(token: Data("no marker here".utf8).base64EncodedString()) == nil)
    }
}

/// One HTTP/1.1 exchange over a plain socket, for requests `URLSession` cannot send (a query
/// with a bad `%` escape is not a URL). Blocking calls run off the Swift concurrency pool, so the
/// in-process sandbox keeps answering.
enum RawHTTP {
    struct Response {
        var status: Int
        var headers: [String: String]
        var body: Data
    }

    static func send(_ request: String, to url: URL) async throws -> Response {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try exchange(request, host: url.host ?? "127.0.0.1", port: url.port ?? 80) })
            }
        }
    }

    struct Failure: Error {
        var step: String
    }

    private static func exchange(_ request: String, host: String, port: Int) throws -> Response {
        #if canImport(Glibc)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw Failure(step: "socket") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else { throw Failure(step: "address") }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw Failure(step: "connect") }
        let bytes = Array(request.utf8)
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { throw Failure(step: "write") }
            sent += n
        }
        var received = Data()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { break }  // the sandbox closes the connection after answering
            received.append(contentsOf: buffer[0..<n])
        }
        guard let split = received.range(of: Data("\r\n\r\n".utf8)) else { throw Failure(step: "answer") }
        let head = String(decoding: received[..<split.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
        let status = Int(head.first?.split(separator: " ").dropFirst().first ?? "") ?? 0
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return Response(status: status, headers: headers, body: received[split.upperBound...])
    }
}
