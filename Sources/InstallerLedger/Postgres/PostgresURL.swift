import Foundation

/// A PostgreSQL connection string as `--db` takes it (issue 16):
/// `postgresql://[user[:password]@]host[:port]/dbname[?sslmode=...&sslrootcert=...]`, also
/// `postgres://`. A password written into the URL works but is never printed: every message
/// shows ``redacted``.
public struct PostgresURL: Sendable, Equatable {
    /// libpq's `sslmode` values this tool supports.
    public enum SSLMode: String, Sendable, CaseIterable {
        case disable, prefer, require
        case verifyFull = "verify-full"
    }

    public var user: String?
    /// From the URL; nil: looked up as libpq does (``PostgresPassword``).
    public var password: String?
    public var host: String
    public var port: Int
    public var database: String
    /// libpq's default is `prefer`.
    public var sslMode: SSLMode
    /// A PEM file of certificate authorities to trust (`verify-full`), instead of the system's.
    public var sslRootCert: String?

    /// Whether `text` is a PostgreSQL URL rather than a file path.
    public static func isPostgres(_ text: String) -> Bool {
        let lower = text.lowercased()
        return lower.hasPrefix("postgresql://") || lower.hasPrefix("postgres://")
    }

    /// - Throws: `PostgresLedgerError.invalidURL`, whose message never contains the password.
    public init(parsing text: String) throws(PostgresLedgerError) {
        guard Self.isPostgres(text), let schemeEnd = text.range(of: "://") else {
            throw .invalidURL(Self.redact(text), "it must start with postgresql:// or postgres://")
        }
        var rest = Substring(text[schemeEnd.upperBound...])
        var query = Substring("")
        if let q = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: q)...]
            rest = rest[..<q]
        }
        guard let slash = rest.firstIndex(of: "/") else {
            throw .invalidURL(Self.redact(text), "it names no database: add /dbname after the host")
        }
        var authority = rest[..<slash]
        let path = rest[rest.index(after: slash)...]
        guard let database = Self.decode(path), !database.isEmpty, !database.contains("/") else {
            throw .invalidURL(Self.redact(text), "it names no database: add /dbname after the host")
        }
        if let at = authority.lastIndex(of: "@") {
            let userInfo = authority[..<at]
            authority = authority[authority.index(after: at)...]
            if let colon = userInfo.firstIndex(of: ":") {
                user = Self.decode(userInfo[..<colon])
                password = Self.decode(userInfo[userInfo.index(after: colon)...])
            } else {
                user = Self.decode(userInfo)
            }
            if user?.isEmpty == true { user = nil }
        }
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else {
                throw .invalidURL(Self.redact(text), "an IPv6 host needs its closing ]")
            }
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") { portText = after.dropFirst() } else if !after.isEmpty {
                throw .invalidURL(Self.redact(text), "unexpected text after the IPv6 host")
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = Self.decode(authority[..<colon]) ?? ""
            portText = authority[authority.index(after: colon)...]
        } else {
            host = Self.decode(authority) ?? ""
        }
        guard !host.isEmpty else {
            throw .invalidURL(Self.redact(text), "it names no host: postgresql://[user@]host[:port]/dbname")
        }
        if let portText {
            guard let p = Int(portText), (1...65535).contains(p) else {
                throw .invalidURL(Self.redact(text), "'\(portText)' is not a port (1-65535)")
            }
            port = p
        } else {
            port = 5432
        }
        self.database = database
        sslMode = .prefer
        for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = Self.decode(kv[0]) ?? "", value = kv.count > 1 ? (Self.decode(kv[1]) ?? "") : ""
            switch key {
            case "sslmode":
                guard let mode = SSLMode(rawValue: value) else {
                    throw .invalidURL(Self.redact(text), "sslmode '\(value)' is not one of \(SSLMode.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                sslMode = mode
            case "sslrootcert":
                sslRootCert = value
            case "user":
                user = value.isEmpty ? nil : value
            case "password":
                password = value
            default:
                throw .invalidURL(Self.redact(text), "unknown parameter '\(key)': use sslmode, sslrootcert or user")
            }
        }
    }

    /// The URL without its password, to show.
    public var redacted: String {
        let hostPart = host.contains(":") ? "[\(host)]" : host
        var text = "postgresql://" + (user.map { "\(Self.encode($0))@" } ?? "") + "\(hostPart):\(port)/\(Self.encode(database))"
        var parameters = [String]()
        if sslMode != .prefer { parameters.append("sslmode=\(sslMode.rawValue)") }
        if let sslRootCert { parameters.append("sslrootcert=\(Self.encode(sslRootCert))") }
        if !parameters.isEmpty { text += "?" + parameters.joined(separator: "&") }
        return text
    }

    /// Any text that may hold a URL with a password, with the password replaced by `***`:
    /// for messages about a URL that did not parse.
    public static func redact(_ text: String) -> String {
        var out = ""
        var rest = Substring(text)
        while let scheme = rest.range(of: "://") {
            out += rest[..<scheme.upperBound]
            rest = rest[scheme.upperBound...]
            let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == " " } ?? rest.endIndex
            let authority = rest[..<authorityEnd]
            if let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") {
                out += authority[..<colon] + ":***" + authority[at...]
            } else {
                out += authority
            }
            rest = rest[authorityEnd...]
        }
        // A `password=` query parameter.
        out += rest
        if let range = out.range(of: "password=") {
            let end = out[range.upperBound...].firstIndex { $0 == "&" || $0 == " " } ?? out.endIndex
            out.replaceSubrange(range.upperBound..<end, with: "***")
        }
        return out
    }

    private static func decode(_ s: Substring) -> String? { String(s).removingPercentEncoding }

    private static func encode(_ s: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return s.addingPercentEncoding(withAllowedCharacters: allowed) ?? s
    }
}

