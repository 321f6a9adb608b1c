import ArgumentParser
import InstallerLedger

extension InstallerLedgerCommand {
    struct Sync: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Bring the ledger in line with everything ESET Connect lists.",
            discussion: """
                Pages through GET /v1/installers (1000 a page), adopts installers the ledger does not know \
                (created by other scripts), refreshes known ones ('changed' events), marks as deleted those \
                ESET no longer lists, and resolves pending creations by display name, OS, group and creation \
                time. Creations still unmatched 15 minutes after they were sent are marked as not created. \
                The run is recorded for the report's staleness check.

                Example:
                  ESET_CONNECT_USERNAME=api@example.com ESET_CONNECT_PASSWORD=... installer-ledger sync
                """)

        @OptionGroup var global: GlobalOptions
        @OptionGroup var api: APIOptions

        func run() async throws {
            try await withExitCodes {
                let ledger = try global.openLedger()  // first: it sets up logging, which the client's logger needs
                let client = try api.client()
                let summary = try await InstallerSync(ledger: ledger, client: client).run()
                var out = StandardOutput()
                try out.write(summary.line + "\n")
                for id in summary.stillPending {
                    try out.write("pending creation \(id) has not appeared at ESET yet; run sync again in a few minutes\n")
                }
                try out.flush()
            }
        }
    }
}
