import ESETConnectSandbox
import Foundation
import Testing
@testable import InstallerLedger

/// Two customers of an MSP, end to end: the built binary against a two-tenant sandbox over
/// real HTTP on loopback, one ledger, each customer an account.
@Suite(.serialized) struct AccountCommandLineTests {
    static let acme = "acme@example.com"
    static let globex = "globex@example.com"

    static func sandbox() async throws -> CommandLineSandbox {
        try await CommandLineSandbox(configuration: SandboxConfiguration(
            tenants: [SandboxTenant(username: acme, installers: 5), SandboxTenant(username: globex, installers: 7)]))
    }

    /// Each account's password in its own variable; no ESET_CONNECT_USERNAME, so nothing but
    /// the accounts names an identity.
    static let passwords = ["ACME_PASSWORD": "sandbox", "GLOBEX_PASSWORD": "sandbox", "ESET_CONNECT_USERNAME": "",
                            "ESET_CONNECT_PASSWORD": ""]

    func run(_ s: CommandLineSandbox, _ args: [String], _ extra: [String: String] = [:]) async throws -> ProcessResult {
        try await s.run(args, api: false, environment: Self.passwords.merging(extra) { $1 })
    }

    static func addBoth(_ s: CommandLineSandbox, _ t: AccountCommandLineTests) async throws {
        for (name, user, variable) in [("acme", acme, "ACME_PASSWORD"), ("globex", globex, "GLOBEX_PASSWORD")] {
            let added = try await t.run(s, ["account", "add", name, "--api-url", s.url, "--username", user, "--password-env", variable])
            #expect(added.status == 0, "\(added.stderr)")
        }
    }

