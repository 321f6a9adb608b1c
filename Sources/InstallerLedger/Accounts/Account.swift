import Foundation

/// One ESET Connect identity: an API user of one customer company, in one region (or behind
/// one base URL). The password is never stored, only where it comes from.
public struct Account: Sendable, Equatable {
    public var id: Int64
    /// `acme`: lower-case letters, digits, `.`, `_`, `-`, starting with a letter or digit.
    public var name: String
    /// Where ESET Connect is for this account.
    public var endpoint: Endpoint?
    /// nil: not known yet (an upgraded ledger's `default`, filled in by its next API run).
    public var username: String?
    public var passwordSource: PasswordSource?
    public var createdAt: Timestamp
    /// Set by `account remove --archive`: kept, with its history, but hidden from defaults.
    public var archivedAt: Timestamp?

    public init(id: Int64, name: String, endpoint: Endpoint?, username: String?, passwordSource: PasswordSource?,
                createdAt: Timestamp, archivedAt: Timestamp? = nil) {
        self.id = id
        self.name = name
        self.endpoint = endpoint
        self.username = username
        self.passwordSource = passwordSource
        self.createdAt = createdAt
        self.archivedAt = archivedAt
    }

    /// The name of the account that an upgraded ledger's rows, and a first API run without any
    /// `account` command, belong to.
    public static let defaultName = "default"

    /// ESET region or API base URL.
    public enum Endpoint: Sendable, Equatable, CustomStringConvertible {
        case region(String)
        case apiURL(String)

        /// `eu`, or the URL as given.
        public var description: String {
            switch self {
            case .region(let r): r
            case .apiURL(let u): u
            }
        }
    }

    /// Where the password comes from: an environment variable or a file only its owner reads.
    public enum PasswordSource: Sendable, Equatable, CustomStringConvertible {
        case environment(String)
        case file(String)

        /// `env ESET_ACME_PASSWORD` or `file /etc/installer-ledger/acme.password`.
        public var description: String {
            switch self {
            case .environment(let v): "env \(v)"
            case .file(let p): "file \(p)"
            }
        }
    }

    /// Whether `name` is a valid account name.
    public static func isValidName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (1...64).contains(bytes.count), let first = bytes.first, isLowerAlphanumeric(first) else { return false }
        return bytes.allSatisfy { isLowerAlphanumeric($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
    }

    private static func isLowerAlphanumeric(_ b: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(b) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b)
    }

    /// What `isValidName` accepts, for messages.
    public static let nameRule = "lower-case letters, digits, '.', '_' and '-', starting with a letter or digit, at most 64 characters"
}

/// An account with what `account list` shows about it.
public struct AccountSummary: Sendable, Equatable {
    public var account: Account
    public var usable = 0
    public var unusable = 0
    public var deleted = 0
    /// Creations whose outcome is not known yet.
    public var pending = 0
    /// The end of the last successful `sync` (or `reconcile` that asked ESET).
    public var lastSuccessfulSync: Timestamp?

    public init(account: Account) { self.account = account }

    public var installers: Int { usable + unusable + deleted }
}

/// Which accounts a read covers: nil ids mean every account that is not archived.
public struct AccountScope: Sendable, Equatable {
    /// The account ids to include; nil: no filter needed (every account, none archived).
    public var ids: [Int64]?

    public init(ids: [Int64]?) { self.ids = ids }

    /// Every account (no filter).
    public static let all = AccountScope(ids: nil)

    /// One account.
    public static func only(_ account: Account) -> AccountScope { AccountScope(ids: [account.id]) }

    /// `account_id IN (...)` for `column`, or nil when every account is included.
    func sqlCondition(column: String = "account_id") -> String? {
        guard let ids else { return nil }
        if ids.isEmpty { return "0" }
        return "\(column) IN (\(ids.map(String.init).joined(separator: ", ")))"
    }
}

/// What the ledger refuses about accounts.
public enum AccountError: Error, Equatable, CustomStringConvertible, ClassifiedError {
    /// No account of that name.
    case unknown(String, known: [String])
    /// The name breaks the rule.
    case invalidName(String)
    /// An account of that name exists.
    case exists(String)
    /// Several accounts and none named for a command that works on one.
    case ambiguous(known: [String])
    /// The ledger has no account yet and the run gives no credentials to make `default` from.
    case none
    /// The run's credentials name another identity than the ledger's only account.
    case identityMismatch(account: String, accountIdentity: String, runIdentity: String)
    /// `account remove` of an account that has installers, without `--archive`.
    case hasInstallers(String, count: Int)
    /// The account's password source cannot be read.
    case credentialsUnreadable(account: String, reason: String)
    /// The account has no username or password source.
    case incomplete(account: String, missing: String)
    /// An option value is not acceptable.
    case invalid(String)

    public var exitClass: ExitClass {
        switch self {
        case .credentialsUnreadable: .notAllowed
        default: .usage
        }
    }

    public var description: String {
        func list(_ names: [String]) -> String { names.isEmpty ? "none yet" : names.joined(separator: ", ") }
        switch self {
        case .unknown(let name, let known):
            return "no account named '\(name)' in this ledger (accounts: \(list(known))); see installer-ledger account list"
        case .invalidName(let name):
            return "'\(name)' is not an account name: use \(Account.nameRule)"
        case .exists(let name):
            return "an account named '\(name)' exists already; choose another name or use account update \(name)"
        case .ambiguous(let known):
            return "this ledger has several accounts (\(list(known))): name one with --account NAME (or INSTALLER_LEDGER_ACCOUNT), or use --all where the command has it"
        case .none:
            return "this ledger has no ESET account yet: set ESET_CONNECT_USERNAME (and ESET_CONNECT_PASSWORD or --password-file), or add one with installer-ledger account add NAME --region eu --username USER --password-env VAR"
        case .identityMismatch(let account, let accountIdentity, let runIdentity):
            return "these credentials (\(runIdentity)) are not the identity of account '\(account)' (\(accountIdentity)); to keep a second ESET account in this ledger, add it: installer-ledger account add NAME --region REGION --username USER --password-env VAR, then use --account NAME"
        case .hasInstallers(let name, let count):
            return "account '\(name)' has \(count) installer\(count == 1 ? "" : "s") in the ledger; the ledger never forgets them: use account remove \(name) --archive to hide it from defaults"
        case .credentialsUnreadable(let account, let reason):
            return "cannot read the password of account '\(account)': \(reason)"
        case .incomplete(let account, let missing):
            return "account '\(account)' has no \(missing) yet: set it with installer-ledger account update \(account)"
        case .invalid(let message):
            return message
        }
    }
}
