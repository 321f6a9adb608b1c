import Foundation

// MARK: - Dispatch

extension SandboxServer {
    /// Answers one request; returns the reply and the latency (milliseconds) to wait before sending it.
    func process(_ request: IncomingRequest) -> (SandboxReply, latencyMilliseconds: Int) {
        let requestID = UUID().uuidString.lowercased()
        if request.path == "/_sandbox" || request.path.hasPrefix("/_sandbox/") {
            var reply = control(request)
            reply.headers.append(("request-id", requestID))
            return (reply, 0)
        }
        // Before acting: a refresh consumes the token that names the tenant.
        let tenant = requester(of: request)
        var reply = api(request)
        reply.headers.append(("request-id", requestID))
        log.append(RecordedRequest(
            method: request.method, path: request.path, query: request.rawQuery,
            status: reply.dropped ? nil : reply.status, receivedAt: request.receivedAt,
            requestID: requestID, responseID: request.header("response-id"), tenant: tenant))
        return (reply, max(0, knobs.latencyMilliseconds))
    }

    /// The token endpoint and `/v1/...`, with the knobs applied in the order a real failure would
    /// happen: rate limit, lost request, failing gateway, authentication, work, lost answer.
    private func api(_ request: IncomingRequest) -> SandboxReply {
        guard rateWindow.admit(limit: knobs.rateLimitPerSecond, at: rateClock()) else {
            var reply = apiError(429, "rate limit exceeded: at most \(knobs.rateLimitPerSecond ?? 0) requests per second")
            if let seconds = knobs.retryAfterSeconds { reply.headers.append(("Retry-After", String(seconds))) }
            return reply
        }
        if request.path == "/oauth/token" { return token(request) }
        guard request.path.hasPrefix("/v1/") else { return apiError(404, "no such endpoint: \(request.path)") }

        if knobs.dropNextBeforeProcessing > 0 {
            knobs.dropNextBeforeProcessing -= 1
            return .drop
        }
        if !knobs.failNext.isEmpty {
            let status = knobs.failNext.removeFirst()
            return apiError(status, "injected failure (sandbox knob failNext)")
        }
        guard let owner = bearerOwner(request) else {
            var reply = apiError(401, "token has expired or is invalid")
            reply.headers.append(("WWW-Authenticate", "Bearer"))
            return reply
        }

        var reply: SandboxReply
        if let responseID = request.header("response-id") {
            if !knobs.failNextCollection.isEmpty {
                return failCollection(responseID, status: knobs.failNextCollection.removeFirst(), company: owner.company)
            }
            reply = collect(responseID, request, company: owner.company)
        } else {
            reply = route(request, company: owner.company)
            if knobs.accepted202Count > 0, reply.isSuccess {
                let id = accepted.keep(reply, for: request, company: owner.company, required: knobs.accepted202Count,
                                       nowMicros: nowMicros)
                reply = SandboxReply(status: 202, headers: [("response-id", id)])
            }
        }
        if reply.isSuccess, knobs.dropNextAfterProcessing > 0 {
            knobs.dropNextAfterProcessing -= 1
            return .drop
        }
        if reply.status == 200, knobs.malformedNext > 0 {
            knobs.malformedNext -= 1
            reply.body = reply.body.prefix(max(1, reply.body.count / 2))
        }
        return reply
    }

    /// A `/v1/` request of an authorised caller, acting on the caller's company only.
    private func route(_ request: IncomingRequest, company: Int) -> SandboxReply {
        let path = request.path
        // Any method a path does not serve, a known one (PUT) or not (PROPFIND, BREW), is
        // answered as grpc-gateway's ServeMux answers it: it looks the path up under the other
        // methods; when one serves it, the answer is 405 "Method Not Allowed" with gRPC code 12
        // (UNIMPLEMENTED), else 404 with code 5 (NOT_FOUND), both google.rpc.Status bodies with
        // a request-id like every other error. The sandbox adds the `Allow` header RFC 9110
        // requires of a 405. (Older grpc-gateway releases send that 405 as HTTP 501.)
        guard let allowed = Self.allowedMethods(path) else { return apiError(404, "no such endpoint: \(path)") }
        guard allowed.contains(request.method) else { return methodNotAllowed(request, allowed: allowed) }
        switch (path, request.method) {
        case ("/v1/installers", "GET"): return listInstallers(request, company: company)
        case ("/v1/installers", "POST"): return createInstaller(request, company: company)
        case ("/v1/gpo-sccm-files:generate", _):
            return apiError(501, "GPO/SCCM file generation is not simulated by the sandbox")
        default:
            let uuid = String(path.dropFirst("/v1/installers/".count))
            guard uuid.count <= 100 else { return apiError(400, "installerUuid: must be at most 100 characters") }
            return request.method == "GET" ? getInstaller(uuid, company: company) : deleteInstaller(uuid, company: company)
        }
    }

