import ArgumentParser
import InstallerLedger

extension InstallerLedgerCommand {
    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show one installer: every field, products, components, history and its download URL.",
            discussion: """
                ID is a full uuid or a unique prefix of one (as 'list' prints). The download URL is a \
                secret: whoever holds it can install and consume licence units until the installer expires.

                Examples:
                  installer-ledger show 3f1c9a2e
                  installer-ledger show 3f1c9a2e-5b7d-4c1a-9e2f-0a1b2c3d4e5f --format json
                """)

        @OptionGroup var global: GlobalOptions
        @OptionGroup var accounts: ReadScopeOptions
        @OptionGroup var clock: ClockOptions

        @Argument(help: ArgumentHelp("The installer's uuid or a unique prefix.", valueName: "id"))
        var id: String

        @Option(help: ArgumentHelp("table or json.", valueName: "format"))
        var format: String = "table"

        func validate() throws {
            guard ["table", "json"].contains(format.lowercased()) else {
                throw ValidationError("'\(format)' is not a format for show: use table or json")
            }
        }

        func run() async throws {
            try await withExitCodes {
                let ledger = try global.openExistingLedger()
                let entry = try ledger.installer(id)
                if !accounts.names.isEmpty, let ids = try accounts.scope(ledger).ids, !ids.contains(entry.accountID ?? -1) {
                    throw CommandFailure(status: .usage, message: "installer \(entry.installer.uuid) belongs to account '\(entry.account)', not to \(accounts.names.joined(separator: ", "))")
                }
                var filter = EventFilter()
                filter.installerUuid = entry.installer.uuid
                let history = try ledger.events(matching: filter)
                var out = StandardOutput()
                if format.lowercased() == "json" {
                    try out.write(InstallerDetailRenderer.json(entry, history: history))
                } else {
                    try out.write(InstallerDetailRenderer.table(entry, history: history, now: clock.current))
                }
                try out.flush()
            }
        }
    }
}
