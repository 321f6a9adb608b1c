import ArgumentParser
import InstallerLedger

extension InstallerLedgerCommand {
    struct Gaps: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List device groups and products that will have no usable installer at a date.",
            discussion: """
                For each device group and each product of the installers in the ledger (deleted ones \
                aside), checks whether at least one installer will still be usable at --at (default: 30 \
                days from now), and lists those that will have none, with the installer that covered them \
                last and when it stops. Installers without a security group count as one group ('-').

                Exits 0 whether or not there are gaps (it answers a question); 'report' carries the \
                monitoring status. Close the gaps with 'installer-ledger rotate --within 30d'.

                Examples:
                  installer-ledger gaps
                  installer-ledger gaps --at 2027-01-01 --format json
                """)

        @OptionGroup var global: GlobalOptions
        @OptionGroup var accounts: ReadScopeOptions
        @OptionGroup var clock: ClockOptions

        @Option(help: ArgumentHelp("The date to check (default: 30 days from now).", valueName: "date"),
                transform: ValueParsing.date)
        var at: Timestamp?

        @OptionGroup var output: ListFormatOptions

        /// How far ahead `gaps` looks by default, as `report --warn`.
        static let defaultHorizon = LedgerDuration.days(30)

        func run() async throws {
            try await withExitCodes {
                let ledger = try global.openExistingLedger()
                let now = clock.current
                let gaps = try ledger.coverageGaps(at: at ?? now.adding(Self.defaultHorizon), scope: try accounts.scope(ledger))
                var renderer = CoverageGapRenderer(format: output.format, gaps: gaps, now: now,
                                                   showsAccount: try accounts.showsAccount(ledger))
                var out = StandardOutput()
                try out.write(renderer.text())
                try out.flush()
            }
        }
    }
}
