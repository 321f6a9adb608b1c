import Foundation

// MARK: - Reading accounts

extension Ledger {
    /// Every account, archived ones included, by name.
    public func accounts() throws -> [Account] {
        try read { db in try AccountQueries.fetchAccounts(db) }
    }

    /// The account of that name.
    /// - Throws: `AccountError.unknown` naming the accounts there are.
    public func account(named name: String) throws -> Account {
        try read { db in try AccountQueries.account(db, named: name) }
    }

    /// The accounts a read covers: those named (archived ones too, when named), else every
    /// account that is not archived.
    /// - Throws: `AccountError.unknown` for a name the ledger does not have.
    public func scope(named names: [String]) throws -> AccountScope {
        try read { db in
            if !names.isEmpty {
                var ids = [Int64]()
                for name in names { ids.append(try AccountQueries.account(db, named: name).id) }
                return AccountScope(ids: ids)
            }
            let archived = try Int.fetchOne(db, sql: "SELECT count(*) FROM accounts WHERE archived_at IS NOT NULL") ?? 0
            guard archived > 0 else { return .all }
            return AccountScope(ids: try Int64.fetchAll(db, sql: "SELECT id FROM accounts WHERE archived_at IS NULL ORDER BY id"))
        }
    }

    /// Account names by id, for naming each row's account in output.
    public func accountNames() throws -> [Int64: String] {
        try read { db in try AccountQueries.accountNames(db) }
    }

    /// Each account in scope with its installers by status, pending creations and last
    /// successful sync, by name.
    public func accountSummaries(_ scope: AccountScope = .all) throws -> [AccountSummary] {
        try read { db in
            var summaries = [Int64: AccountSummary]()
            for account in try AccountQueries.fetchAccounts(db) where scope.ids?.contains(account.id) ?? true {
                summaries[account.id] = AccountSummary(account: account)
            }
            for row in try SQLRow.fetchAll(db, sql: "SELECT account_id, status, count(*) FROM installers GROUP BY account_id, status") {
                guard let id = row[0] as Int64?, summaries[id] != nil else { continue }
                let n: Int = row[2]
                switch InstallerStatus(rawValue: row[1]) {
                case .usable: summaries[id]!.usable = n
                case .unusable: summaries[id]!.unusable = n
                case .deleted: summaries[id]!.deleted = n
                case nil: break
                }
            }
            for row in try SQLRow.fetchAll(db, sql: "SELECT account_id, count(*) FROM pending_creations WHERE state = 'pending' GROUP BY account_id") {
                guard let id = row[0] as Int64?, summaries[id] != nil else { continue }
                summaries[id]!.pending = row[1]
            }
            for (id, at) in try AccountQueries.lastSuccessfulSyncs(db) where summaries[id] != nil {
                summaries[id]!.lastSuccessfulSync = at
            }
            return summaries.values.sorted { $0.account.name < $1.account.name }
        }
    }

}

// MARK: - Managing accounts

extension Ledger {
    /// Adds an account.
    /// - Throws: `AccountError.invalidName` or `.exists`.
    @discardableResult
    public func addAccount(name: String, endpoint: Account.Endpoint, username: String,
                           passwordSource: Account.PasswordSource, at now: Timestamp) throws -> Account {
        guard Account.isValidName(name) else { throw AccountError.invalidName(name) }
        return try write { db in try AccountQueries.insertAccount(db, name: name, endpoint: endpoint, username: username,
                                                                 passwordSource: passwordSource, at: now) }
    }

    /// Changes what is given of an account's identity and password source.
    /// - Throws: `AccountError.unknown`.
    @discardableResult
    public func updateAccount(_ name: String, endpoint: Account.Endpoint? = nil, username: String? = nil,
                              passwordSource: Account.PasswordSource? = nil) throws -> Account {
        try write { db in
            var account = try AccountQueries.account(db, named: name)
            if let endpoint { account.endpoint = endpoint }
            if let username { account.username = username }
            if let passwordSource { account.passwordSource = passwordSource }
            try AccountQueries.store(db, account)
            return account
        }
    }

    /// Renames an account; its rows follow (they refer to it by id).
    /// - Throws: `AccountError.unknown`, `.invalidName` or `.exists`.
    public func renameAccount(_ old: String, to new: String) throws {
        guard Account.isValidName(new) else { throw AccountError.invalidName(new) }
        try write { db in
            let account = try AccountQueries.account(db, named: old)
            guard old != new else { return }
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM accounts WHERE name = ?", arguments: [new]) == true {
                throw AccountError.exists(new)
            }
            try db.execute(sql: "UPDATE accounts SET name = ? WHERE id = ?", arguments: [new, account.id])
        }
    }

    /// What `account remove` did.
    public enum Removal: Sendable, Equatable { case removed, archived }

    /// Removes an account that never had anything in the ledger; one with rows only with
    /// `archive`, which keeps it and its history and hides it from defaults.
    /// - Throws: `AccountError.unknown` or `.hasInstallers`.
    public func removeAccount(_ name: String, archive: Bool, at now: Timestamp) throws -> Removal {
        try write { db in
            var account = try AccountQueries.account(db, named: name)
            let installers = try Int.fetchOne(db, sql: "SELECT count(*) FROM installers WHERE account_id = ?", arguments: [account.id]) ?? 0
            let others = try Int.fetchOne(db, sql: """
                SELECT (SELECT count(*) FROM pending_creations WHERE account_id = ?1) + (SELECT count(*) FROM runs WHERE account_id = ?1)
                  + (SELECT count(*) FROM report_runs WHERE account_id = ?1)
                """, arguments: [account.id]) ?? 0
            if archive {
                if account.archivedAt == nil {
                    account.archivedAt = now
                    try AccountQueries.store(db, account)
                }
                return .archived
            }
            guard installers == 0 else { throw AccountError.hasInstallers(name, count: installers) }
            guard others == 0 else {
                throw AccountError.invalid("account '\(name)' has runs or creations in the ledger's history; use account remove \(name) --archive to hide it from defaults")
            }
            try db.execute(sql: "DELETE FROM accounts WHERE id = ?", arguments: [account.id])
            return .removed
        }
    }
}

