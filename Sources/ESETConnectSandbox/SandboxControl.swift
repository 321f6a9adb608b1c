import Foundation

/// The control endpoints under `/_sandbox/` for scripts that drive the binary. No token is
/// needed: the sandbox listens on loopback only.
///
/// | call | does |
/// |---|---|
/// | `GET /_sandbox/knobs` | the knobs in effect |
/// | `PUT /_sandbox/knobs` | replaces all knobs (absent keys: defaults) |
/// | `PATCH /_sandbox/knobs` | changes only the keys given (`null` clears an optional) |
/// | `GET /_sandbox/clock` | `{"now": ..., "offsetSeconds": ...}` |
/// | `POST /_sandbox/clock?advance=SECONDS` | moves the sandbox clock, answers like `GET` |
/// | `GET /_sandbox/installers[?includeDeleted=false][&tenant=USERNAME]` | every installer (of the company USERNAME logs in to), with `usable`, `deleted`, `listed` and `tenant` |
/// | `POST /_sandbox/installers/{uuid}/unlist` | ESET stops listing it: not listed, `GET` 404 (`{}`; 404 when unknown) |
/// | `POST /_sandbox/installers/{uuid}/relist` | ESET lists it again, unchanged (`{}`; 404 when unknown) |
/// | `GET /_sandbox/companies` | every company: `username` (absent without tenants), `installers`, `catalog` (groups, licences) |
/// | `GET /_sandbox/requests`, `DELETE /_sandbox/requests` | the request log (each with its `tenant`); clears it |
/// | `POST /_sandbox/tokens/revoke` | invalidates every token |
extension SandboxServer {
    func control(_ request: IncomingRequest) -> SandboxReply {
        if request.method == "POST", let (uuid, listed) = Self.listingChange(request.path) {
            guard setListed(uuid: uuid, listed) else {
                return ErrorBody.status(404, "no installer \(uuid) in any company", html: false)
            }
            return .json(200, "{}")
        }
        switch (request.method, request.path) {
        case ("GET", "/_sandbox/knobs"):
            return encodeJSON(knobs)
        case ("PUT", "/_sandbox/knobs"):
            guard let new = try? JSONDecoder().decode(SandboxKnobs.self, from: request.body) else {
                return ErrorBody.status(400, "body must be a JSON object of knobs", html: false)
            }
            knobs = new
            return encodeJSON(knobs)
        case ("PATCH", "/_sandbox/knobs"):
            guard let changes = (try? JSONSerialization.jsonObject(with: request.body)) as? [String: Any],
                  let current = try? JSONSerialization.jsonObject(with: JSONEncoder().encode(knobs)) as? [String: Any],
                  let merged = try? JSONSerialization.data(withJSONObject: current.merging(changes) { $1 }),
                  let new = try? JSONDecoder().decode(SandboxKnobs.self, from: merged)
            else {
                return ErrorBody.status(400, "body must be a JSON object of knobs", html: false)
            }
            knobs = new
            return encodeJSON(knobs)
        case ("GET", "/_sandbox/clock"):
            return clockReply()
        case ("POST", "/_sandbox/clock"):
            guard let text = request.query["advance"], let seconds = TimeInterval(text), seconds.isFinite else {
                return ErrorBody.status(400, "advance=SECONDS is required", html: false)
            }
            advanceClock(by: seconds)
            return clockReply()
        case ("GET", "/_sandbox/installers"):
            return encodeJSON(installers(tenant: request.query["tenant"].flatMap { $0.isEmpty ? nil : $0 },
                                         includeDeleted: request.query["includeDeleted"] != "false"))
        case ("GET", "/_sandbox/companies"):
            return encodeJSON(companies())
        case ("GET", "/_sandbox/requests"):
            return encodeJSON(log)
        case ("DELETE", "/_sandbox/requests"):
            log.removeAll()
            return .json(200, "{}")
        case ("POST", "/_sandbox/tokens/revoke"):
            revokeAllTokens()
            return .json(200, "{}")
        default:
            return ErrorBody.status(404, "no such control endpoint: \(request.method) \(request.path)", html: false)
        }
    }

    /// `/_sandbox/installers/{uuid}/unlist` → `(uuid, false)`, `.../relist` → `(uuid, true)`.
    private static func listingChange(_ path: String) -> (uuid: String, listed: Bool)? {
        let prefix = "/_sandbox/installers/"
        guard path.hasPrefix(prefix) else { return nil }
        let parts = path.dropFirst(prefix.count).split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty else { return nil }
        switch parts[1] {
        case "unlist": return (String(parts[0]), false)
        case "relist": return (String(parts[0]), true)
        default: return nil
        }
    }

    private func clockReply() -> SandboxReply {
        var w = JSONBytes()
        w.beginObject()
        w.key("now")
        w.timestamp(nowMicros)
        w.key("offsetSeconds")
        w.raw(String(clockOffset))
        w.endObject()
        return .json(200, Data(w.bytes))
    }

    private func encodeJSON(_ value: some Encodable) -> SandboxReply {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(SandboxTime.format(SandboxTime.micros(date)))
        }
        guard let data = try? encoder.encode(value) else {
            return ErrorBody.status(500, "cannot encode the answer", html: false)
        }
        return .json(200, data)
    }
}
