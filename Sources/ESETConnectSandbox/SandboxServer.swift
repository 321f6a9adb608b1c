import FlyingFox
import FlyingSocks
import Foundation
import Synchronization

/// A local simulator of ESET Connect's token endpoint and installer endpoints over real HTTP
/// on loopback, with knobs that inject latency, 202s, rate limits, failures and dropped
/// connections, and a clock that can be moved forward.
///
/// With ``SandboxConfiguration/tenants`` each username is a company of its own: its tokens
/// list, get, delete and create only that company's installers.
///
/// ```swift
/// let sandbox = SandboxServer(configuration: SandboxConfiguration(prepopulatedInstallers: 20))
/// let baseURL = try await sandbox.start()   // serves /oauth/token and /v1/... and /_sandbox/...
/// defer { Task { await sandbox.stop() } }
/// ```
public actor SandboxServer {
    /// The configuration the server was made with.
    public nonisolated let configuration: SandboxConfiguration

    /// The knobs in effect; change them with ``setKnobs(_:)``.
    public internal(set) var knobs: SandboxKnobs

    var clockOffset: TimeInterval = 0
    var directory: CompanyDirectory
    var tokens = TokenRegistry()
    var accepted = AcceptedAnswers()
    var rateWindow = RateWindow()
    /// When each request arrives for the rate limit; tests freeze it (see ``setRateClock(_:)``).
    var rateClock: @Sendable () -> ContinuousClock.Instant = { .now }
    var log: [RecordedRequest] = []
    var random = SystemRandomNumberGenerator()

    private var http: HTTPServer?
    private var runTask: Task<Void, Never>?
    private var baseURL: URL?

    /// Makes a server and generates its companies and their pre-populated installers; it listens
    /// after ``start()``. A tenant listed twice keeps its first entry (``start()`` refuses the list).
    public init(configuration: SandboxConfiguration = SandboxConfiguration()) {
        self.configuration = configuration
        self.knobs = configuration.knobs
        self.directory = CompanyDirectory(configuration: configuration, nowMicros: SandboxTime.micros(Date()))
    }

    /// Replaces the clock the 429 rate window reads, so a test can put every request in one
    /// window however slowly a loaded machine delivers them.
    public func setRateClock(_ clock: @escaping @Sendable () -> ContinuousClock.Instant) {
        rateClock = clock
    }

    // MARK: - Lifecycle

    /// Starts listening and returns the base URL (`http://127.0.0.1:PORT`) that serves
    /// `/oauth/token`, `/v1/...` and the control endpoints under `/_sandbox/`.
    /// - Throws: ``SandboxError`` when the host is not loopback, the port cannot be bound, or a
    ///   tenant has no username or is listed twice.
    @discardableResult
    public func start() async throws -> URL {
        guard http == nil else { throw SandboxError.alreadyStarted }
        try SandboxTenant.validate(configuration.tenants)
        let address = try Self.loopbackAddress(host: configuration.host, port: configuration.port)
        let handler = SandboxHTTPHandler(sandbox: self)
        let server = HTTPServer(
            config: HTTPServer.Configuration(address: address, timeout: 600, logger: .disabled),
            handler: handler)
        // FlyingFox routes only the methods it knows (GET, POST, PUT, DELETE, PATCH, HEAD,
        // OPTIONS, CONNECT, TRACE) to a handler and answers any other one itself with an empty
        // 404 without `request-id`. Routing the other registered methods here too lets the
        // sandbox answer them as it answers PUT (405 with Allow, or 404; see `route(_:company:)`).
        await server.appendRoute(HTTPRoute(methods: Set(Self.otherMethods.map { HTTPMethod($0) }), path: "*"), to: handler)
        let failure = Mutex<(any Error)?>(nil)
        let task = Task {
            do { try await server.run() } catch { failure.withLock { $0 = error } }
        }
        // Wait until listening, or until run() fails (e.g. the port is taken).
        while await !server.isListening {
            if let error = failure.withLock({ $0 }) {
                throw SandboxError.cannotListen(String(describing: error))
            }
            try await Task.sleep(for: .milliseconds(1))
        }
        guard let url = Self.url(of: await server.listeningAddress) else {
            await server.stop()
            throw SandboxError.cannotListen("no listening address")
        }
        http = server
        runTask = task
        baseURL = url
        return url
    }

    /// Stops listening and closes every connection.
    public func stop() async {
        guard let http else { return }
        self.http = nil
        await http.stop(timeout: 0)
        runTask?.cancel()
        await runTask?.value
        runTask = nil
        baseURL = nil
    }

    /// The base URL while running, else `nil`.
    public var url: URL? { baseURL }

    // MARK: - Knobs, clock, tokens

    /// Replaces the knobs; takes effect with the next request.
    public func setKnobs(_ knobs: SandboxKnobs) {
        self.knobs = knobs
    }

    /// Now by the sandbox clock: real time plus every ``advanceClock(by:)``.
    public func now() -> Date {
        Date().addingTimeInterval(clockOffset)
    }

    /// Moves the sandbox clock (creation times, expiry, `usable`, token lifetimes) by `seconds`.
    public func advanceClock(by seconds: TimeInterval) {
        clockOffset += seconds
    }

    /// Invalidates every access and refresh token, as if they had expired: the next API call gets 401.
    public func revokeAllTokens() {
        tokens.revokeAll()
    }

    // MARK: - Inspection

    /// The installers the sandbox holds, ordered by creation time, unlisted ones included;
    /// deleted ones only when asked. `tenant` (any case) gives the installers of the company that
    /// username logs in to (none for a username not seen yet); `nil` those of every company.
    public func installers(tenant: String? = nil, includeDeleted: Bool = false) -> [SandboxInstaller] {
        let now = nowMicros
        func snapshots(of company: Company) -> [SandboxInstaller] {
            company.store.records.lazy.filter { includeDeleted || !$0.deleted }
                .map { $0.snapshot(atMicros: now, catalog: company.catalog, tenant: company.username) }
        }
        if let tenant {
            return directory.index(of: tenant).map { snapshots(of: directory[$0]) } ?? []
        }
        let all = directory.companies.flatMap(snapshots(of:))
        guard directory.companies.count > 1 else { return all }
        return all.sorted { ($0.createTime, $0.uuid) < ($1.createTime, $1.uuid) }
    }

    /// One installer by uuid, in whichever company holds it, deleted, unlisted or not.
    public func installer(uuid: String) -> SandboxInstaller? {
        let uuid = uuid.lowercased()
        guard let index = directory.index(ofInstaller: uuid) else { return nil }
        let company = directory[index]
        return company.store.record(uuid: uuid)?.snapshot(atMicros: nowMicros, catalog: company.catalog,
                                                          tenant: company.username)
    }

    /// Makes ESET stop listing an installer (`false`) or list it again (`true`), in whichever
    /// company holds it. An unlisted installer is neither listed by `GET /v1/installers` nor found
    /// by `GET` or `DELETE /v1/installers/{uuid}` (404), as if ESET had lost it; listed again, it
    /// is back unchanged. Returns `false` when no company holds `uuid`.
    @discardableResult
    public func setListed(uuid: String, _ listed: Bool) -> Bool {
        directory.setListed(uuid: uuid.lowercased(), listed)
    }

    /// The companies: the one shared company without tenants, else every tenant's (listed ones
    /// in configuration order, then those created at first login).
    public func companies() -> [SandboxCompany] {
        directory.companies.map {
            SandboxCompany(username: $0.username, installers: $0.store.records.count(where: { !$0.deleted }),
                           catalog: $0.catalog)
        }
    }

    /// The device groups and licences of the company `tenant` logs in to (any case), or would get at
    /// its first login; ``SandboxCatalog/standard`` without tenants.
    public func catalog(tenant: String) -> SandboxCompanyCatalog {
        directory.catalog(of: tenant)
    }

    /// Every request received on the token endpoint and under `/v1/`, in arrival order.
    public func requestLog() -> [RecordedRequest] {
        log
    }

    /// Forgets the request log.
    public func clearRequestLog() {
        log.removeAll()
    }

    var nowMicros: Int64 { SandboxTime.micros(now()) }

    /// Methods beyond FlyingFox's own that reach the sandbox's routes: those of the IANA HTTP
    /// Method Registry (WebDAV, versioning, QUERY, ...) and the jokes of RFC 2324/7168 that
    /// fuzzers like to send. A token outside this list still gets FlyingFox's empty 404.
    static let otherMethods = [
        "ACL", "BASELINE-CONTROL", "BIND", "CHECKIN", "CHECKOUT", "COPY", "LABEL", "LINK", "LOCK", "MERGE",
        "MKACTIVITY", "MKCALENDAR", "MKCOL", "MKREDIRECTREF", "MKWORKSPACE", "MOVE", "ORDERPATCH", "PROPFIND",
        "PROPPATCH", "QUERY", "REBIND", "REPORT", "SEARCH", "UNBIND", "UNCHECKOUT", "UNLINK", "UNLOCK", "UPDATE",
        "UPDATEREDIRECTREF", "VERSION-CONTROL",
        "PURGE", "M-SEARCH", "NOTIFY", "SUBSCRIBE", "UNSUBSCRIBE", "BREW", "WHEN",
    ]

    // MARK: - Addresses

    static func loopbackAddress(host: String, port: UInt16) throws -> any SocketAddress {
        switch host.lowercased() {
        case "localhost":
            return try sockaddr_in.inet(ip4: "127.0.0.1", port: port)
        case "::1", "[::1]":
            return try sockaddr_in6.inet6(ip6: "::1", port: port)
        case let ip4 where ip4.hasPrefix("127.") && ip4.split(separator: ".").count == 4:
            guard let address = try? sockaddr_in.inet(ip4: ip4, port: port) else {
                throw SandboxError.nonLoopbackHost(host)
            }
            return address
        default:
            throw SandboxError.nonLoopbackHost(host)
        }
    }

    private static func url(of address: Socket.Address?) -> URL? {
        switch address {
        case let .ip4(ip, port: port): return URL(string: "http://\(ip):\(port)")
        case let .ip6(ip, port: port): return URL(string: "http://[\(ip)]:\(port)")
        default: return nil
        }
    }
}

