import Foundation
import GRDB
import Testing
@testable import InstallerLedger

/// Many ESET accounts in one ledger, at the store: each account's installers apart, a
/// second account never deletes or takes the first's, ESET listing one again restores it.
@Suite struct AccountTests {
    static let now = Sample.now

    /// A ledger with accounts `acme` and `globex`.
    static func twoAccounts() throws -> (Ledger, Account, Account) {
        let ledger = try freshLedger()
        let acme = try ledger.addAccount(name: "acme", endpoint: .region("eu"), username: "api@acme.example",
                                         passwordSource: .environment("ACME_PASSWORD"), at: now)
        let globex = try ledger.addAccount(name: "globex", endpoint: .region("us"), username: "api@globex.example",
                                           passwordSource: .environment("GLOBEX_PASSWORD"), at: now)
        return (ledger, acme, globex)
    }

    static func listing(_ count: Int, prefix: String) -> [ReceivedInstaller] {
        (0..<count).map { n in
            Sample.received(Sample.installer(uuid: "\(prefix)-0000-4000-8000-\(String(format: "%012d", n))", name: "\(prefix) \(n)"))
        }
    }

    @Test func aSecondAccountsSyncNeverDeletesTheFirstsInstallers() throws {
        let (ledger, acme, globex) = try Self.twoAccounts()
        let a = Self.listing(5, prefix: "aaaaaaaa"), b = Self.listing(7, prefix: "bbbbbbbb")
        // sync A, sync B, sync A
        let first = try ledger.applySync(listed: a, account: acme, at: Self.now)
        let second = try ledger.applySync(listed: b, account: globex, at: Self.now.adding(.seconds(60)))
        let third = try ledger.applySync(listed: a, account: acme, at: Self.now.adding(.seconds(120)))
        #expect(first.record.new == 5 && first.deleted == 0)
        #expect(second.record.new == 7 && second.deleted == 0)
        #expect(third.record.unchanged == 5 && third.deleted == 0)
        let summaries = Dictionary(uniqueKeysWithValues: try ledger.accountSummaries().map { ($0.account.name, $0) })
        #expect(summaries["acme"]?.usable == 5 && summaries["acme"]?.deleted == 0)
        #expect(summaries["globex"]?.usable == 7 && summaries["globex"]?.deleted == 0)
        // Reads scope by account and name it.
        var filter = InstallerFilter()
        filter.scope = try ledger.scope(named: ["globex"])
        let globexOnly = try ledger.installers(matching: filter, at: Self.now)
        #expect(globexOnly.count == 7 && globexOnly.allSatisfy { $0.account == "globex" })
        #expect(try ledger.installers(matching: InstallerFilter(), at: Self.now).count == 12)
    }

    @Test func anInstallerESETListsAgainIsRestoredWithAnEvent() throws {
        let (ledger, acme, _) = try Self.twoAccounts()
        let a = Self.listing(3, prefix: "aaaaaaaa")
        let t0 = Self.now, t1 = t0.adding(.seconds(3600)), t2 = t0.adding(.seconds(7200))
        _ = try ledger.applySync(listed: a, account: acme, at: t0)
        // ESET stops listing one, then lists it again, unchanged.
        let gone = try ledger.applySync(listed: Array(a.dropFirst()), account: acme, at: t1)
        #expect(gone.deleted == 1)
        let uuid = a[0].installer.uuid
        #expect(try ledger.installer(uuid).status == .deleted)
        let back = try ledger.applySync(listed: a, account: acme, at: t2)
        #expect(back.record.restored == 1 && back.deleted == 0)
        #expect(back.line.contains("1 restored"))
        #expect(try ledger.installer(uuid).status == .usable)
        var filter = EventFilter()
        filter.installerUuid = uuid
        let kinds = try ledger.events(matching: filter).map(\.kind)
        #expect(kinds == [.recorded, .deleted, .restored])
        // --as-of understands it: deleted between the two syncs, usable before and after.
        var asOf = InstallerFilter()
        asOf.status = .usable
        #expect(try ledger.installers(asOf: t0, matching: asOf).count == 3)
        #expect(try ledger.installers(asOf: t1, matching: asOf).count == 2)
        #expect(try ledger.installers(asOf: t2, matching: asOf).count == 3)
        // A saved answer of a deleted installer is old news: import does not restore it.
        _ = try ledger.applySync(listed: Array(a.dropFirst()), account: acme, at: t2.adding(.seconds(60)))
        _ = try ledger.record([a[0]], source: .import, at: t2.adding(.seconds(120)), account: acme)
        #expect(try ledger.installer(uuid).status == .deleted)
    }

