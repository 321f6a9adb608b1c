import Foundation
import Logging

/// The ESET Connect installer API: OAuth tokens, rate limiting, retries with backoff,
/// the 202/`response-id` retrieval, and decoding. Safe to share between tasks.
///
/// `POST` is never re-sent once it may have reached ESET; only the 202 retrieval repeats
/// it (that is ESET's documented way to collect the answer).
public actor ESETConnectClient {
    let configuration: ESETConnectConfiguration
    let transport: any HTTPTransport
    let clock: ClientClock
    let limiter: RateLimiter
    let logger: Logger
    /// Attempts for a retryable failure (429, 5xx, network) before giving up.
    let maxAttempts: Int
    /// How often to ask again while ESET answers 202.
    let pollInterval: Double
    var token: Token?
    var tokenTask: Task<Token, any Error>?

    struct Token {
        var access: String
        var refresh: String?
        var expiresAt: Double
    }

    public init(configuration: ESETConnectConfiguration, transport: any HTTPTransport = URLSessionTransport(),
                clock: ClientClock = .system, maxAttempts: Int = 6, pollInterval: Double = 2,
                logger: Logger = Logger(label: "eset-connect")) {
        self.configuration = configuration
        self.transport = transport
        self.clock = clock
        self.limiter = RateLimiter(rate: configuration.rateLimit, clock: clock)
        self.maxAttempts = maxAttempts
        self.pollInterval = pollInterval
        self.logger = logger
    }

    // MARK: - Endpoints

    /// Creates an installer. - Throws: `ESETConnectError`; `.uncertain` when it may exist.
    public func createInstaller(_ request: CreateInstallerRequest) async throws -> ReceivedInstaller {
        var w = JSONWriter()
        w.write(request.json)
        // Errors before the POST is answered (a token refused or unreadable, an HTTP error)
        // pass as they are: ESET created nothing.
        let response = try await perform(method: "POST", url: configuration.installersURL, body: w.bytes, isCreate: true)
        do {
            return try decode(response) { try InstallerAnswer.single(from: $0) }
        } catch ESETConnectError.malformedAnswer(let requestId, let message) {
            // ESET accepted the creation but its answer cannot be read: the installer may
            // exist, which is an uncertain outcome (75, pending for sync), not an outage.
            throw ESETConnectError.uncertain(requestId: requestId, message: "the answer cannot be read: \(message)")
        }
    }

    /// Every installer ESET lists, page by page (1000 a page).
    public func listInstallers(usable: Bool? = nil, pageSize: Int = 1000,
                               _ body: (ListInstallersPage) async throws -> Void) async throws {
        var pageToken = ""
        repeat {
            var items = [("pageSize", String(pageSize))]
            if let usable { items.append(("usable", usable ? "true" : "false")) }
            if !pageToken.isEmpty { items.append(("pageToken", pageToken)) }
            let response = try await perform(method: "GET", url: Self.url(configuration.installersURL, query: items),
                                             body: nil, isCreate: false)
            let page = try decode(response) { try InstallerAnswer.listPage(from: $0) }
            try await body(page)
            pageToken = page.nextPageToken
        } while !pageToken.isEmpty
    }

    /// One installer by uuid.
    public func getInstaller(uuid: String) async throws -> ReceivedInstaller {
        let response = try await perform(method: "GET", url: installerURL(uuid), body: nil, isCreate: false)
        return try decode(response) { try InstallerAnswer.single(from: $0) }
    }

    /// Revokes an installer.
    public func deleteInstaller(uuid: String) async throws {
        _ = try await perform(method: "DELETE", url: installerURL(uuid), body: nil, isCreate: false)
    }

    /// Characters a query name or value may hold as they are: RFC 3986's unreserved ones.
    /// Everything else is percent-encoded, `+` above all: ESET's Go gateway reads a raw `+` as
    /// a space, which would break a standard-base64 page token (`URLComponents.queryItems`
    /// leaves `+`, `/` and `=` as they are).
    static let queryValueAllowed = CharacterSet(charactersIn:
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    /// `base` with the query `items`, each name and value percent-encoded strictly.
    static func url(_ base: URL, query items: [(name: String, value: String)]) -> URL {
        var components = URLComponents(url: base, resolvingAgainstBaseURL: false)!
        func escape(_ text: String) -> String {
            text.addingPercentEncoding(withAllowedCharacters: queryValueAllowed) ?? ""
        }
        components.percentEncodedQueryItems = items.map { URLQueryItem(name: escape($0.name), value: escape($0.value)) }
        return components.url!
    }

    func installerURL(_ uuid: String) -> URL {
        let escaped = uuid.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? uuid
        return URL(string: configuration.installersURL.absoluteString + "/" + escaped)!
    }

    func decode<T>(_ response: HTTPResponse, _ body: ([UInt8]) throws -> T) throws -> T {
        do {
            return try body(response.body)
        } catch {
            throw ESETConnectError.malformedAnswer(requestId: response.headers["request-id"], message: "\(error)")
        }
    }

    // MARK: - Sending

    /// Sends one API request with a token, the rate limit, retries and 202 retrieval.
    func perform(method: String, url: URL, body: [UInt8]?, isCreate: Bool) async throws -> HTTPResponse {
        var attempt = 0
        var reauthenticated = false
        var responseId: String?
        var waitingSince: Double?
        while true {
            // The token first: a permit held while waiting for a token could starve the token request.
            let access = try await accessToken()
            let permit = try await limiter.begin()
            var request = HTTPRequest(method: method, url: url, headers: ["Authorization": "Bearer \(access)", "Accept": "application/json"], body: body)
            if body != nil { request.headers["Content-Type"] = "application/json" }
            if let responseId { request.headers["response-id"] = responseId }
            logger.debug("request", metadata: ["method": "\(method)", "path": "\(url.path)", "attempt": "\(attempt + 1)"])
            let response: HTTPResponse
            do {
                response = try await send(request, permit: permit)
            } catch let error as TransportError {
                if isCreate && (error.mayHaveBeenSent || responseId != nil) {
                    throw ESETConnectError.uncertain(requestId: nil, message: "no answer to the creation request: \(error.description)")
                }
                attempt += 1
                guard attempt < maxAttempts else {
                    throw ESETConnectError.unavailable(status: nil, requestId: nil, message: "\(error.description) after \(attempt) attempts")
                }
                try await clock.sleep(backoff(attempt))
                continue
            }
            let requestId = response.headers["request-id"]
            logger.debug("answer", metadata: ["status": "\(response.status)", "request-id": "\(requestId ?? "-")"])
            switch response.status {
            case 202:
                guard let id = response.headers["response-id"] else {
                    let message = "a 202 answer without a response-id header"
                    // ESET took the creation in but gave no way to collect it: it may exist.
                    if isCreate { throw ESETConnectError.uncertain(requestId: requestId, message: message) }
                    throw ESETConnectError.malformedAnswer(requestId: requestId, message: message)
                }
                responseId = id
                let now = clock.now()
                if waitingSince == nil { waitingSince = now }
                if now - waitingSince! > 600 { throw ESETConnectError.answerExpired(requestId: requestId) }
                try await clock.sleep(pollInterval)
            case 200..<300:
                return response
            case 401:
                guard !reauthenticated else {
                    throw ESETConnectError.http(status: 401, requestId: requestId, message: Self.message(in: response))
                }
                reauthenticated = true
                token = nil
            case 404 where responseId != nil:
                throw ESETConnectError.answerExpired(requestId: requestId)
            case 429, 500, 502, 503, 504:
                // A creation that reached ESET's servers (5xx other than maintenance) may
                // have happened: never send it again, let sync find out.
                if isCreate && (response.status == 500 || response.status == 502 || response.status == 504) {
                    throw ESETConnectError.uncertain(requestId: requestId, message: "ESET answered \(response.status): \(Self.message(in: response))")
                }
                if response.status == 504, responseId != nil {
                    // ESET gave up on the pending answer (not ready within 120 s): it is gone,
                    // and the request must be sent again as a new one, without the old
                    // response-id (which would only get 404). Reads and DELETE only: DELETE is
                    // idempotent, and a second one that finds the installer gone gets 404, which
                    // its callers take as "revoked". A creation is uncertain (above).
                    responseId = nil
                    waitingSince = nil
                }
                attempt += 1
                guard attempt < maxAttempts else {
                    throw ESETConnectError.unavailable(status: response.status, requestId: requestId,
                                                       message: "\(Self.message(in: response)) (after \(attempt) attempts)")
                }
                let retryAfter = response.headers["retry-after"].flatMap(Double.init)
                try await clock.sleep(retryAfter.map { min($0, 300) } ?? backoff(attempt))
            default:
                throw ESETConnectError.http(status: response.status, requestId: requestId, message: Self.message(in: response))
            }
        }
    }

    /// Sends one request, releasing its rate-limit permit when the answer (or the failure) arrives.
    func send(_ request: HTTPRequest, permit: Int) async throws -> HTTPResponse {
        do {
            let response = try await transport.send(request)
            await limiter.end(permit)
            return response
        } catch {
            await limiter.end(permit)
            throw error
        }
    }

    /// Exponential backoff with full jitter: 0.5 s, 1 s, 2 s … capped at 30 s.
    func backoff(_ attempt: Int) -> Double {
        let ceiling = min(30, 0.5 * pow(2, Double(attempt - 1)))
        return ceiling / 2 + Double.random(in: 0...(ceiling / 2))
    }

    /// ESET's message from an error body (google.rpc.Status or OAuth JSON), or a short
    /// one-line excerpt of a body that is not JSON.
    static func message(in response: HTTPResponse) -> String {
        if let value = try? JSONParser.parse(response.body), case .object(let o) = value {
            for key in ["message", "error_description", "error"] {
                if case .string(let m)? = o[key], !m.isEmpty { return oneLine(m) }
            }
        }
        let text = String(decoding: response.body.prefix(200), as: UTF8.self)
        return text.isEmpty ? "HTTP \(response.status)" : "HTTP \(response.status): " + oneLine(text)
    }

    static func oneLine(_ s: String) -> String {
        String(s.map { $0.isNewline || $0 == "\t" ? " " : $0 }).trimmingCharacters(in: .whitespaces)
    }

    // MARK: - Tokens

    /// A valid access token: cached, refreshed a minute before expiry (falling back to
    /// the password grant when the refresh is refused), fetched once for concurrent callers.
    func accessToken() async throws -> String {
        if let token, token.expiresAt - 60 > clock.now() { return token.access }
        if let tokenTask { return try await tokenTask.value.access }
        let refresh = token?.refresh
        let task = Task { try await self.fetchToken(refresh: refresh) }
        tokenTask = task
        defer { tokenTask = nil }
        let fresh = try await task.value
        token = fresh
        return fresh.access
    }

    func fetchToken(refresh: String?) async throws -> Token {
        if let refresh {
            do {
                return try await tokenRequest(["grant_type": "refresh_token", "refresh_token": refresh])
            } catch let error as ESETConnectError {
                guard case .http = error else { throw error }
                logger.debug("refresh refused, using the password grant")
            }
        }
        return try await tokenRequest(["grant_type": "password", "username": configuration.username, "password": configuration.password])
    }

    func tokenRequest(_ form: [String: String]) async throws -> Token {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        let body = form.sorted { $0.key < $1.key }
            .map { "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")" }
            .joined(separator: "&")
        let request = HTTPRequest(method: "POST", url: configuration.tokenURL,
                                  headers: ["Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"],
                                  body: Array(body.utf8))
        var attempt = 0
        while true {
            let permit = try await limiter.begin()
            let response: HTTPResponse
            do {
                response = try await send(request, permit: permit)
            } catch let error as TransportError {
                attempt += 1
                guard attempt < maxAttempts else {
                    throw ESETConnectError.unavailable(status: nil, requestId: nil, message: "token service: \(error.description)")
                }
                try await clock.sleep(backoff(attempt))
                continue
            }
            let requestId = response.headers["request-id"]
            switch response.status {
            case 200:
                guard let value = try? JSONParser.parse(response.body), case .object(let o) = value,
                      case .string(let access)? = o["access_token"], !access.isEmpty else {
                    throw ESETConnectError.malformedAnswer(requestId: requestId, message: "the token answer holds no access_token")
                }
                var refresh: String?
                if case .string(let r)? = o["refresh_token"], !r.isEmpty { refresh = r }
                var lifetime = 3600.0
                if case .number(let n)? = o["expires_in"], let d = Double(n) { lifetime = d }
                return Token(access: access, refresh: refresh, expiresAt: clock.now() + lifetime)
            case 400, 401:
                throw ESETConnectError.http(status: 401, requestId: requestId, message: "token service: \(Self.message(in: response))")
            case 429, 500, 502, 503, 504:
                attempt += 1
                guard attempt < maxAttempts else {
                    throw ESETConnectError.unavailable(status: response.status, requestId: requestId, message: "token service: \(Self.message(in: response))")
                }
                let retryAfter = response.headers["retry-after"].flatMap(Double.init)
                try await clock.sleep(retryAfter.map { min($0, 300) } ?? backoff(attempt))
            default:
                throw ESETConnectError.http(status: response.status, requestId: requestId, message: "token service: \(Self.message(in: response))")
            }
        }
    }
}
