import ArgumentParser
import Foundation
import InstallerLedger

/// The command line: parse, call the library, render, map errors to exit codes.
@main
struct InstallerLedgerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "installer-ledger",
        abstract: "A SQLite ledger of every installer created through the ESET Connect API.",
        discussion: """
            ESET Connect installers never appear in the ESET PROTECT Web Console, consume licence units, \
            enrol devices into a group and silently expire six months after creation. The ledger records \
            each one with its history so you always know which exist, which still work and which expire soon.

            The ledger lives at $INSTALLER_LEDGER_DB, else $XDG_DATA_HOME/installer-ledger/ledger.sqlite, \
            else ~/.local/share/installer-ledger/ledger.sqlite (override with --db).

            Exit codes: 0 success, 64 usage error, 65 bad input data, 69 ESET Connect unavailable, \
            70 internal error, 74 local I/O error, 75 outcome uncertain (recorded as pending), \
            77 not allowed; report uses 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
            """,
        version: "0.1.0",
        subcommands: [Import.self, List.self, Show.self, History.self, Create.self, Sync.self, Delete.self,
                      Reconcile.self, Report.self, Export.self, Rotate.self, Gaps.self, AccountCommand.self, Demo.self]
    )

    static func main() async {
        umask(0o077)
        do {
            var command = try parseAsRoot()
            if var async = command as? AsyncParsableCommand {
                try await async.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}
