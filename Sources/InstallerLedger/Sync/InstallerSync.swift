/// Brings the ledger in line with everything ESET lists.
public struct InstallerSync: Sendable, ESETWorkflow {
    let work: ESETWork

    /// - Parameter account: whose listing it is; nil: the ledger's only account.
    public init(ledger: Ledger, client: ESETConnectClient, account: Account? = nil, now: @escaping @Sendable () -> Timestamp = { .now() }) {
        work = ESETWork(ledger: ledger, client: client, account: account, now: now)
    }

    /// Lists every page, then applies the whole listing in one transaction and records the run.
    /// A failed listing changes nothing but is recorded as a failed run.
    public func run() async throws -> SyncSummary {
        let started = now()
        var listed = [ReceivedInstaller]()
        do {
            try await client.listInstallers { page in listed += page.installers }
        } catch {
            try? ledger.recordSyncRun(startedAt: started, finishedAt: now(), summary: nil, error: "\(error)", account: account)
            throw error
        }
        let finished = now()
        let summary = try ledger.applySync(listed: listed, account: account, at: finished)
        try ledger.recordSyncRun(startedAt: started, finishedAt: finished, summary: summary, error: nil, account: account)
        return summary
    }
}