extension Account.Endpoint {
    var region: String? { if case .region(let r) = self { r } else { nil } }
    var apiURL: String? { if case .apiURL(let u) = self { u } else { nil } }
}

extension Account.PasswordSource {
    var variable: String? { if case .environment(let v) = self { v } else { nil } }
    var path: String? { if case .file(let p) = self { p } else { nil } }
}

/// The accounts' SQL, inside a read or write the caller holds.
enum AccountQueries {
    static let accountColumns = "id, name, region, api_url, username, password_env, password_file, created_at, archived_at"

    static func decodeAccount(_ row: SQLRow) -> Account {
        let endpoint: Account.Endpoint? = (row[2] as String?).map(Account.Endpoint.region) ?? (row[3] as String?).map(Account.Endpoint.apiURL)
        let source: Account.PasswordSource? = (row[5] as String?).map(Account.PasswordSource.environment)
            ?? (row[6] as String?).map(Account.PasswordSource.file)
        return Account(id: row[0], name: row[1], endpoint: endpoint, username: row[4], passwordSource: source,
                       createdAt: Timestamp(nanoseconds: row[7]), archivedAt: (row[8] as Int64?).map(Timestamp.init(nanoseconds:)))
    }

    static func fetchAccounts(_ db: any LedgerSQL) throws -> [Account] {
        try SQLRow.fetchAll(db, sql: "SELECT \(accountColumns) FROM accounts ORDER BY name").map(decodeAccount)
    }

    static func account(_ db: any LedgerSQL, named name: String) throws -> Account {
        guard Account.isValidName(name) else { throw AccountError.invalidName(name) }
        if let row = try SQLRow.fetchOne(db, sql: "SELECT \(accountColumns) FROM accounts WHERE name = ?", arguments: [name]) {
            return decodeAccount(row)
        }
        throw AccountError.unknown(name, known: try String.fetchAll(db, sql: "SELECT name FROM accounts ORDER BY name"))
    }

    static func accountNames(_ db: any LedgerSQL) throws -> [Int64: String] {
        var names = [Int64: String]()
        for row in try SQLRow.fetchAll(db, sql: "SELECT id, name FROM accounts") { names[row[0]] = row[1] }
        return names
    }

    /// The end of each account's last successful sync (or reconcile that asked ESET).
    static func lastSuccessfulSyncs(_ db: any LedgerSQL) throws -> [Int64: Timestamp] {
        var out = [Int64: Timestamp]()
        for row in try SQLRow.fetchAll(db, sql: """
            SELECT account_id, max(finished_at) FROM runs WHERE succeeded = 1 AND kind IN ('sync', 'reconcile')
              AND account_id IS NOT NULL GROUP BY account_id
            """) {
            if let at = row[1] as Int64? { out[row[0]] = Timestamp(nanoseconds: at) }
        }
        return out
    }

    static func insertAccount(_ db: any LedgerSQL, name: String, endpoint: Account.Endpoint?, username: String?,
                              passwordSource: Account.PasswordSource?, at now: Timestamp) throws -> Account {
        if try Bool.fetchOne(db, sql: "SELECT 1 FROM accounts WHERE name = ?", arguments: [name]) == true {
            throw AccountError.exists(name)
        }
        try db.execute(sql: """
            INSERT INTO accounts (name, region, api_url, username, password_env, password_file, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            """, arguments: [name, endpoint?.region, endpoint?.apiURL, username, passwordSource?.variable,
                             passwordSource?.path, now.nanoseconds])
        return try account(db, named: name)
    }

    static func store(_ db: any LedgerSQL, _ a: Account) throws {
        try db.execute(sql: """
            UPDATE accounts SET region = ?, api_url = ?, username = ?, password_env = ?, password_file = ?, archived_at = ?
            WHERE id = ?
            """, arguments: [a.endpoint?.region, a.endpoint?.apiURL, a.username, a.passwordSource?.variable,
                             a.passwordSource?.path, a.archivedAt?.nanoseconds, a.id])
    }

    /// The id of the account a write belongs to: `account` when given; else the ledger's only
    /// active account; else, in a ledger without accounts, a new `default` whose identity its
    /// first API run fills in (so `import` into a new ledger needs no `account` command).
    /// - Throws: `AccountError.ambiguous` when the ledger has several accounts.
    static func accountID(_ db: any LedgerSQL, _ account: Account?, at now: Timestamp) throws -> Int64 {
        if let account { return account.id }
        let active = try Int64.fetchAll(db, sql: "SELECT id FROM accounts WHERE archived_at IS NULL ORDER BY id LIMIT 2")
        switch active.count {
        case 1: return active[0]
        case 0:
            let all = try String.fetchAll(db, sql: "SELECT name FROM accounts ORDER BY name")
            guard all.isEmpty else { throw AccountError.ambiguous(known: all) }
            return try insertAccount(db, name: Account.defaultName, endpoint: nil, username: nil, passwordSource: nil, at: now).id
        default:
            throw AccountError.ambiguous(known: try String.fetchAll(db, sql: "SELECT name FROM accounts WHERE archived_at IS NULL ORDER BY name"))
        }
    }
}
