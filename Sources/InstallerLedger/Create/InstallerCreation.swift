/// Creates installers without losing or duplicating any: pending first, recorded on
/// success, left pending when the outcome is uncertain, marked failed when ESET certainly
/// did not create it.
public struct InstallerCreation: Sendable, ESETWorkflow {
    let work: ESETWork

    /// - Parameter account: whom the installers are created for; nil: the ledger's only account.
    public init(ledger: Ledger, client: ESETConnectClient, account: Account? = nil, now: @escaping @Sendable () -> Timestamp = { .now() }) {
        work = ESETWork(ledger: ledger, client: client, account: account, now: now)
    }

    /// Creates one installer and records it.
    /// - Throws: `ESETConnectError` (`.uncertain`: the creation stays pending for `sync`).
    @discardableResult
    public func create(_ request: CreateInstallerRequest, planKey: String? = nil, source: EventSource = .create) async throws -> Installer {
        let pending = try ledger.addPending(request, planKey: planKey, source: source, account: account, at: now())
        do {
            let received = try await client.createInstaller(request)
            try ledger.recordCreated(received, pendingId: pending.localId, source: source, at: now())
            return received.installer
        } catch let error as ESETConnectError {
            // When it may exist it stays pending until sync matches it.
            if !error.mayHaveCreated {
                try ledger.markFailed(pendingId: pending.localId, message: error.description, source: source, at: now())
            }
            throw error
        }
    }
}
