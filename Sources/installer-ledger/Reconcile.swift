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
                """)

        @OptionGroup var global: GlobalOptions
        @OptionGroup var api: APIOptions

        @Flag(help: "Clock part only: do not ask ESET Connect (no credentials needed).")
        var offline = false

        @Flag(name: .customLong("dry-run"), help: "Print what would change and write nothing.")
        var dryRun = false

        @OptionGroup var clock: ClockOptions

        func run() async throws {
            try await withExitCodes {
                let client = offline ? nil : try api.client()
                let ledger = try global.openLedger()
                let fixed = clock.now
                let reconciler = Reconciler(ledger: ledger, client: client, now: { fixed ?? .now() })
                let plan = try await reconciler.run(dryRun: dryRun)
                var out = StandardOutput()
                try out.write(ReconcileRendering.text(plan, dryRun: dryRun))
                try out.flush()
            }
        }
    }
}
