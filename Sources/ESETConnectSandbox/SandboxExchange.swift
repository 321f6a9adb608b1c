import Foundation

/// A request as the sandbox's routes see it, independent of the HTTP server library.
struct IncomingRequest: Sendable {
    var method: String
    /// Percent-encoded path without the query.
    var path: String
    /// Raw percent-encoded query string.
    var rawQuery: String
    /// Decoded query items, first value of each name, decoded as a Go gateway does (see ``QueryString``).
    var query: [String: String]
    /// Why the query string cannot be decoded (a bad `%` escape, a `;`); `nil` when it can.
    /// The API answers 400 with it; the control endpoints ignore it.
    var queryError: String? = nil
    /// Header names lowercased.
    var headers: [String: String]
    var body: Data
    var receivedAt: Date

    func header(_ name: String) -> String? { headers[name.lowercased()] }
}

/// Query strings decoded as Go's `url.ParseQuery`, which gRPC-gateway reads them with (through
/// `http.Request.ParseForm`): pairs split on `&`, `+` is a space, `%XX` is a byte. So a client
/// that sends a page token's `+` unescaped gets it back as a space, as it would from ESET, and
/// one that sends `%2B` gets its `+`.
enum QueryString {
    /// The values of each name in order, and the first error Go would report (the pairs it can
    /// decode are kept, as Go keeps them).
    static func parse(_ raw: String) -> (values: [(name: String, value: String)], error: String?) {
        var values: [(name: String, value: String)] = []
        var firstError: String?
        for pair in raw.split(separator: "&", omittingEmptySubsequences: true) {
            if pair.contains(";") {
                firstError = firstError ?? "invalid semicolon separator in query"
                continue
            }
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            do {
                let name = try unescape(parts[0])
                let value = try unescape(parts.count > 1 ? parts[1] : "")
                values.append((name, value))
            } catch {
                firstError = firstError ?? error.description
            }
        }
        return (values, firstError)
    }

    /// Go's `url.QueryUnescape`, whose error reads `invalid URL escape "%zz"`.
    static func unescape(_ text: Substring) throws(EscapeError) -> String {
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            switch bytes[i] {
            case UInt8(ascii: "+"):
                out.append(UInt8(ascii: " "))
                i += 1
            case UInt8(ascii: "%"):
                guard i + 2 < bytes.count, let high = hexValue(bytes[i + 1]), let low = hexValue(bytes[i + 2]) else {
                    let escape = String(decoding: bytes[i..<min(i + 3, bytes.count)], as: UTF8.self)
                    throw EscapeError(description: "invalid URL escape \"\(escape)\"")
                }
                out.append(high << 4 | low)
                i += 3
            default:
                out.append(bytes[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    struct EscapeError: Error {
        var description: String
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
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
