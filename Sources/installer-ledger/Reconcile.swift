import ArgumentParser
import InstallerLedger

extension InstallerLedgerCommand {
    struct Reconcile: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Mark installers unusable: expired by the clock, unusable or deleted at ESET Connect.",
            discussion: """
                Clock part: every usable installer whose expiry is at or before now becomes unusable \
                ('became_unusable', reason expired). API part (skipped with --offline): every installer the \
                ledger holds as usable is checked with ESET Connect in as few requests as possible (list pages \
                of 1000, or one GET each when that is fewer); 'usable: false' makes it unusable (reason api), \
                gone from ESET makes it deleted. Where the clock and ESET disagree (ESET says usable after \
                expiry, or unusable long before it) the disagreement is shown and kept in the event's details.

                Everything is applied in one transaction; a second run changes nothing. The run is recorded \
                for the report's staleness check (an --offline run does not count as a refresh from ESET).

                Examples:
                  installer-ledger reconcile
                  installer-ledger reconcile --offline --dry-run
                  installer-ledger reconcile --offline --now 2027-01-01
                  installer-ledger reconcile --all

                With several accounts, the API part works for one account (--account NAME) or for each in \
                turn (--all: up to 4 at once, each recorded as its own run, the exit code the worst of \
                them). --offline without --account applies the clock to every account.
                """)

        @OptionGroup var global: GlobalOptions
        @OptionGroup var api: APIOptions

        @Flag(help: "Clock part only: do not ask ESET Connect (no credentials needed).")
        var offline = false

        @Flag(name: .customLong("dry-run"), help: "Print what would change and write nothing.")
        var dryRun = false

        @Flag(help: "Reconcile every account of the ledger (up to 4 at once).")
        var all = false

        @OptionGroup var clock: ClockOptions

        func validate() throws {
            if all, api.account != nil { throw ValidationError("give either --all or --account, not both") }
            if all, offline { throw ValidationError("--offline already covers every account: drop --all") }
        }

        func run() async throws {
            try await withExitCodes {
                // An offline dry run only reads: it never creates a ledger.
                let ledger = try offline && dryRun ? global.openExistingLedger() : global.openLedger()
                let fixed = clock.now
                var out = StandardOutput()
                if all {
                    let credentials = api.credentials
                    let accounts = try ledger.accountsForAll(credentials: credentials, at: .now())
                    let dryRun = dryRun
                    let results = await EachAccount.run(accounts) { account in
                        let client = ESETConnectClient(configuration: try ESETConnectConfiguration(account: account, credentials: credentials))
                        return try await Reconciler(ledger: ledger, client: client, account: account, now: { fixed ?? .now() })
                            .run(dryRun: dryRun)
                    }
                    try reportEach(results, out: &out) { ReconcileRendering.summaryLine($0, dryRun: dryRun) }
                    return
                }
                var account: Account?
                var client: ESETConnectClient?
                if offline {
                    account = try api.accountName.map { try ledger.account(named: $0) }
                } else {
                    (account, client) = try api.client(for: ledger)
                }
                let reconciler = Reconciler(ledger: ledger, client: client, account: account, now: { fixed ?? .now() })
                let plan = try await reconciler.run(dryRun: dryRun)
                try out.write(ReconcileRendering.text(plan, dryRun: dryRun))
                try out.flush()
            }
        }
    }
}
