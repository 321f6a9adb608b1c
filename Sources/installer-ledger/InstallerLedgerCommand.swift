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
            else ~/.local/share/installer-ledger/ledger.sqlite (override with --db, before or after the \
            subcommand). Commands that only read never create one.

            One ledger keeps many ESET accounts (one per customer company): see 'installer-ledger account \
            --help'. With one account no account command is needed.

            Exit codes: 0 success, 64 usage error, 65 bad input data, 66 no ledger at that path, 69 ESET \
            Connect unavailable, 70 internal error, 74 local I/O error (full disk, read-only ledger), 75 outcome \
            uncertain (recorded as pending) or ledger locked (run again), 77 not allowed; report uses 0 OK, \
            1 WARNING, 2 CRITICAL, 3 UNKNOWN.
            """,
        version: "0.1.0",
        subcommands: [Import.self, List.self, Show.self, History.self, Create.self, Sync.self, Delete.self,
                      Reconcile.self, Report.self, Export.self, Rotate.self, Gaps.self, Copy.self, AccountCommand.self, Demo.self]
    )

    static func main() async {
        umask(0o077)
        let arguments = Self.globalOptionsMoved(Array(CommandLine.arguments.dropFirst()))
        GlobalOptions.bootstrapLogging(verbose: arguments.contains("-v") || arguments.contains("--verbose"))
        do {
            var command = try parseAsRoot(arguments)
            if var async = command as? AsyncParsableCommand {
                try await async.run()
            } else {
                try command.run()
            }
        } catch {
            // A check's caller reads only 0-3: a usage error of `report` is UNKNOWN (3), with
            // the message and the usage line, as monitoring plugins answer.
            if arguments.first == "report", exitCode(for: error) == .validationFailure {
                print("INSTALLERS UNKNOWN - \(fullMessage(for: error))")
                Foundation.exit(3)
            }
            exit(withError: error)
        }
    }

    /// The global options (`--db PATH`, `--db=PATH`, `-v`, `--verbose`) given before the
    /// subcommand, moved to the end (before a `--`), where every subcommand reads them:
    /// `installer-ledger --db X import f` is `installer-ledger import f --db X`.
    static func globalOptionsMoved(_ arguments: [String]) -> [String] {
        var rest = arguments[...]
        var moved = [String]()
        while let first = rest.first {
            if first == "-v" || first == "--verbose" || first.hasPrefix("--db=") {
                moved.append(first)
                rest = rest.dropFirst()
            } else if first == "--db", rest.count >= 2 {
                moved += rest.prefix(2)
                rest = rest.dropFirst(2)
            } else {
                break
            }
        }
        guard !moved.isEmpty, !rest.isEmpty else { return arguments }
        var out = Array(rest)
        out.insert(contentsOf: moved, at: out.firstIndex(of: "--") ?? out.count)
        return out
    }
}
