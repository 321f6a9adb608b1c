/// What went wrong talking to ESET Connect.
public enum ESETConnectError: Error, Sendable, Equatable {
    /// The settings are unusable (region, URL, credentials, password file).
    case configuration(String)
    /// ESET answered with an error status. `requestId` is ESET's `request-id` header.
    case http(status: Int, requestId: String?, message: String)
    /// ESET or the network stayed unavailable after retries.
    case unavailable(status: Int?, requestId: String?, message: String)
    /// A creation may or may not have happened (timeout, lost connection, 5xx after sending).
    case uncertain(requestId: String?, message: String)
    /// The answer could not be decoded.
    case malformedAnswer(requestId: String?, message: String)
    /// A 202 answer expired before it was collected.
    case answerExpired(requestId: String?)

    /// Whether the same request may be sent again.
    public var isRetryable: Bool {
        switch self {
        case .unavailable: true
        case .http(let status, _, _): [429, 500, 502, 503].contains(status)
        default: false
        }
    }

    /// Whether ESET may have created the installer all the same: the creation then stays
    /// pending until `sync` matches it, and is never re-sent.
    public var mayHaveCreated: Bool {
        switch self {
        case .uncertain, .answerExpired: true
        default: false
        }
    }

    /// ESET's `request-id`, for support.
    public var requestId: String? {
        switch self {
        case .http(_, let id, _), .unavailable(_, let id, _), .uncertain(let id, _), .malformedAnswer(let id, _), .answerExpired(let id): id
        case .configuration: nil
        }
    }
}

extension ESETConnectError: CustomStringConvertible {
    public var description: String {
        let rid = requestId.map { " (ESET request-id \($0))" } ?? ""
        switch self {
        case .configuration(let m):
            return m
        case .http(let status, _, let message):
            switch status {
            case 401: return "ESET Connect refused the credentials (401)\(rid): \(message); check ESET_CONNECT_USERNAME and the password"
            case 403: return "ESET Connect does not allow this (403)\(rid): \(message); the API user needs the installer permissions"
            case 404: return "ESET Connect does not know it (404)\(rid): \(message)"
            default: return "ESET Connect refused the request (\(status))\(rid): \(message)"
            }
        case .unavailable(let status, _, let message):
            return "ESET Connect is unavailable\(status.map { " (\($0))" } ?? "")\(rid): \(message); try again later"
        case .uncertain(_, let message):
            return "the outcome is uncertain\(rid): \(message); an installer may have been created: run 'installer-ledger sync' to resolve it"
        case .malformedAnswer(_, let message):
            return "ESET Connect sent an answer that cannot be read\(rid): \(message)"
        case .answerExpired:
            return "ESET Connect's delayed answer expired before it was collected (404)\(rid); run 'installer-ledger sync' to see what happened"
        }
    }
}