// MARK: - HTTP glue

/// Hands FlyingFox requests to the sandbox and turns its replies into HTTP responses.
private struct SandboxHTTPHandler: HTTPHandler {
    let sandbox: SandboxServer

    func handleRequest(_ request: HTTPRequest) async throws -> HTTPResponse {
        let receivedAt = Date()
        var headers: [String: String] = [:]
        for (name, value) in request.headers { headers[name.rawValue.lowercased()] = value }
        // From the raw query, as a Go gateway decodes it (FlyingFox's items keep `+` as `+`).
        let rawQuery = request.target.query()
        let decoded = QueryString.parse(rawQuery)
        var query: [String: String] = [:]
        for item in decoded.values where query[item.name] == nil { query[item.name] = item.value }
        let incoming = IncomingRequest(
            method: request.method.rawValue, path: request.path, rawQuery: rawQuery,
            query: query, queryError: decoded.error, headers: headers, body: try await request.bodyData,
            receivedAt: receivedAt)

        let (reply, latency) = await sandbox.process(incoming)
        if latency > 0 { try await Task.sleep(for: .milliseconds(latency)) }
        if reply.dropped { return HTTPResponse(webSocket: ConnectionDrop()) }

        var responseHeaders = HTTPHeaders()
        for (name, value) in reply.headers { responseHeaders.addValue(value, for: HTTPHeader(name)) }
        if !sandbox.configuration.keepAlive { responseHeaders[.connection] = "close" }
        return HTTPResponse(
            statusCode: HTTPStatusCode(reply.status, phrase: ErrorBody.reasonPhrase(reply.status)),
            headers: responseHeaders,
            body: HTTPBodySequence(data: reply.body, suggestedBufferSize: max(4096, reply.body.count)))
    }
}

/// Closes the connection without writing a byte.
///
/// FlyingFox answers a handler's error with a 500, so a handler cannot drop a connection by
/// throwing. A WebSocket payload is different: FlyingFox asks the `WSHandler` for its frames
/// *before* it writes the `101` status line, and when that throws it closes the socket
/// unanswered. This handler always throws.
private struct ConnectionDrop: WSHandler {
    struct Dropped: Error {}

    func makeFrames(for client: AsyncThrowingStream<WSFrame, any Error>) async throws -> AsyncStream<WSFrame> {
        throw Dropped()
    }
}