    @Test func aUuidListedByASecondAccountIsAConflictNeverAMove() throws {
        let (ledger, acme, globex) = try Self.twoAccounts()
        let a = Self.listing(2, prefix: "aaaaaaaa")
        _ = try ledger.applySync(listed: a, account: acme, at: Self.now)
        let b = try ledger.applySync(listed: [a[0]] + Self.listing(1, prefix: "bbbbbbbb"), account: globex,
                                     at: Self.now.adding(.seconds(60)))
        #expect(b.record.new == 1 && b.record.conflicts.map(\.uuid) == [a[0].installer.uuid])
        #expect(b.record.conflictWarnings.first?.contains("belongs to account 'acme'") == true)
        let entry = try ledger.installer(a[0].installer.uuid)
        #expect(entry.account == "acme" && entry.status == .usable)
        var filter = EventFilter()
        filter.installerUuid = a[0].installer.uuid
        let conflict = try #require(try ledger.events(matching: filter).last)
        #expect(conflict.kind == .conflict && conflict.details?.contains("globex") == true)
        // And acme's next sync still owns both.
        #expect(try ledger.applySync(listed: a, account: acme, at: Self.now.adding(.seconds(120))).record.unchanged == 2)
    }

    @Test func planKeysArePerAccount() throws {
        let (ledger, acme, globex) = try Self.twoAccounts()
        let request = CreateInstallerRequest(displayName: "Branch PCs", operatingSystemFamilyId: 1)
        _ = try ledger.addPending(request, planKey: "plan:line-2", account: acme, at: Self.now)
        #expect(try ledger.creation(planKey: "plan:line-2", account: acme) != nil)
        #expect(try ledger.creation(planKey: "plan:line-2", account: globex) == nil)
        #expect(try ledger.pendingCreations(state: .pending, scope: .only(globex)).isEmpty)
        #expect(try ledger.pendingCreations(state: .pending, scope: .only(acme)).map(\.account) == ["acme"])
        var table = PendingCreationListRenderer(format: .table, showsAccount: true)
        let rows = table.begin() + table.render(try ledger.pendingCreations(state: .pending))
        #expect(rows.hasPrefix("ACCOUNT      ID ") && rows.contains("\nacme         "))
    }

