import ArgumentParser
import InstallerLedger

extension InstallerLedgerCommand {
    struct Sync: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Bring the ledger in line with everything ESET Connect lists.",
            discussion: """
                Pages through GET /v1/installers (1000 a page), adopts installers the ledger does not know \
                (created by other scripts), refreshes known ones ('changed' events), marks as deleted those \
                of this account that ESET no longer lists (and restores those it lists again), and resolves \
                pending creations by display name, OS, group and creation time. Creations still unmatched \
                15 minutes after they were sent are marked as not created. The run is recorded for the \
                report's staleness check.

                With several accounts in the ledger, name one with --account, or use --all: every account, \
                up to 4 at once, each with its own token and rate limit, one summary line each; one account \
                failing does not stop the others, and the exit code is the worst of them.

                Examples:
                  ESET_CONNECT_USERNAME=api@example.com ESET_CONNECT_PASSWORD=... installer-ledger sync
                  installer-ledger sync --account acme
                  installer-ledger sync --all
                """)

        @OptionGroup var global: GlobalOptions
        @OptionGroup var api: APIOptions

        @Flag(help: "Sync every account of the ledger (up to 4 at once).")
        var all = false

        func validate() throws {
            if all, api.account != nil { throw ValidationError("give either --all or --account, not both") }
        }

        func run() async throws {
            try await withExitCodes {
                let ledger = try global.openLedger()
                var out = StandardOutput()
                if all {
                    let credentials = api.credentials
                    let accounts = try ledger.accountsForAll(credentials: credentials, at: .now())
                    let results = await EachAccount.run(accounts) { account in
                        let client = ESETConnectClient(configuration: try ESETConnectConfiguration(account: account, credentials: credentials))
                        return try await InstallerSync(ledger: ledger, client: client, account: account).run()
                    }
                    try reportEach(results, out: &out, warnings: \.record.conflictWarnings) { $0.line }
                    return
                }
                let (account, client) = try api.client(for: ledger)
                let summary = try await InstallerSync(ledger: ledger, client: client, account: account).run()
                try write(summary, out: &out)
                try out.flush()
            }
        }

        func write(_ summary: SyncSummary, prefix: String = "", out: inout StandardOutput) throws {
            try out.write(prefix + summary.line + "\n")
            for warning in summary.record.conflictWarnings { StandardError.write("installer-ledger: warning: \(warning)\n") }
            for id in summary.stillPending {
                try out.write("\(prefix)pending creation \(id) has not appeared at ESET yet; run sync again in a few minutes\n")
            }
        }
    }
}

/// Prints one line per account of an `--all` run (`acme: …` or `acme: error: …` on stderr)
/// and ends with the worst account's exit code.
func reportEach<T>(_ results: [(account: Account, result: Result<T, any Error>)], out: inout StandardOutput,
                   warnings: (T) -> [String] = { _ in [] }, line: (T) -> String) throws {
    var worst: ExitStatus?
    for (account, result) in results {
        switch result {
        case .success(let value):
            try out.write("\(account.name): \(line(value))\n")
            for warning in warnings(value) { StandardError.write("installer-ledger: warning: \(warning)\n") }
        case .failure(let error):
            let (status, message) = classify(error)
            try out.write("\(account.name): failed (exit \(status.rawValue))\n")
            StandardError.write("installer-ledger: error: \(account.name): \(message)\n")
            if worst.map({ status.severity > $0.severity }) ?? true { worst = status }
        }
    }
    let failed = results.filter { if case .failure = $0.result { true } else { false } }.count
    try out.write("\(results.count) account\(results.count == 1 ? "" : "s"): \(results.count - failed) ok, \(failed) failed\n")
    try out.flush()
    if let worst { throw ExitCode(worst.rawValue) }
}
