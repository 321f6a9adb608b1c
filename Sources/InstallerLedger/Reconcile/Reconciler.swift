/// Marks installers unusable: expired by the clock, `usable: false` at ESET, or gone from
/// ESET. Asks ESET first (unless offline), then plans and applies in one transaction.
public struct Reconciler: Sendable {
    let ledger: Ledger
    /// nil: offline, the clock part only.
    let client: ESETConnectClient?
    let now: @Sendable () -> Timestamp
    let tolerance: LedgerDuration
    /// Whose installers: the account `client` calls ESET as; nil (offline only): every account.
    let account: Account?

    public init(ledger: Ledger, client: ESETConnectClient?, account: Account? = nil,
                tolerance: LedgerDuration = ReconcilePlan.defaultTolerance,
                now: @escaping @Sendable () -> Timestamp = { .now() }) {
        self.ledger = ledger
        self.client = client
        self.account = account
        self.tolerance = tolerance
        self.now = now
    }

    /// Runs (or with `dryRun` only plans) a reconcile and returns the plan.
    ///
    /// A dry run writes nothing, not even the run record. A real run is recorded for the
    /// report's staleness check; an offline one is recorded but does not count as a
    /// refresh, since nobody asked ESET.
    /// - Throws: `ReconcileError.apiPartFailed` when ESET could not be asked (the clock
    ///   part is applied and the run recorded as failed), or a database error.
    public func run(dryRun: Bool = false) async throws -> ReconcilePlan {
        let started = now()
        var eset: ESETState?
        if let client {
            let candidates = try ledger.reconcileCandidates(scope: scope)
            do {
                eset = try await ESETStateFetcher(client: client).observe(candidates, now: now())
            } catch let error as ESETConnectError {
                if dryRun { throw error }
                let plan = try ledger.reconcile(eset: nil, at: now(), startedAt: started, account: account, tolerance: tolerance,
                                                failure: "API part failed: \(error)")
                throw ReconcileError.apiPartFailed(error, expired: plan.expired.count)
            }
        }
        if dryRun { return try ledger.planReconcile(eset: eset, at: now(), scope: scope, tolerance: tolerance) }
        return try ledger.reconcile(eset: eset, at: now(), startedAt: started, account: account, tolerance: tolerance)
    }

    var scope: AccountScope { account.map(AccountScope.only) ?? .all }
}
