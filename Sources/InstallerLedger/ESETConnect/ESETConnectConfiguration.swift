import Foundation

/// Where ESET Connect is and who the ledger is there.
public struct ESETConnectConfiguration: Sendable {
    /// ESET's regions.
    public static let regions = ["eu", "de", "us", "jpn", "ca"]

    public var tokenURL: URL
    public var installersURL: URL
    public var username: String
    public var password: String
    /// Requests per second the client allows itself (ESET: 10).
    public var rateLimit: Double

    /// Endpoints of an ESET region: `https://{region}.installer-management.eset.systems` and
    /// `https://{region}.business-account.iam.eset.systems/oauth/token`.
    /// - Throws: `ESETConnectError.configuration` for an unknown region.
    public init(region: String, username: String, password: String, rateLimit: Double = 10) throws {
        guard Self.regions.contains(region) else {
            throw ESETConnectError.configuration("unknown region '\(region)': use one of \(Self.regions.joined(separator: ", "))")
        }
        self.tokenURL = URL(string: "https://\(region).business-account.iam.eset.systems/oauth/token")!
        self.installersURL = URL(string: "https://\(region).installer-management.eset.systems/v1/installers")!
        self.username = username
        self.password = password
        self.rateLimit = rateLimit
    }

    /// One base URL serving both `/oauth/token` and `/v1/...` (a sandbox or a proxy). Only
    /// `https` is accepted, unless the host is a loopback address.
    /// - Throws: `ESETConnectError.configuration`.
    public init(apiURL: String, username: String, password: String, rateLimit: Double = 10) throws {
        guard let url = URL(string: apiURL), let scheme = url.scheme?.lowercased(), let host = url.host, !host.isEmpty else {
            throw ESETConnectError.configuration("'\(apiURL)' is not a URL: use e.g. https://proxy.example.com or http://127.0.0.1:8080")
        }
        guard scheme == "https" || (scheme == "http" && Self.isLoopback(host)) else {
            throw ESETConnectError.configuration("refusing \(scheme)://\(host): only https is allowed, except for a loopback host (127.0.0.1, ::1, localhost)")
        }
        var base = apiURL
        while base.hasSuffix("/") { base.removeLast() }
        self.tokenURL = URL(string: base + "/oauth/token")!
        self.installersURL = URL(string: base + "/v1/installers")!
        self.username = username
        self.password = password
        self.rateLimit = rateLimit
    }

    /// Whether a host name is a loopback address.
    public static func isLoopback(_ host: String) -> Bool {
        let h = host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        if h == "localhost" || h == "::1" { return true }
        let parts = h.split(separator: ".")
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
    }

    /// Reads a password from a file that only its owner may read.
    /// - Throws: `ESETConnectError.configuration` when the file is group- or world-readable.
    public static func readPasswordFile(_ path: String) throws -> String {
        var st = stat()
        guard stat(path, &st) == 0 else {
            throw ESETConnectError.configuration("cannot read the password file \(path): \(String(cString: strerror(errno)))")
        }
        guard st.st_mode & 0o077 == 0 else {
            throw ESETConnectError.configuration("the password file \(path) is readable by group or others (mode \(String(st.st_mode & 0o777, radix: 8))); run chmod 600 \(path)")
        }
        guard let data = FileManager.default.contents(atPath: path), var text = String(data: data, encoding: .utf8) else {
            throw ESETConnectError.configuration("cannot read the password file \(path)")
        }
        while text.hasSuffix("\n") || text.hasSuffix("\r") { text.removeLast() }
        return text
    }
}
