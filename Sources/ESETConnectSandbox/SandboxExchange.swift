import Foundation

/// A request as the sandbox's routes see it, independent of the HTTP server library.
struct IncomingRequest: Sendable {
    var method: String
    /// Percent-encoded path without the query.
    var path: String
    /// Raw percent-encoded query string.
    var rawQuery: String
    /// Decoded query items, first value of each name.
    var query: [String: String]
    /// Header names lowercased.
    var headers: [String: String]
    var body: Data
    var receivedAt: Date

    func header(_ name: String) -> String? { headers[name.lowercased()] }
}

/// What the sandbox answers: a status, headers and body, or a dropped connection.
struct SandboxReply: Sendable {
    var status: Int
    var headers: [(name: String, value: String)] = []
    var body = Data()
    /// Close the connection without writing anything.
    var dropped = false

    static let drop = SandboxReply(status: 0, dropped: true)

    static func json(_ status: Int, _ body: Data, headers: [(name: String, value: String)] = []) -> SandboxReply {
        SandboxReply(status: status, headers: [("Content-Type", "application/json")] + headers, body: body)
    }

    static func json(_ status: Int, _ text: String) -> SandboxReply {
        json(status, Data(text.utf8))
    }

    var isSuccess: Bool { !dropped && (200..<300).contains(status) }
}

/// Error bodies: google.rpc.Status JSON as ESET's gateway sends, or an HTML page as a proxy would.
enum ErrorBody {
    /// The gRPC code that gRPC-gateway maps to an HTTP status.
    static func grpcCode(forHTTPStatus status: Int) -> Int {
        switch status {
        case 400, 415: return 3      // INVALID_ARGUMENT
        case 401: return 16          // UNAUTHENTICATED
        case 403: return 7           // PERMISSION_DENIED
        case 404: return 5           // NOT_FOUND
        case 405, 501: return 12     // UNIMPLEMENTED
        case 409: return 6           // ALREADY_EXISTS
        case 429: return 8           // RESOURCE_EXHAUSTED
        case 503, 502: return 14     // UNAVAILABLE
        case 504: return 4           // DEADLINE_EXCEEDED
        default: return 13           // INTERNAL
        }
    }

    static func status(_ httpStatus: Int, _ message: String, html: Bool) -> SandboxReply {
        if html {
            let title = "\(httpStatus) \(reasonPhrase(httpStatus))"
            let page = "<html>\r\n<head><title>\(title)</title></head>\r\n<body>\r\n<center><h1>\(title)</h1></center>\r\n"
                + "<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
            return SandboxReply(status: httpStatus, headers: [("Content-Type", "text/html")], body: Data(page.utf8))
        }
        var w = JSONBytes()
        w.beginObject()
        w.key("code")
        w.raw(String(grpcCode(forHTTPStatus: httpStatus)))
        w.field("message", message)
        w.key("details")
        w.beginArray()
        w.endArray()
        w.endObject()
        return .json(httpStatus, Data(w.bytes))
    }

    /// An OAuth 2 error of the token endpoint (RFC 6749 §5.2).
    static func oauth(_ httpStatus: Int, _ error: String, _ description: String) -> SandboxReply {
        var w = JSONBytes()
        w.beginObject()
        w.field("error", error)
        w.field("error_description", description)
        w.endObject()
        return .json(httpStatus, Data(w.bytes))
    }

    static func reasonPhrase(_ status: Int) -> String {
        switch status {
        case 200: return "OK"
        case 202: return "Accepted"
        case 400: return "Bad Request"
        case 401: return "Unauthorized"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 405: return "Method Not Allowed"
        case 409: return "Conflict"
        case 415: return "Unsupported Media Type"
        case 429: return "Too Many Requests"
        case 500: return "Internal Server Error"
        case 501: return "Not Implemented"
        case 502: return "Bad Gateway"
        case 503: return "Service Unavailable"
        case 504: return "Gateway Timeout"
        default: return "Status \(status)"
        }
    }
}