    /// The methods an API path serves, in the order an `Allow` header lists them; `nil` when no
    /// endpoint has that path.
    static func allowedMethods(_ path: String) -> [String]? {
        switch path {
        case "/oauth/token": return ["POST"]
        case "/v1/installers": return ["GET", "POST"]
        case "/v1/gpo-sccm-files:generate": return ["POST"]
        default:
            guard path.hasPrefix("/v1/installers/") else { return nil }
            let uuid = path.dropFirst("/v1/installers/".count)
            return uuid.isEmpty || uuid.contains("/") ? nil : ["GET", "DELETE"]
        }
    }

    /// 405 with the `Allow` header listing what `path` serves.
    private func methodNotAllowed(_ request: IncomingRequest, allowed: [String]) -> SandboxReply {
        let list = allowed.joined(separator: ", ")
        var reply = apiError(405, "method \(request.method) not allowed on \(request.path); allowed: \(list)")
        reply.headers.append(("Allow", list))
        return reply
    }

    /// The knob `failNextCollection`: a collection answered `status` without collecting. A 504 is
    /// ESET's "not ready within 120 s": the pending answer is gone and the request must be sent
    /// again without `response-id` (collecting it again gives 404); other statuses keep it.
    private func failCollection(_ responseID: String, status: Int, company: Int) -> SandboxReply {
        if status == 504 {
            accepted.forget(responseID, company: company)
            return apiError(504, "injected failure (sandbox knob failNextCollection): the answer was not ready in time; "
                + "send the request again without response-id")
        }
        return apiError(status, "injected failure (sandbox knob failNextCollection)")
    }

    private func collect(_ responseID: String, _ request: IncomingRequest, company: Int) -> SandboxReply {
        switch accepted.collect(responseID, for: request, company: company, nowMicros: nowMicros) {
        case .stillPending:
            return SandboxReply(status: 202, headers: [("response-id", responseID)])
        case .ready(let reply):
            return reply
        case .unknown:
            return apiError(404, "no pending answer for this response-id (unknown, already collected or expired)")
        case .mismatch:
            return apiError(404, "response-id belongs to another request: method, path, query and body must be identical")
        }
    }

    func apiError(_ status: Int, _ message: String) -> SandboxReply {
        ErrorBody.status(status, message, html: knobs.nonJSONErrorBodies)
    }

    /// The owner of the request's valid bearer token; `nil` when it has none.
    private func bearerOwner(_ request: IncomingRequest) -> TokenOwner? {
        guard let value = request.header("authorization") else { return nil }
        let parts = value.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        return tokens.owner(access: String(parts[1]).trimmingCharacters(in: .whitespaces), nowMicros: nowMicros)
    }

    /// Whose valid credentials a request carries, for the request log; it changes nothing, and
    /// it names the tenant even when a knob answers before the credentials are checked.
    private func requester(of request: IncomingRequest) -> String? {
        guard request.path == "/oauth/token" else { return bearerOwner(request)?.username }
        guard request.method == "POST",
              request.header("content-type")?.lowercased().hasPrefix("application/x-www-form-urlencoded") == true
        else { return nil }
        let form = Self.formFields(request.body)
        switch form["grant_type"] {
        case "password":
            guard let username = form["username"], !username.isEmpty, form["password"] == configuration.password
            else { return nil }
            return directory.name(of: username)
        case "refresh_token":
            return form["refresh_token"].flatMap { tokens.owner(refresh: $0, nowMicros: nowMicros) }?.username
        default:
            return nil
        }
    }
}

// MARK: - Token endpoint

