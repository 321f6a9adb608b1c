import ArgumentParser
import Foundation
import InstallerLedger

extension InstallerLedgerCommand {
    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke an installer at ESET Connect and record it as deleted.",
            discussion: """
                Its download link stops working. On a terminal it asks first; --yes skips the question \
                (needed in scripts). If ESET no longer knows the installer, it is recorded as deleted anyway.

                Example:
                  installer-ledger delete 8a6a63ec --yes
                """)

        @OptionGroup var global: GlobalOptions
        @OptionGroup var api: APIOptions

        @Argument(help: ArgumentHelp("The installer's uuid or a unique prefix.", valueName: "id"))
        var id: String

        @Flag(help: "Do not ask for confirmation.")
        var yes = false

        func run() async throws {
            try await withExitCodes {
                let ledger = try global.openLedger()
                let entry = try ledger.installer(id)
                let uuid = entry.installer.uuid
                if !yes {
                    let question = "Revoke installer \(uuid) \"\(entry.installer.displayName)\" at ESET? Its download link stops working."
                    guard try confirm(question, refusal: "refusing to delete without confirmation") else {
                        StandardError.write("nothing deleted\n")
                        return
                    }
                }
                // The installer's own account revokes it; --account, if given, must be that one.
                guard let account = try ledger.accounts().first(where: { $0.id == entry.accountID }) else {
                    throw AccountError.none
                }
                if let named = api.accountName, named != account.name {
                    throw AccountError.invalid("installer \(uuid) belongs to account '\(account.name)', not '\(named)'")
                }
                let client = try api.client(for: ledger.accountForRun(named: account.name, credentials: api.credentials, at: .now()))
                var note = ""
                do {
                    try await client.deleteInstaller(uuid: uuid)
                } catch ESETConnectError.http(404, _, _) {
                    note = " (ESET no longer knew it)"
                }
                try ledger.markDeleted(uuid: uuid, source: .delete, at: .now())
                var out = StandardOutput()
                try out.write("deleted \(uuid)\(note)\n")
                try out.flush()
            }
        }
    }
}
