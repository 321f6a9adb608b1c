import ArgumentParser
import Foundation
import InstallerLedger

extension InstallerLedgerCommand {
    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record saved ESET Connect answers in the ledger.",
            discussion: """
                Accepts a create/get answer {"installer": {...}}, a bare installer object, a list answer \
                {"installers": [...]}, a JSON array of these, or NDJSON (one per line). Reads standard input \
                when no FILE is given or FILE is '-'.

                Installers are matched by uuid: new ones are recorded, changed ones get a 'changed' event \
                with old and new values, identical ones are left alone. All files of one run are one \
                transaction: if any record is malformed, nothing is written and the error names the file, \
                line, record and field (exit 65).

                Examples:
                  installer-ledger import examples/create-answer.json
                  installer-ledger import examples/list-page-1.json examples/list-page-2.json
                  my-script | installer-ledger import -
                """)

        @OptionGroup var global: GlobalOptions
        @OptionGroup var clock: ClockOptions

        @Argument(help: ArgumentHelp("Files of saved answers ('-' for standard input).", valueName: "file"), completion: .file())
        var files: [String] = []

        @Option(help: ArgumentHelp(
            "The account the answers were saved from (env INSTALLER_LEDGER_ACCOUNT); required when the ledger has several.",
            valueName: "name"), transform: accountName)
        var account: String?

        func run() async throws {
            try await withExitCodes {
                let paths = files.isEmpty ? ["-"] : files
                let inputs = try paths.map(ImportInput.read(path:))
                let ledger = try global.openLedger()
                let env = ProcessInfo.processInfo.environment["INSTALLER_LEDGER_ACCOUNT"]
                let named = try (account ?? (env?.isEmpty == false ? env : nil)).map { try ledger.account(named: $0) }
                let summary = try ledger.importAnswers(inputs, at: clock.current, account: named)
                var out = StandardOutput()
                try out.write(summary.line + "\n")
                for warning in summary.conflictWarnings { StandardError.write("installer-ledger: warning: \(warning)\n") }
                try out.flush()
            }
        }
    }
}