extension SandboxServer {
    private func token(_ request: IncomingRequest) -> SandboxReply {
        guard request.method == "POST" else {
            var reply = ErrorBody.oauth(405, "invalid_request", "the token endpoint accepts POST only")
            reply.headers.append(("Allow", "POST"))
            return reply
        }
        let contentType = request.header("content-type")?.lowercased() ?? ""
        guard contentType.hasPrefix("application/x-www-form-urlencoded") else {
            return ErrorBody.oauth(415, "invalid_request", "Content-Type must be application/x-www-form-urlencoded")
        }
        let form = Self.formFields(request.body)
        let owner: TokenOwner
        switch form["grant_type"] {
        case "password":
            guard let username = form["username"], !username.isEmpty, let password = form["password"] else {
                return ErrorBody.oauth(400, "invalid_request", "username and password are required")
            }
            guard password == configuration.password else {
                return ErrorBody.oauth(400, "invalid_grant", "invalid username or password")
            }
            // With tenants, a username not listed gets a new empty company of its own.
            owner = TokenOwner(company: directory.admit(username), username: directory.name(of: username))
        case "refresh_token":
            guard let refresh = form["refresh_token"], let previous = tokens.redeem(refresh: refresh, nowMicros: nowMicros)
            else {
                return ErrorBody.oauth(400, "invalid_grant", "refresh token is invalid, expired or already used")
            }
            owner = previous
        case nil:
            return ErrorBody.oauth(400, "invalid_request", "grant_type is required")
        case let other?:
            return ErrorBody.oauth(400, "unsupported_grant_type", "grant_type '\(other)' is not supported")
        }
        let pair = tokens.issue(to: owner, nowMicros: nowMicros, accessLifetime: configuration.tokenLifetime,
                                refreshLifetime: configuration.refreshTokenLifetime)
        var w = JSONBytes()
        w.beginObject()
        w.field("access_token", pair.access)
        w.field("refresh_token", pair.refresh)
        w.field("token_type", "Bearer")
        w.key("expires_in")
        w.raw(String(Int(configuration.tokenLifetime)))
        w.endObject()
        return .json(200, Data(w.bytes), headers: [("Cache-Control", "no-store")])
    }

    /// Decodes `application/x-www-form-urlencoded` (`+` is a space); first value of each name.
    static func formFields(_ body: Data) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in String(decoding: body, as: UTF8.self).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ s: Substring) -> String {
                let spaced = s.replacingOccurrences(of: "+", with: " ")
                return spaced.removingPercentEncoding ?? spaced
            }
            let name = decode(parts[0])
            if fields[name] == nil { fields[name] = parts.count > 1 ? decode(parts[1]) : "" }
        }
        return fields
    }
}

// MARK: - Installer endpoints

extension SandboxServer {
    private func createInstaller(_ request: IncomingRequest, company: Int) -> SandboxReply {
        let parsed: InstallerRequest
        do {
            parsed = try CreateRequestParser.parse(request.body, catalog: directory[company].catalog)
        } catch {
            return apiError(400, error.message)
        }
        let record = directory.insert(InstallerGenerator.make(parsed, nowMicros: nowMicros, using: &random), into: company)
        return .json(200, directory[company].encoder.installerEnvelope(record, usable: record.isUsable(atMicros: nowMicros)))
    }

    private func listInstallers(_ request: IncomingRequest, company: Int) -> SandboxReply {
        // The gateway parses the query before it reads any parameter.
        if let problem = request.queryError { return apiError(400, problem) }
        var usable: Bool?
        if let text = request.query["usable"], !text.isEmpty {
            switch text.lowercased() {
            case "true", "1", "t": usable = true
            case "false", "0", "f": usable = false
            default: return apiError(400, "usable: invalid boolean '\(text)'")
            }
        }
        var pageSize = 50
        if let text = request.query["pageSize"], !text.isEmpty {
            guard let value = Int(text), value >= 0 else {
                return apiError(400, "pageSize: must be a non-negative integer, got '\(text)'")
            }
            pageSize = value == 0 ? 50 : min(value, 1000)
        }
        var after: PageKey?
        if let token = request.query["pageToken"], !token.isEmpty {
            guard token.count <= 128 else { return apiError(400, "pageToken: must be at most 128 characters") }
            guard let key = PageKey(token: token) else { return apiError(400, "pageToken: invalid page token") }
            after = key
        }
        let page = directory[company].store.page(usable: usable, pageSize: pageSize, after: after, nowMicros: nowMicros)
        return .json(200, directory[company].encoder.listPage(
            page.items, nextPageToken: page.next?.token ?? "", totalSize: page.totalSize))
    }

    /// Another company's installer, a deleted and an unlisted one are all "not found".
    private func getInstaller(_ uuid: String, company: Int) -> SandboxReply {
        guard let record = directory[company].store.record(uuid: uuid.lowercased()), !record.deleted, record.listed else {
            return apiError(404, "installer \(uuid) not found")
        }
        return .json(200, directory[company].encoder.installerEnvelope(record, usable: record.isUsable(atMicros: nowMicros)))
    }

    private func deleteInstaller(_ uuid: String, company: Int) -> SandboxReply {
        guard directory.markDeleted(uuid: uuid.lowercased(), in: company) else {
            return apiError(404, "installer \(uuid) not found")
        }
        return .json(200, "{}")
    }
}
