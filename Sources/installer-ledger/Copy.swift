import ArgumentParser
import Foundation
import InstallerLedger

extension InstallerLedgerCommand {
    struct Copy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy the ledger, with its whole history, into an empty SQLite file or PostgreSQL database, and back.",
            discussion: """
                Every table is copied: installers, products, components, raw answers, the history, pending \
                creations, runs, accounts and successions. The destination must be empty: a new or empty file, \
                or a PostgreSQL database without tables (its schema is created by the same numbered migrations, in \
                PostgreSQL's dialect). A copy that fails leaves the destination as it was. With --db naming a \
                PostgreSQL ledger, the copy goes the other way, into a new ledger file (read in one snapshot).

                PostgreSQL: DEST is postgresql://[user@]host[:port]/dbname[?sslmode=disable|prefer|require|verify-full\
                &sslrootcert=FILE]. The password comes, as with libpq, from PGPASSWORD, from PGPASSFILE or ~/.pgpass \
                (refused unless mode 0600), or from the URL; it is never printed. Every command then runs on \
                the copy with --db naming that URL.

                Examples:
                  installer-ledger copy --to /backup/ledger-2026-12-01.sqlite
                  installer-ledger copy --to 'postgresql://ledger@db.example.com/ledger?sslmode=verify-full'
                  installer-ledger copy --db 'postgresql://ledger@db.example.com/ledger' --to restored.sqlite
                """)

        @OptionGroup var global: GlobalOptions

        @Option(help: ArgumentHelp("An empty SQLite file (new or of zero bytes), or a postgresql:// URL of an empty database.",
                                   valueName: "dest"), completion: .file())
        var to: String

        func run() async throws {
            try await withExitCodes {
                let destination = try LedgerCopy.Destination(parsing: to)
                let summary: LedgerCopy.Summary
                if PostgresURL.isPostgres(global.ledgerPath) {
                    summary = try await LedgerCopy.copy(from: try PostgresURL(parsing: global.ledgerPath), to: destination)
                } else {
                    summary = try await LedgerCopy.copy(try global.openExistingLedger(), to: destination)
                }
                var out = StandardOutput()
                try out.write("copied \(summary.total) rows to \(destination.description): \(summary.text)\n")
                try out.flush()
            }
        }
    }
}