    @Test func theAccountOfAnAPIRun() throws {
        let ledger = try freshLedger()
        let env = ["ESET_CONNECT_PASSWORD": "x"]
        // No account yet and no username: a usage error that says what to set.
        #expect(throws: AccountError.none) { try ledger.accountForRun(named: nil, credentials: RunCredentials(environment: env), at: Self.now) }
        // The first run makes `default` from its credentials.
        let run = RunCredentials(username: "api@example.com", region: "de", environment: env)
        let made = try ledger.accountForRun(named: nil, credentials: run, at: Self.now)
        #expect(made.name == "default" && made.username == "api@example.com" && made.endpoint == .region("de"))
        #expect(made.passwordSource == .environment("ESET_CONNECT_PASSWORD"))
        // The same identity again is that account; --api-url does not change it.
        var proxied = run
        proxied.transportURL = "http://127.0.0.1:9"
        #expect(try ledger.accountForRun(named: nil, credentials: proxied, at: Self.now) == made)
        // Another username or region: refused, never mixed in.
        for other in [RunCredentials(username: "other@example.com", environment: env),
                      RunCredentials(username: "api@example.com", region: "us", environment: env)] {
            #expect(throws: AccountError.self) { try ledger.accountForRun(named: nil, credentials: other, at: Self.now) }
        }
        // With a second account, naming one is required.
        try ledger.addAccount(name: "acme", endpoint: .region("eu"), username: "api@acme.example",
                              passwordSource: .environment("ACME_PASSWORD"), at: Self.now)
        #expect(throws: AccountError.ambiguous(known: ["acme", "default"])) {
            try ledger.accountForRun(named: nil, credentials: run, at: Self.now)
        }
        #expect(try ledger.accountForRun(named: "acme", credentials: RunCredentials(environment: env), at: Self.now).name == "acme")
        // Named, the account's stored identity is the run's: a stray ESET_CONNECT_USERNAME is not mixed in.
        let named = try ledger.accountForRun(named: "acme", credentials: RunCredentials(username: "stray@example.com", environment: env),
                                             at: Self.now)
        #expect(named.username == "api@acme.example")
        #expect(try ESETConnectConfiguration(account: named, credentials: RunCredentials(username: "stray@example.com",
                                                                                         environment: ["ACME_PASSWORD": "p"])).username
                == "api@acme.example")
        #expect(throws: AccountError.unknown("nope", known: ["acme", "default"])) {
            try ledger.accountForRun(named: "nope", credentials: run, at: Self.now)
        }
    }

    @Test func anUpgradedDefaultLearnsItsIdentityFromItsFirstRun() throws {
        let ledger = try freshLedger()
        // An import into a new ledger makes `default` without an identity.
        _ = try ledger.record([Sample.received(Sample.installer())], source: .import, at: Self.now)
        let bare = try ledger.account(named: "default")
        #expect(bare.username == nil && bare.endpoint == nil && bare.passwordSource == nil)
        let filled = try ledger.accountForRun(named: nil, credentials: RunCredentials(username: "api@example.com", passwordFile: "/etc/p"),
                                              at: Self.now)
        #expect(filled.id == bare.id && filled.username == "api@example.com" && filled.endpoint == .region("eu"))
        #expect(filled.passwordSource == .file("/etc/p"))
    }

    @Test func passwordsComeFromTheAccountsSourceAndUnreadableOnesAreNotAllowed() throws {
        let folder = TemporaryFolder()
        let account = Account(id: 1, name: "acme", endpoint: .region("eu"), username: "api@acme.example",
                              passwordSource: .environment("ACME_PASSWORD"), createdAt: Self.now)
        let config = try ESETConnectConfiguration(account: account, credentials: RunCredentials(environment: ["ACME_PASSWORD": "s3cret"]))
        #expect(config.password == "s3cret" && config.tokenURL.host == "eu.business-account.iam.eset.systems")
        do {
            _ = try ESETConnectConfiguration(account: account, credentials: RunCredentials(environment: [:]))
            Issue.record("a missing variable must be refused")
        } catch let error as AccountError {
            #expect(error.exitClass == .notAllowed)
            #expect(error.description.contains("acme") && error.description.contains("ACME_PASSWORD"))
        }
        // A stored password file that others can read: 77, naming the file, never the secret.
        let path = folder.file("acme.password")
        try "t0p-secret\n".write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o644)
        var filed = account
        filed.passwordSource = .file(path)
        do {
            _ = try ESETConnectConfiguration(account: filed, credentials: RunCredentials())
            Issue.record("a group-readable password file must be refused")
        } catch let error as AccountError {
            #expect(error.exitClass == .notAllowed && error.description.contains(path) && !error.description.contains("t0p-secret"))
        }
        chmod(path, 0o600)
        #expect(try ESETConnectConfiguration(account: filed, credentials: RunCredentials()).password == "t0p-secret")
    }

    @Test func accountsAreManagedAndTheLedgerNeverForgets() throws {
        let (ledger, acme, globex) = try Self.twoAccounts()
        #expect(throws: AccountError.exists("acme")) {
            try ledger.addAccount(name: "acme", endpoint: .region("eu"), username: "x", passwordSource: .environment("X"), at: Self.now)
        }
        for bad in ["Acme", "-acme", "", "a b", "acme/1", String(repeating: "a", count: 65)] {
            #expect(!Account.isValidName(bad), "\(bad)")
            #expect(throws: AccountError.invalidName(bad)) {
                try ledger.addAccount(name: bad, endpoint: .region("eu"), username: "x", passwordSource: .environment("X"), at: Self.now)
            }
        }
        #expect(Account.isValidName("acme-2.eu_x") && Account.isValidName("9lives"))
        _ = try ledger.applySync(listed: Self.listing(2, prefix: "bbbbbbbb"), account: globex, at: Self.now)
        // Renamed: its rows follow.
        try ledger.renameAccount("globex", to: "globex-us")
        #expect(try ledger.installers(matching: InstallerFilter(), at: Self.now).map(\.account).sorted() == ["globex-us", "globex-us"])
        // Removing one with installers is refused; --archive keeps it, hidden from defaults.
        #expect(throws: AccountError.hasInstallers("globex-us", count: 2)) { try ledger.removeAccount("globex-us", archive: false, at: Self.now) }
        #expect(try ledger.removeAccount("globex-us", archive: true, at: Self.now) == .archived)
        #expect(try ledger.scope(named: []) == AccountScope(ids: [acme.id]))
        var defaults = InstallerFilter()
        defaults.scope = try ledger.scope(named: [])
        #expect(try ledger.installers(matching: defaults, at: Self.now).isEmpty)
        defaults.scope = try ledger.scope(named: ["globex-us"])
        #expect(try ledger.installers(matching: defaults, at: Self.now).count == 2)
        // An account with nothing in the ledger goes for good.
        #expect(try ledger.removeAccount("acme", archive: false, at: Self.now) == .removed)
        #expect(try ledger.accounts().map(\.name) == ["globex-us"])
    }

    @Test func coverageGapsArePerAccount() throws {
        let (ledger, acme, globex) = try Self.twoAccounts()
        // The same group uuid at two customers: globex's installer never covers acme's group.
        let group = ("5e0c3c43-0000-4000-8000-000000000001", "Head office")
        let old = Sample.installer(uuid: "aaaaaaaa-0000-4000-8000-000000000001", group: group, created: "2026-06-10T08:00:00Z")
        let fresh = Sample.installer(uuid: "bbbbbbbb-0000-4000-8000-000000000001", group: group, created: "2026-11-01T08:00:00Z")
        _ = try ledger.applySync(listed: [Sample.received(old)], account: acme, at: Self.now)
        _ = try ledger.applySync(listed: [Sample.received(fresh)], account: globex, at: Self.now)
        let gaps = try ledger.coverageGaps(at: Self.now.adding(.days(30)))
        let groupGaps = gaps.gaps.filter { $0.kind == .group }
        #expect(groupGaps.map(\.account) == ["acme"], "\(gaps.gaps)")
        #expect(gaps.groupsWatched == 2)
        #expect(try ledger.coverageGaps(at: Self.now.adding(.days(30)), scope: .only(globex)).gaps.isEmpty)
    }

    @Test func theReportIsPerAccountAndOneStaleAccountIsUnknownByName() throws {
        let folder = TemporaryFolder()
        let path = folder.ledger()
        let ledger = try Ledger.open(path: path)
        let acme = try ledger.addAccount(name: "acme", endpoint: .region("eu"), username: "a@x", passwordSource: .environment("A"), at: Self.now)
        let globex = try ledger.addAccount(name: "globex", endpoint: .region("us"), username: "g@x", passwordSource: .environment("G"), at: Self.now)
        let synced = Self.now.subtracting(.hours(2))
        for (account, prefix) in [(acme, "aaaaaaaa"), (globex, "bbbbbbbb")] {
            let summary = try ledger.applySync(listed: Self.listing(3, prefix: prefix), account: account, at: synced)
            try ledger.recordSyncRun(startedAt: synced, finishedAt: synced, summary: summary, error: nil, account: account)
        }
        let fresh = ExpiryReporter(ledgerPath: path, format: .json, now: Self.now).run().report
        #expect(fresh.checks.first { $0.id == "freshness" }?.status == .ok)
        #expect(fresh.accounts.map(\.account) == ["acme", "globex"] && fresh.namesAccounts)
        // Two days later only acme syncs: UNKNOWN, naming globex.
        let later = Self.now.adding(.days(2))
        try ledger.recordSyncRun(startedAt: later, finishedAt: later, summary: SyncSummary(), error: nil, account: acme)
        let stale = ExpiryReporter(ledgerPath: path, format: .json, now: later).run().report
        let freshness = try #require(stale.checks.first { $0.id == "freshness" })
        #expect(stale.status == .unknown && freshness.status == .unknown)
        #expect(freshness.message.contains("globex") && !freshness.message.contains("acme"), "\(freshness.message)")
        // One account's report sees only its installers, and only its freshness.
        let acmeOnly = ExpiryReporter(ledgerPath: path, format: .json, now: later, accounts: ["acme"]).run().report
        #expect(acmeOnly.checks.first { $0.id == "freshness" }?.status == .ok)
        #expect(acmeOnly.counts.usable + acmeOnly.counts.unusable == 3 && acmeOnly.byGroup.allSatisfy { $0.account == "acme" })
        let text = ReportRendering.text(stale)
        #expect(text.contains("By account: 2") && text.contains("  total"))
        let prom = ReportRendering.prometheus(stale)
        #expect(prom.contains("installer_ledger_account_last_successful_sync_timestamp_seconds{account=\"globex\"}"))
    }
}
