import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
@testable import ESETConnectSandbox
import Testing

/// An HTTP answer as a test sees it.
struct Answer {
    var status: Int
    var response: HTTPURLResponse
    var body: Data

    func header(_ name: String) -> String? { response.value(forHTTPHeaderField: name) }

    /// The body as a JSON object; `nil` when it is not one.
    var object: [String: Any]? { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] }

    var installer: [String: Any]? { object?["installer"] as? [String: Any] }
}

/// A URLSession client of one running sandbox.
struct SandboxClient {
    let baseURL: URL
    let session: URLSession

    init(baseURL: URL) {
        self.baseURL = baseURL
        let configuration = URLSessionConfiguration.ephemeral
        // An in-process sandbox answers when the test process's cooperative threads get to
        // it, and the suites' synchronous work can hold all of them for a minute on a loaded
        // 2-core machine: wait as long as a test may take, never a production timeout.
        configuration.timeoutIntervalForRequest = 600
        configuration.timeoutIntervalForResource = 1200
        self.session = URLSession(configuration: configuration)
    }

    /// Sends a request. `query` is percent-encoded strictly (`+`, `/`, `=` and `&` too, which
    /// `URLComponents.queryItems` would leave as they are); `rawQuery` is sent exactly as given.
    func send(
        _ method: String, _ path: String, query: [String: String] = [:], rawQuery: String? = nil, token: String? = nil,
        headers: [String: String] = [:], json: Any? = nil, body: Data? = nil, contentType: String? = nil
    ) async throws -> Answer {
        var components = URLComponents(url: baseURL.appendingPathComponent(path), resolvingAgainstBaseURL: false)!
        if !query.isEmpty {
            components.percentEncodedQueryItems = query.sorted { $0.key < $1.key }.map {
                URLQueryItem(name: strictlyEncoded($0.key), value: strictlyEncoded($0.value))
            }
        }
        if let rawQuery { components.percentEncodedQuery = rawQuery }
        var request = URLRequest(url: components.url!)
        request.httpMethod = method
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        if let json {
            request.httpBody = try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys])
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        if let body { request.httpBody = body }
        if let contentType { request.setValue(contentType, forHTTPHeaderField: "Content-Type") }
        let (data, response) = try await session.data(for: request)
        let http = response as! HTTPURLResponse
        return Answer(status: http.statusCode, response: http, body: data)
    }

    func passwordGrant(password: String = "sandbox") async throws -> Answer {
        try await send("POST", "/oauth/token", body: Data("grant_type=password&username=admin%40example.com&password=\(password)".utf8),
                       contentType: "application/x-www-form-urlencoded")
    }

    func accessToken() async throws -> String {
        let answer = try await passwordGrant()
        return answer.object?["access_token"] as? String ?? ""
    }

    func create(_ installer: [String: Any], components: [Any]? = nil, token: String,
                headers: [String: String] = [:]) async throws -> Answer {
        var body: [String: Any] = ["installer": installer]
        if let components { body["requestedComponentIds"] = components }
        return try await send("POST", "/v1/installers", token: token, headers: headers, json: body)
    }
}

/// `text` with everything but RFC 3986's unreserved characters percent-encoded.
func strictlyEncoded(_ text: String) -> String {
    text.addingPercentEncoding(withAllowedCharacters: CharacterSet(
        charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")) ?? text
}

/// A Windows installer create body.
func windowsInstaller(_ name: String = "Vienna Office – Windows", group: String? = SandboxCatalog.deviceGroups[5].uuid)
    -> [String: Any]
{
    var installer: [String: Any] = [
        "displayName": name, "operatingSystemFamilyId": 1, "preferredLanguageCode": "de-de",
        "enableCloudScannerFeedback": true, "enablePuaDetection": true, "sendAnonymousDiagnosticData": false,
    ]
    if let group { installer["deviceEnrollment"] = ["securityGroupUuid": group] }
    return installer
}

/// Starts a sandbox, runs `body` with it and a client, and stops it whatever happens.
func withSandbox<T>(
    _ configuration: SandboxConfiguration = SandboxConfiguration(),
    _ body: (SandboxServer, SandboxClient) async throws -> T
) async throws -> T {
    let sandbox = SandboxServer(configuration: configuration)
    let url = try await sandbox.start()
    do {
        let result = try await body(sandbox, SandboxClient(baseURL: url))
        await sandbox.stop()
        return result
    } catch {
        await sandbox.stop()
        throw error
    }
}

/// Parses an RFC 3339 timestamp with or without fractional seconds.
func parseTimestamp(_ text: String) -> Date? {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    if let date = formatter.date(from: text) { return date }
    formatter.formatOptions = [.withInternetDateTime]
    return formatter.date(from: text)
}

// MARK: - Tenants

extension SandboxClient {
    /// The answer of a password grant for `username`.
    func passwordGrant(username: String, password: String = "sandbox") async throws -> Answer {
        let form = "grant_type=password&username=\(formEncoded(username))&password=\(formEncoded(password))"
        return try await send("POST", "/oauth/token", body: Data(form.utf8), contentType: "application/x-www-form-urlencoded")
    }

    /// An access token of `username`.
    func accessToken(username: String) async throws -> String {
        let answer = try await passwordGrant(username: username)
        return try #require(answer.object?["access_token"] as? String, "no token for \(username): \(answer.status)")
    }

    /// Every installer `token` lists (one page of up to 1000) and the `totalSize` answered.
    func listAll(token: String) async throws -> (installers: [[String: Any]], totalSize: Int) {
        let answer = try await send("GET", "/v1/installers", query: ["pageSize": "1000"], token: token)
        let object = try #require(answer.object, "list answered \(answer.status)")
        let installers = try #require(object["installers"] as? [[String: Any]])
        return (installers, Int(object["totalSize"] as? String ?? "") ?? -1)
    }

    private func formEncoded(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}

/// The built `eset-connect-sandbox`, next to the test bundle in the build folder.
func sandboxBinary() throws -> URL {
    var folder = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    for _ in 0..<4 {
        let candidate = folder.appendingPathComponent("eset-connect-sandbox")
        if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        folder.deleteLastPathComponent()
    }
    return try #require(nil as URL?, "eset-connect-sandbox not built next to \(CommandLine.arguments[0])")
}

/// Starts the built binary with `arguments` and reads its first line of stdout (empty when it
/// closed stdout without one). The caller stops the process.
func launchSandboxBinary(_ arguments: [String]) throws -> (process: Process, firstLine: String) {
    let process = Process()
    process.executableURL = try sandboxBinary()
    process.arguments = arguments
    let stdout = Pipe()
    process.standardOutput = stdout
    process.standardError = FileHandle.nullDevice
    try process.run()
    var line = Data()
    while !line.contains(UInt8(ascii: "\n")) {
        let chunk = stdout.fileHandleForReading.availableData
        if chunk.isEmpty { break }
        line.append(chunk)
    }
    return (process, String(decoding: line, as: UTF8.self).split(separator: "\n").first.map(String.init) ?? "")
}

/// Runs the built binary with `arguments` to its end; its exit status and stderr.
func runSandboxBinary(_ arguments: [String]) throws -> (status: Int32, stderr: String) {
    let process = Process()
    process.executableURL = try sandboxBinary()
    process.arguments = arguments
    let stderr = Pipe()
    process.standardOutput = FileHandle.nullDevice
    process.standardError = stderr
    try process.run()
    let message = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return (process.terminationStatus, message)
}
