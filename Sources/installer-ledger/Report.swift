import ArgumentParser
import Foundation
import InstallerLedger

extension InstallerLedgerCommand {
    struct Report: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The expiry report for cron and monitoring: exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.",
            discussion: """
                Sections: installers expired within --expired-within (default 26h, so a nightly run with a \
                random delay never misses one), usable ones expiring within --critical and within --warn, \
                coverage gaps (device groups and products without a usable installer by now + --warn, as \
                'gaps' lists them), and usable installers by device group and by product (how many, and until \
                when). Exit 2 when something expires within --critical or expired within --expired-within, or \
                a group or product is without a usable installer within --critical; 1 when something \
                expires, or a group or product is left without one, within --warn; 3 (UNKNOWN) when the \
                ledger cannot be read, an account's last successful sync (or reconcile that asked ESET) is \
                older than --max-sync-age or absent (--max-sync-age off for a ledger fed by import), the \
                report took longer than --timeout, or its arguments are wrong: "cannot tell" never reads as \
                fine. The verdict is a function of the ledger, --now and the thresholds alone: the same \
                however often the check runs. A report never writes or creates a ledger, and never shows \
                download URLs.

                The first line of the text format is a monitoring-plugin line: status, counts and \
                performance data ('label'=value;warn;crit); the details follow as long output, with no '|'. \
                --format html is one self-contained page with a 90-day timeline. With --output the report \
                goes to FILE (written atomically; a replaced file keeps its permissions) and only that line \
                is printed.

                Examples:
                  installer-ledger report
                  installer-ledger report --quiet            # for cron: silent when OK
                  installer-ledger report --warn 45d --critical 10d --format markdown
                  installer-ledger report --format prometheus --output ledger.prom
                  installer-ledger report --max-sync-age off   # a ledger fed by import only
                  installer-ledger report --timeout 9s         # under NRPE's 10 s
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
            "UNKNOWN when an account's last successful sync or reconcile is older than this (default 26h; off: not checked).",
            valueName: "duration|off"), transform: ValueParsing.durationOrOff)
        var maxSyncAge: LedgerDuration? = .hours(26)

        @Option(name: .customLong("expired-within"), help: ArgumentHelp(
            "CRITICAL for installers that expired within this before now (default 26h).", valueName: "duration"),
                transform: ValueParsing.duration)
        var expiredWithin: LedgerDuration = .hours(26)

        @Option(help: ArgumentHelp("UNKNOWN when the report takes longer than this (e.g. 9s under NRPE's 10 s; default: no limit).",
                                   valueName: "duration"), transform: ValueParsing.duration)
        var timeout: LedgerDuration?

        @Option(help: ArgumentHelp("text, json, csv, markdown, prometheus or html (one self-contained page with a timeline).",
                                   valueName: "format"),
                completion: ValueParsing.values(ReportFormat.self),
                transform: ValueParsing.choiceOf(ReportFormat.self, what: "report format"))
        var format: ReportFormat = .text

        @Option(help: ArgumentHelp("Write the report to this file atomically (temporary file + rename).", valueName: "file"),
                completion: .file())
        var output: String?

        @Flag(name: .customLong("per-installer"), help: "Prometheus: also one expiry gauge per usable installer (labels account, uuid, group_uuid).")
        var perInstaller = false

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
                let thresholds = ReportThresholds(warn: warn, critical: critical, maxSyncAge: maxSyncAge, expiredWithin: expiredWithin)
                var reporter = ExpiryReporter(ledgerPath: global.ledgerPath, thresholds: thresholds, format: chosen,
                                              now: clock.current, accounts: accounts.names)
                reporter.perInstaller = perInstaller
                let configured = reporter
                let outcome = try Self.within(timeout, thresholds: thresholds, now: clock.current) { configured.run() }
                if let problem = outcome.ledgerProblem { StandardError.write("installer-ledger: error: \(problem)\n") }
                let report = outcome.report
                let rendered = ReportRendering.render(report, as: chosen, perInstaller: perInstaller)
                if let output { try ReportFile.write(rendered, to: output) }
                if !(quiet && report.status == .ok) {
                    var out = StandardOutput()
                    try out.write(output == nil ? rendered : report.pluginLine + "\n")
                    try out.flush()
                }
                throw ExitCode(report.status.exitCode)
            }
        }

        /// Runs the report on a thread of its own; past `timeout` the check answers UNKNOWN
        /// at once (the monitoring-plugin convention) and the process ends.
        static func within(_ timeout: LedgerDuration?, thresholds: ReportThresholds, now: Timestamp,
                           _ body: @escaping @Sendable () -> ReportOutcome) throws -> ReportOutcome {
            guard let timeout else { return body() }
            let done = DispatchSemaphore(value: 0)
            nonisolated(unsafe) var outcome: ReportOutcome?
            Thread {
                outcome = body()
                done.signal()
            }.start()
            let seconds = Double(timeout.nanoseconds) / 1e9
            if done.wait(timeout: .now() + seconds) == .timedOut {
                let report = ExpiryReport.unavailable(reason: "the report took longer than --timeout \(timeout)",
                                                      short: "timed out after \(timeout)", thresholds: thresholds, now: now)
                var out = StandardOutput()
                try out.write(report.pluginLine + "\n")
                try out.flush()
                Foundation.exit(report.status.exitCode)
            }
            return outcome!
        }
    }
}
