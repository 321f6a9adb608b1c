import ArgumentParser
import InstallerLedger

extension InstallerLedgerCommand {
    struct Report: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The expiry report for cron and monitoring: exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.",
            discussion: """
                Sections: installers expired since the previous report (in the same format), usable ones \
                expiring within --critical and within --warn, coverage gaps (device groups and products \
                without a usable installer by now + --warn, as 'gaps' lists them), and usable installers by \
                device group and by product (how many, and until when). Exit 2 when something expires within \
                --critical or has expired since the previous report, or a group or product is without a \
                usable installer within --critical; 1 when something expires, or a group or product is left \
                without one, within --warn; 3 (UNKNOWN) when \
                the ledger cannot be read or the last successful sync (or reconcile that asked ESET) is older \
                than --max-sync-age or absent: "cannot tell" never reads as fine. A report never creates a \
                ledger, and never shows download URLs.

                The first line of the text format is a monitoring-plugin line with performance data \
                ('label'=value;warn;crit). With --output the report goes to FILE (written atomically; a \
                replaced file keeps its permissions) and only that line is printed.

                Examples:
                  installer-ledger report
                  installer-ledger report --quiet            # for cron: silent when OK
                  installer-ledger report --warn 45d --critical 10d --format markdown
                  installer-ledger report --format prometheus --output ledger.prom
                """)

        @OptionGroup var global: GlobalOptions
        @OptionGroup var accounts: ReadScopeOptions

        @Option(help: ArgumentHelp("WARNING when a usable installer expires within this (default 30d).", valueName: "duration"),
                transform: ValueParsing.duration)
        var warn: LedgerDuration = .days(30)

        @Option(help: ArgumentHelp("CRITICAL when a usable installer expires within this (default 7d).", valueName: "duration"),
                transform: ValueParsing.duration)
        var critical: LedgerDuration = .days(7)

        @Option(name: .customLong("max-sync-age"), help: ArgumentHelp(
            "UNKNOWN when the last successful sync or reconcile is older than this (default 26h).", valueName: "duration"),
                transform: ValueParsing.duration)
        var maxSyncAge: LedgerDuration = .hours(26)

        @Option(help: ArgumentHelp("text, json, csv, markdown or prometheus.", valueName: "format"),
                completion: ValueParsing.values(ReportFormat.self),
                transform: ValueParsing.choiceOf(ReportFormat.self, what: "report format"))
        var format: ReportFormat = .text

        @Option(help: ArgumentHelp("Write the report to this file atomically (temporary file + rename).", valueName: "file"),
                completion: .file())
        var output: String?

        @Flag(help: "Print nothing when the result is OK (cron mails only when there is something to do).")
        var quiet = false

        @OptionGroup var clock: ClockOptions

        func validate() throws {
            guard critical.nanoseconds <= warn.nanoseconds else {
                throw ValidationError("--critical (\(critical)) must not be longer than --warn (\(warn))")
            }
        }

        func run() async throws {
            try await withExitCodes {
                let chosen = format
                let thresholds = ReportThresholds(warn: warn, critical: critical, maxSyncAge: maxSyncAge)
                let outcome = ExpiryReporter(ledgerPath: global.ledgerPath, thresholds: thresholds, format: chosen,
                                             now: clock.current, accounts: accounts.names).run()
                for problem in [outcome.ledgerProblem, outcome.recordingProblem].compactMap({ $0 }) {
                    StandardError.write("installer-ledger: \(outcome.ledgerProblem == problem ? "error" : "warning"): \(problem)\n")
                }
                let report = outcome.report
                let rendered = ReportRendering.render(report, as: chosen)
                if let output { try ReportFile.write(rendered, to: output) }
                if !(quiet && report.status == .ok) {
                    var out = StandardOutput()
                    try out.write(output == nil ? rendered : report.pluginLine + "\n")
                    try out.flush()
                }
                throw ExitCode(report.status.exitCode)
            }
        }
    }
}