/// Finds a connection's password as libpq does: the URL's, else `PGPASSWORD`, else the
/// password file (`PGPASSFILE`, default `~/.pgpass`), which is refused unless only its owner
/// can read it (0600).
public enum PostgresPassword {
    /// - Returns: nil when none is found (the server may not ask for one).
    /// - Throws: `PostgresLedgerError.passwordFileReadable` or `.passwordFileUnreadable`.
    public static func resolve(for url: PostgresURL, user: String, environment: [String: String]) throws(PostgresLedgerError) -> String? {
        if let password = url.password { return password }
        if let password = environment["PGPASSWORD"], !password.isEmpty { return password }
        let path: String
        if let file = environment["PGPASSFILE"], !file.isEmpty {
            path = file
        } else if let home = environment["HOME"], !home.isEmpty {
            path = home + "/.pgpass"
        } else {
            return nil
        }
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }  // no file: no password from it
        guard info.st_mode & 0o077 == 0 else {
            throw .passwordFileReadable(path: path, mode: String(info.st_mode & 0o777, radix: 8))
        }
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw .passwordFileUnreadable(path: path)
        }
        return match(text, host: url.host, port: url.port, database: url.database, user: user)
    }

    /// The password of the first line of a `.pgpass` text matching the connection:
    /// `hostname:port:database:username:password`, `*` matching anything, `\:` and `\\`
    /// escaping, `#` lines ignored.
    static func match(_ text: String, host: String, port: Int, database: String, user: String) -> String? {
        for line in text.split(whereSeparator: \.isNewline) where !line.hasPrefix("#") {
            var fields = [String](), current = "", escaped = false
            for c in line {
                if escaped { current.append(c); escaped = false } else if c == "\\" { escaped = true } else if c == ":", fields.count < 4 {
                    fields.append(current)
                    current = ""
                } else {
                    current.append(c)
                }
            }
            fields.append(current)
            guard fields.count == 5 else { continue }
            let wanted = [host, String(port), database, user]
            if zip(fields.prefix(4), wanted).allSatisfy({ $0 == "*" || $0 == $1 }) { return fields[4] }
        }
        return nil
    }
}