    @Test func syncAThenBThenADeletesNothingAndCountsPerAccount() async throws {
        let s = try await Self.sandbox()
        try await Self.addBoth(s, self)
        // With two accounts and none named: a usage error listing them.
        let unnamed = try await run(s, ["sync"])
        #expect(unnamed.status == 64 && unnamed.stderr.contains("acme, globex"), "\(unnamed.stderr)")

        let a1 = try await run(s, ["sync", "--account", "acme"])
        #expect(a1.stdout == "5 listed: 5 new, 0 changed, 0 unchanged, 0 deleted, 0 pending resolved\n", "\(a1.stderr)")
        let b = try await run(s, ["sync", "--account", "globex"])
        #expect(b.stdout == "7 listed: 7 new, 0 changed, 0 unchanged, 0 deleted, 0 pending resolved\n", "\(b.stderr)")
        let a2 = try await run(s, ["sync"], ["INSTALLER_LEDGER_ACCOUNT": "acme"])
        #expect(a2.stdout == "5 listed: 0 new, 0 changed, 5 unchanged, 0 deleted, 0 pending resolved\n", "\(a2.stderr)")

        let listed = try await run(s, ["account", "list", "--format", "json"])
        let accounts = try #require(try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]])
        #expect(accounts.map { $0["name"] as? String } == ["acme", "globex"])
        let usable = await [s.sandbox.installers(tenant: Self.acme), s.sandbox.installers(tenant: Self.globex)]
            .map { $0.filter(\.usable).count }
        #expect(accounts.map { ($0["installers"] as? [String: Int])?["usable"] } == usable)
        #expect(accounts.map { ($0["installers"] as? [String: Int])?["deleted"] } == [0, 0])
        #expect(accounts.allSatisfy { $0["lastSuccessfulSync"] is String })

        // Reads name the account: a column with several, the last CSV column, JSON.
        let table = try await run(s, ["list"])
        #expect(table.stdout.hasPrefix("ACCOUNT      ID       NAME"), "\(table.stdout)")
        #expect(table.stdout.contains("12 installers"))
        let csv = try await run(s, ["list", "--account", "globex", "--format", "csv"])
        let rows = csv.stdout.split(separator: "\r\n")
        #expect(rows.count == 8 && rows.dropFirst().allSatisfy { $0.hasSuffix(",globex") })
        let both = try await run(s, ["list", "--account", "globex", "--account", "acme", "--format", "ndjson"])
        #expect(both.stdout.split(separator: "\n").count == 12)
        let report = try await run(s, ["report", "--format", "json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(report.stdout.utf8)) as? [String: Any])
        #expect((object["accounts"] as? [[String: Any]])?.map { $0["name"] as? String } == ["acme", "globex"])
        let text = try await run(s, ["report"])
        #expect(text.stdout.contains("By account: 2") && text.stdout.contains("  total"), "\(text.stdout)")

        // What the sandbox saw: each tenant listed only by its own token.
        let log = await s.sandbox.requestLog().filter { $0.path == "/v1/installers" }
        #expect(Set(log.map(\.tenant)) == [Self.acme, Self.globex])
        try s.expectNoSecrets()
        await s.stop()
    }

    @Test func anInstallerESETStopsListingIsDeletedThenRestored() async throws {
        let s = try await Self.sandbox()
        try await Self.addBoth(s, self)
        #expect(try await run(s, ["sync", "--all"]).status == 0)
        let uuid = try #require(await s.sandbox.installers(tenant: Self.acme).first(where: \.usable)?.uuid)
        #expect(await s.sandbox.setListed(uuid: uuid, false))
        let gone = try await run(s, ["sync", "--account", "acme"])
        #expect(gone.stdout.hasPrefix("4 listed: 0 new, 0 changed, 4 unchanged, 1 deleted"), "\(gone.stdout)")
        // globex's sync never touches acme's installers.
        let other = try await run(s, ["sync", "--account", "globex"])
        #expect(other.stdout.contains("0 deleted"))
        #expect(await s.sandbox.setListed(uuid: uuid, true))
        let back = try await run(s, ["sync", "--account", "acme"])
        #expect(back.stdout.hasPrefix("5 listed: 0 new, 1 changed, 4 unchanged, 1 restored, 0 deleted"), "\(back.stdout)")
        let history = try await run(s, ["history", uuid, "--format", "csv"])
        let kinds = history.stdout.split(separator: "\r\n").dropFirst().map { $0.split(separator: ",")[3] }
        #expect(kinds == ["recorded", "deleted", "restored"], "\(history.stdout)")
        let shown = try await run(s, ["show", uuid, "--format", "json"])
        #expect(shown.stdout.contains("\"status\":\"usable\"") && shown.stdout.contains("\"account\":\"acme\""))
        await s.stop()
    }

    @Test func syncAllRunsEveryAccountAndOneFailingDoesNotStopTheOthers() async throws {
        let s = try await Self.sandbox()
        try await Self.addBoth(s, self)
        let all = try await run(s, ["sync", "--all"])
        #expect(all.status == 0, "\(all.stderr)")
        #expect(all.stdout == """
            acme: 5 listed: 5 new, 0 changed, 0 unchanged, 0 deleted, 0 pending resolved
            globex: 7 listed: 7 new, 0 changed, 0 unchanged, 0 deleted, 0 pending resolved
            2 accounts: 2 ok, 0 failed

            """)
        // globex's password variable is missing: acme still syncs, exit 77 names globex and
        // the variable, never a secret.
        let broken = try await run(s, ["sync", "--all"], ["GLOBEX_PASSWORD": ""])
        #expect(broken.status == 77, "\(broken.stdout) \(broken.stderr)")
        #expect(broken.stdout.contains("acme: 5 listed") && broken.stdout.contains("globex: failed (exit 77)"))
        #expect(broken.stderr.contains("globex") && broken.stderr.contains("GLOBEX_PASSWORD"))
        // A wrong password for one: 77 for it, the other fine.
        let wrong = try await run(s, ["reconcile", "--all"], ["ACME_PASSWORD": "wrong"])
        #expect(wrong.status == 77 && wrong.stdout.contains("globex: ") && wrong.stdout.contains("acme: failed (exit 77)"),
                "\(wrong.stdout) \(wrong.stderr)")
        // Each run recorded as its own, per account.
        let ledger = try s.ledger()
        let runs = try ledger.accountSummaries().map { ($0.account.name, $0.lastSuccessfulSync != nil) }
        #expect(runs.map(\.1) == [true, true])
        try s.expectNoSecrets()
        await s.stop()
    }

    @Test func badAccountInputIsRefusedWithWhatIsAllowed() async throws {
        let s = try await Self.sandbox()
        try await Self.addBoth(s, self)
        let bad = try await run(s, ["sync", "--account", "Acme Inc"])
        #expect(bad.status == 64 && bad.stderr.contains("lower-case letters"), "\(bad.stderr)")
        let unknown = try await run(s, ["list", "--account", "initech"])
        #expect(unknown.status == 64 && unknown.stderr.contains("accounts: acme, globex"), "\(unknown.stderr)")
        let again = try await run(s, ["account", "add", "acme", "--region", "eu", "--username", "x", "--password-env", "X"])
        #expect(again.status == 64 && again.stderr.contains("exists already"))
        let neither = try await run(s, ["account", "add", "initech", "--region", "eu", "--username", "x"])
        #expect(neither.status == 64 && neither.stderr.contains("--password-env"))
        let file = s.folder.file("initech.password")
        try "secret-for-initech\n".write(toFile: file, atomically: true, encoding: .utf8)
        chmod(file, 0o644)
        let readable = try await run(s, ["account", "add", "initech", "--region", "eu", "--username", "x", "--password-file", file])
        #expect(readable.status == 64 && readable.stderr.contains("chmod 600") && !readable.stderr.contains("secret-for-initech"))
        // Saved answers need an owner when the ledger has several accounts.
        let examples = repositoryRoot.appendingPathComponent("examples/installers.ndjson").path
        let unowned = try await run(s, ["import", examples])
        #expect(unowned.status == 64 && unowned.stderr.contains("--account"), "\(unowned.stderr)")
        let owned = try await run(s, ["import", examples, "--account", "acme"])
        #expect(owned.status == 0, "\(owned.stderr)")
        let imported = try s.ledger().installers(matching: InstallerFilter(), at: .now())
        #expect(!imported.isEmpty && imported.allSatisfy { $0.account == "acme" })
        // Removing one with installers: refused; --archive keeps it, hidden from defaults.
        #expect(try await run(s, ["sync", "--all"]).status == 0)
        let remove = try await run(s, ["account", "remove", "globex"])
        #expect(remove.status == 64 && remove.stderr.contains("--archive"), "\(remove.stderr)")
        #expect(try await run(s, ["account", "remove", "globex", "--archive"]).status == 0)
        let defaults = try await run(s, ["list", "--format", "csv"])
        #expect(defaults.stdout.split(separator: "\r\n").dropFirst().allSatisfy { $0.hasSuffix(",acme") }, "\(defaults.stdout)")
        let archived = try await run(s, ["list", "--account", "globex", "--format", "csv"])
        #expect(archived.stdout.split(separator: "\r\n").count == 8)
        // sync --all skips the archived account: only acme runs.
        let all = try await run(s, ["sync", "--all"])
        #expect(all.stdout.hasPrefix("acme: ") && !all.stdout.contains("globex"), "\(all.stdout)")
        let renamed = try await run(s, ["account", "rename", "acme", "acme-eu"])
        #expect(renamed.status == 0)
        let shown = try await run(s, ["account", "show", "acme-eu"])
        #expect(shown.stdout.contains("installers:        \(5 + imported.count): "), "\(shown.stdout)")
        try s.expectNoSecrets()
        await s.stop()
    }

    @Test func aPlanWithAnAccountColumnCreatesForEachCustomer() async throws {
        let s = try await Self.sandbox()
        try await Self.addBoth(s, self)
        let plan = try s.plan("plan.csv", """
            account,name,os
            acme,Branch PCs,windows
            globex,Branch PCs,windows

            """)
        let first = try await run(s, ["create", "--from", plan])
        #expect(first.status == 0 && first.stdout.hasSuffix("2 created, 0 skipped (already done), 0 failed, 0 uncertain\n"),
                "\(first.stdout) \(first.stderr)")
        let again = try await run(s, ["create", "--from", plan])
        #expect(again.stdout.hasSuffix("0 created, 2 skipped (already done), 0 failed, 0 uncertain\n"), "\(again.stdout)")
        #expect(await s.sandbox.installers(tenant: Self.acme).count == 6)
        #expect(await s.sandbox.installers(tenant: Self.globex).count == 8)
        await s.stop()
    }
}
