/// Brings the ledger in line with everything ESET lists.
public struct InstallerSync: Sendable {
    let ledger: Ledger
    let client: ESETConnectClient
    let now: @Sendable () -> Timestamp
    /// Whose listing it is; nil: the ledger's only account.
    let account: Account?

    public init(ledger: Ledger, client: ESETConnectClient, account: Account? = nil,
                now: @escaping @Sendable () -> Timestamp = { .now() }) {
        self.ledger = ledger
        self.client = client
        self.account = account
        self.now = now
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
