import Foundation

/// What one API run was given besides `--account`: the environment and the API options of
/// its command line. The password itself is never held here, only where to read it.
public struct RunCredentials: Sendable {
    /// `ESET_CONNECT_USERNAME`.
    public var username: String?
    /// `--region` or `ESET_CONNECT_REGION`: part of the identity.
    public var region: String?
    /// `--api-url` or `ESET_CONNECT_API_URL`: where to send this run's requests (a proxy, the
    /// sandbox), without changing the identity.
    public var transportURL: String?
    /// `--password-file` given on the command line: this run reads the password there.
    public var passwordFile: String?
    /// The process environment, where password variables are read.
    public var environment: [String: String]
    /// Requests per second the client allows itself (per account).
    public var rateLimit: Double

    public init(username: String? = nil, region: String? = nil, transportURL: String? = nil, passwordFile: String? = nil,
                environment: [String: String] = [:], rateLimit: Double = 10) {
        func nonEmpty(_ s: String?) -> String? { s.flatMap { $0.isEmpty ? nil : $0 } }
        self.username = nonEmpty(username)
        self.region = nonEmpty(region)
        self.transportURL = nonEmpty(transportURL)
        self.passwordFile = nonEmpty(passwordFile)
        self.environment = environment
        self.rateLimit = rateLimit
    }

    /// The variable a password comes from when nothing else names one.
    public static let passwordVariable = "ESET_CONNECT_PASSWORD"

    /// `api@example.com in eu`, for messages (never a secret).
    var identityText: String {
        "\(username ?? "no username")\(region.map { " in \($0)" } ?? "")"
    }
}

extension Account {
    /// `api@example.com in eu`, for messages.
    var identityText: String {
        "\(username ?? "no username yet")\(endpoint.map { e in if case .region(let r) = e { " in \(r)" } else { " at \(e)" } } ?? "")"
    }
}

// MARK: - Choosing the account of an API run

extension Ledger {
    /// The account an API command works for: the one named; else the ledger's only active
    /// account; else, in a ledger without accounts, `default` made from the run's credentials
    /// (so a one-account ledger needs no `account` command at all). An upgraded ledger's
    /// `default` gets its identity from its first run. Credentials that name another identity
    /// than the ledger's only account are refused, never mixed in silently.
    /// - Throws: `AccountError` (`.ambiguous` with several accounts and none named).
    public func accountForRun(named name: String?, credentials: RunCredentials, at now: Timestamp) throws -> Account {
        try write { db in
            var account: Account
            if let name {
                // Named: its stored identity is the run's, whatever else the environment says.
                account = try AccountQueries.account(db, named: name)
            } else {
                let all = try AccountQueries.fetchAccounts(db)
                let active = all.filter { $0.archivedAt == nil }
                switch active.count {
                case 0:
                    guard all.isEmpty else { throw AccountError.ambiguous(known: all.map(\.name)) }
                    guard let username = credentials.username else { throw AccountError.none }
                    let region = credentials.region ?? "eu"
                    guard ESETConnectConfiguration.regions.contains(region) else {
                        throw AccountError.invalid("unknown region '\(region)': use one of \(ESETConnectConfiguration.regions.joined(separator: ", "))")
                    }
                    return try AccountQueries.insertAccount(
                        db, name: Account.defaultName, endpoint: .region(region), username: username,
                        passwordSource: credentials.passwordFile.map(Account.PasswordSource.file) ?? .environment(RunCredentials.passwordVariable),
                        at: now)
                case 1:
                    account = active[0]
                    try Self.check(account, against: credentials)
                default:
                    throw AccountError.ambiguous(known: active.map(\.name))
                }
            }
            // An upgraded ledger's `default` learns its identity from its first API run.
            var filled = account
            if filled.username == nil {
                guard let username = credentials.username else {
                    throw AccountError.incomplete(account: account.name, missing: "username (set ESET_CONNECT_USERNAME, or --username)")
                }
                filled.username = username
            }
            if filled.endpoint == nil { filled.endpoint = .region(credentials.region ?? "eu") }
            if filled.passwordSource == nil {
                filled.passwordSource = credentials.passwordFile.map(Account.PasswordSource.file) ?? .environment(RunCredentials.passwordVariable)
            }
            if filled != account { try AccountQueries.store(db, filled) }
            return filled
        }
    }

    /// Refuses a run whose username or explicit region is not the account's.
    static func check(_ account: Account, against run: RunCredentials) throws {
        var differs = false
        if let mine = account.username, let theirs = run.username, mine.lowercased() != theirs.lowercased() { differs = true }
        if let theirs = run.region, case .region(let mine)? = account.endpoint, mine != theirs { differs = true }
        if differs {
            throw AccountError.identityMismatch(account: account.name, accountIdentity: account.identityText, runIdentity: run.identityText)
        }
    }

    /// Every active account, for `sync --all` and `reconcile --all`, with identities complete.
    /// - Throws: `AccountError.none` when the ledger has no account.
    public func accountsForAll(credentials: RunCredentials, at now: Timestamp) throws -> [Account] {
        let active = try accounts().filter { $0.archivedAt == nil }
        if active.count <= 1 { return [try accountForRun(named: active.first?.name, credentials: credentials, at: now)] }
        return active
    }
}

// MARK: - The client of an account

extension ESETConnectConfiguration {
    /// Where and as whom to call ESET for `account`: its region or base URL (or the run's
    /// `--api-url`), its username, and its password read from its source (or the run's
    /// `--password-file`).
    /// - Throws: `AccountError.credentialsUnreadable` naming the account and the variable or
    ///   file (never the secret); `.incomplete`; `ESETConnectError.configuration` for a bad URL.
    public init(account: Account, credentials: RunCredentials) throws {
        guard let username = account.username else {
            throw AccountError.incomplete(account: account.name, missing: "username")
        }
        let password = try Self.password(of: account, credentials: credentials)
        if let url = credentials.transportURL {
            try self.init(apiURL: url, username: username, password: password, rateLimit: credentials.rateLimit)
        } else {
            switch account.endpoint ?? .region("eu") {
            case .region(let r): try self.init(region: r, username: username, password: password, rateLimit: credentials.rateLimit)
            case .apiURL(let u): try self.init(apiURL: u, username: username, password: password, rateLimit: credentials.rateLimit)
            }
        }
    }

    static func password(of account: Account, credentials: RunCredentials) throws -> String {
        let source: Account.PasswordSource = credentials.passwordFile.map(Account.PasswordSource.file)
            ?? account.passwordSource ?? .environment(RunCredentials.passwordVariable)
        switch source {
        case .environment(let variable):
            guard let value = credentials.environment[variable], !value.isEmpty else {
                throw AccountError.credentialsUnreadable(
                    account: account.name, reason: "the environment variable \(variable) is not set; export it with the password of \(account.username ?? "the API user")")
            }
            return value
        case .file(let path):
            // A --password-file of this run that is refused stays a usage error (64); the
            // account's stored file that cannot be read is not allowed (77).
            guard credentials.passwordFile == nil else { return try readPasswordFile(path) }
            do {
                return try readPasswordFile(path)
            } catch let ESETConnectError.configuration(message) {
                throw AccountError.credentialsUnreadable(account: account.name, reason: message)
            }
        }
    }
}
