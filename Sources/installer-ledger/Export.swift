import ArgumentParser
import Foundation
import InstallerLedger

extension InstallerLedgerCommand {
    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Export installers, their products or the history as CSV for auditors.",
            discussion: """
                RFC 4180 CSV (UTF-8, CRLF line ends, a header row), timestamps in UTC RFC 3339, booleans \
                true/false, operating systems as words next to ESET's numeric id. Columns are listed in \
                the README. Cells starting with = + - @ tab or CR get a leading ' so spreadsheets do not \
                run them as formulas (--raw keeps them as they are). Download URLs are [redacted] unless \
                --include-download-urls.

                Tables: installers (one row per installer), products (one row per installer and \
                activated product, with the installer's key columns), events (the history). Rows come \
                in uuid order (events in the order written).

                --since/--until select by ESET creation time (installers, products) or event time \
                (events); --since is inclusive, --until exclusive. --as-of DATE writes each installer \
                as it stood then, rebuilt from the history as 'list --as-of' does (a date means the end \
                of that UTC day); for events, the history up to then.

                With --output FILE the CSV is written to a temporary file in the same folder and renamed \
                into place when complete, and FILE.sha256 is written beside it with the SHA-256, the row \
                count and the options; check it with 'sha256sum -c FILE.sha256' in that folder. An \
                interrupted export leaves nothing under either name. Without --output, CSV goes to \
                standard output.

                Examples:
                  installer-ledger export --output installers.csv
                  installer-ledger export --table products --as-of 2026-03-31 --output q1.csv
                  installer-ledger export --table events --since 2026-01-01 > events.csv
                  installer-ledger export --excel --output for-excel.csv
                """)

        @OptionGroup var global: GlobalOptions
        @OptionGroup var accounts: ReadScopeOptions
        @OptionGroup var clock: ClockOptions

        @Option(help: ArgumentHelp("installers, products or events.", valueName: "table"), completion: ValueParsing.values(ExportTable.self),
                transform: ValueParsing.choiceOf(ExportTable.self, what: "table"))
        var table: ExportTable = .installers

        @Option(help: ArgumentHelp("Write to this file (atomically, with FILE.sha256 beside it) instead of standard output.",
                                   valueName: "file"), completion: .file())
        var output: String?

        @Option(help: ArgumentHelp("Created (events: happened) at or after this date.", valueName: "date"),
                transform: ValueParsing.date)
        var since: Timestamp?

        @Option(help: ArgumentHelp("Created (events: happened) before this date.", valueName: "date"),
                transform: ValueParsing.date)
        var until: Timestamp?

        @Option(name: .customLong("as-of"), help: ArgumentHelp(
            "The state on this date, rebuilt from the history (a date means the end of that UTC day).", valueName: "date"),
                transform: ValueParsing.asOf)
        var asOf: Timestamp?

        @Flag(name: .customLong("include-download-urls"), help: "Write the secret download URLs instead of [redacted].")
        var includeDownloadUrls = false

        @Flag(help: "Do not prefix formula-like cells with '.")
        var raw = false

        @Flag(help: "Start with a UTF-8 byte order mark, so Excel reads UTF-8.")
        var excel = false

        func validate() throws {
            if let since, let until, until <= since { throw ValidationError("--until must be later than --since") }
            if output?.isEmpty == true { throw ValidationError("--output needs a file name") }
        }

        var options: ExportOptions {
            var o = ExportOptions()
            o.table = table
            (o.since, o.until, o.asOf) = (since, until, asOf)
            o.includeDownloadUrls = includeDownloadUrls
            o.neutralisesFormulas = !raw
            o.excelByteOrderMark = excel
            return o
        }

        func run() async throws {
            try await withExitCodes {
                let ledger = try global.openExistingLedger()
                var options = options
                options.scope = try accounts.scope(ledger)
                guard let output else {
                    _ = try ledger.exportCSV(options) { chunk in try StandardOutput.writeAll(chunk) }
                    return
                }
                let summary = try ledger.exportCSV(options, toFile: output, generatedAt: clock.current,
                                                   onTemporaryFile: Interrupts.removeOnInterrupt)
                print("\(summary.rows) rows written to \(output) (sha256 \(summary.sha256), manifest \(output).sha256)")
            }
        }
    }
}

extension StandardOutput {
    /// Writes bytes to standard output at once (the export hands over large chunks).
    static func writeAll(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Foundation.write(1, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EPIPE { throw ExitCode.success }
                throw OutputError(description: "cannot write to standard output: \(String(cString: strerror(errno)))")
            }
            offset += n
        }
    }
}
