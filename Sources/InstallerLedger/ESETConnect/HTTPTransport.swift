import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// An HTTP request as the client sends it.
public struct HTTPRequest: Sendable, Equatable {
    public var method: String
    public var url: URL
    /// Header names as sent.
    public var headers: [String: String]
    public var body: [UInt8]?

    public init(method: String, url: URL, headers: [String: String] = [:], body: [UInt8]? = nil) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }
}

/// An HTTP answer; header names lower-cased.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [String: String]
    public var body: [UInt8]

    public init(status: Int, headers: [String: String] = [:], body: [UInt8] = []) {
        self.status = status
        self.headers = Dictionary(headers.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { a, _ in a })
        self.body = body
    }
}

/// Why no answer came back, and whether the request may have reached the server.
public struct TransportError: Error, Sendable, CustomStringConvertible {
    /// False when the request certainly never left (no connection could be made).
    public var mayHaveBeenSent: Bool
    public var description: String

    public init(mayHaveBeenSent: Bool, description: String) {
        self.mayHaveBeenSent = mayHaveBeenSent
        self.description = description
    }
}

/// Sends HTTP requests; URLSession in production, anything in tests.
public protocol HTTPTransport: Sendable {
    /// - Throws: `TransportError` when no answer arrived.
    func send(_ request: HTTPRequest) async throws -> HTTPResponse
}

/// The production transport over URLSession (FoundationNetworking on Linux).
///
/// POSTs go over a session of their own with `Connection: close`: libcurl silently re-sends
/// a request when a *reused* connection dies without an answer, and a creation must never
/// be sent twice. A fresh connection per POST is never reused, so never re-sent.
public final class URLSessionTransport: HTTPTransport {
    let session: URLSession
    let postSession: URLSession

    /// - Parameter timeout: seconds without progress before a request fails.
    public init(timeout: TimeInterval = 150) {
        let config = URLSessionConfiguration.ephemeral
        config.timeoutIntervalForRequest = timeout
        config.timeoutIntervalForResource = timeout * 2
        config.httpCookieStorage = nil
        config.urlCache = nil
        config.requestCachePolicy = .reloadIgnoringLocalCacheData
        session = URLSession(configuration: config)
        postSession = URLSession(configuration: config)
    }

    public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        var r = URLRequest(url: request.url)
        r.httpMethod = request.method
        for (k, v) in request.headers { r.setValue(v, forHTTPHeaderField: k) }
        if let body = request.body { r.httpBody = Data(body) }
        let isPost = request.method == "POST"
        if isPost { r.setValue("close", forHTTPHeaderField: "Connection") }
        do {
            let (data, response) = try await (isPost ? postSession : session).data(for: r)
            guard let http = response as? HTTPURLResponse else {
                throw TransportError(mayHaveBeenSent: true, description: "the answer was not HTTP")
            }
            var headers = [String: String]()
            for (k, v) in http.allHeaderFields {
                if let k = k as? String, let v = v as? String { headers[k] = v }
            }
            return HTTPResponse(status: http.statusCode, headers: headers, body: [UInt8](data))
        } catch let error as URLError {
            let notSent: Set<URLError.Code> = [.cannotConnectToHost, .cannotFindHost, .dnsLookupFailed, .notConnectedToInternet,
                                               .badURL, .unsupportedURL, .secureConnectionFailed, .serverCertificateUntrusted]
            throw TransportError(mayHaveBeenSent: !notSent.contains(error.code),
                                 description: "\(error.localizedDescription) (\(error.code.rawValue))")
        } catch let error as TransportError {
            throw error
        } catch {
            throw TransportError(mayHaveBeenSent: true, description: error.localizedDescription)
        }
    }
}
