/// What happened to one due installer during a `rotate` run.
public struct RotationResult: Sendable, Equatable {
    /// The outcome for one installer.
    public enum Outcome: Sendable, Equatable {
        /// A replacement was created and linked.
        case created(Installer)
        /// A replacement found resolved was linked.
        case linked(successorUuid: String)
        /// Nothing to do: already replaced, awaiting sync, or cannot be replaced.
        case skipped(RotationStep.Action)
        /// ESET certainly did not create the replacement (the error says why).
        case failed(ESETConnectError)
        /// The replacement may have been created: recorded as pending, `sync` resolves it.
        case uncertain(ESETConnectError)
        /// Not tried: the run stopped before (credentials refused, ESET unavailable).
        case notAttempted
    }

    /// What `--delete-old` did to the predecessor.
    public enum Revocation: Sendable, Equatable {
        /// Revoked at ESET (or ESET no longer knew it) and recorded as deleted.
        case revoked
        case failed(ESETConnectError)
    }

    public var predecessor: Installer
    public var outcome: Outcome
    public var revocation: Revocation?

    public init(predecessor: Installer, outcome: Outcome, revocation: Revocation? = nil) {
        self.predecessor = predecessor
        self.outcome = outcome
        self.revocation = revocation
    }

    /// The successor after the run, if there is one.
    public var successorUuid: String? {
        switch outcome {
        case .created(let i): i.uuid
        case .linked(let uuid): uuid
        case .skipped(.alreadyReplaced(let uuid)): uuid
        default: nil
        }
    }
}

/// The counts and results of a `rotate` run.
public struct RotationSummary: Sendable, Equatable {
    public var results: [RotationResult] = []
    /// The error that stopped the run early, if any (later installers are `notAttempted`).
    public var stoppedBy: ESETConnectError?

    public init(results: [RotationResult] = [], stoppedBy: ESETConnectError? = nil) {
        self.results = results
        self.stoppedBy = stoppedBy
    }

    /// Replacements created (or found created and linked) by this run.
    public var created: Int { results.filter { if case .created = $0.outcome { true } else if case .linked = $0.outcome { true } else { false } }.count }
    /// Left alone: already replaced, awaiting sync, or not replaceable.
    public var skipped: Int { results.filter { if case .skipped = $0.outcome { true } else { false } }.count }
    /// Certainly not created.
    public var failed: Int { results.filter { if case .failed = $0.outcome { true } else { false } }.count }
    /// Possibly created: pending until `sync` resolves them.
    public var uncertain: Int { results.filter { if case .uncertain = $0.outcome { true } else { false } }.count }
    /// Not tried because the run stopped.
    public var notAttempted: Int { results.filter { $0.outcome == .notAttempted }.count }
    /// Predecessors revoked by `--delete-old`, and those that could not be.
    public var revoked: Int { results.filter { $0.revocation == .revoked }.count }
    public var revocationsFailed: Int { results.filter { if case .failed? = $0.revocation { true } else { false } }.count }

    /// `N created, N skipped, N failed` plus uncertain, not attempted and revoked when any.
    public var line: String {
        var s = "\(created) created, \(skipped) skipped, \(failed) failed"
        if uncertain > 0 { s += ", \(uncertain) uncertain (pending: run 'installer-ledger sync')" }
        if notAttempted > 0 { s += ", \(notAttempted) not attempted" }
        if revoked > 0 || revocationsFailed > 0 {
            s += "; \(revoked) predecessor\(revoked == 1 ? "" : "s") revoked"
            if revocationsFailed > 0 { s += ", \(revocationsFailed) could not be revoked" }
        }
        return s
    }

    /// The error the command should exit with: uncertain outcomes first (75), then the
    /// error that stopped the run, then the first failure; nil when everything worked.
    public var exitError: ESETConnectError? {
        for r in results { if case .uncertain(let e) = r.outcome { return e } }
        if let stoppedBy { return stoppedBy }
        for r in results { if case .failed(let e) = r.outcome { return e } }
        for r in results { if case .failed(let e)? = r.revocation { return e } }
        return nil
    }
}

/// Runs a rotation plan: creates each replacement through the no-loss path (pending first,
/// recorded and linked in one transaction on success, left pending when uncertain), then
/// with `--delete-old` revokes each predecessor whose successor exists.
public struct InstallerRotation: Sendable, ESETWorkflow {
    let work: ESETWork

    /// - Parameter account: the account `client` calls ESET as; replacements are created for it.
    public init(ledger: Ledger, client: ESETConnectClient, account: Account? = nil, now: @escaping @Sendable () -> Timestamp = { .now() }) {
        work = ESETWork(ledger: ledger, client: client, account: account, now: now)
    }

    /// Reads the ledger and decides what to do; sends nothing.
    public static func plan(ledger: Ledger, selection: RotationSelection, at now: Timestamp, deleteOld: Bool = false) throws -> RotationPlan {
        RotationPlanner.plan(try ledger.rotationCandidates(selection, at: now), selection: selection, now: now, deleteOld: deleteOld)
    }

    /// Carries out a plan, one installer at a time (the client keeps to the rate limit).
    /// Failures of one installer do not stop the others; refused credentials or an
    /// unavailable ESET stop the run, leaving the rest `notAttempted`.
    /// - Parameter report: called with each result as it is known (for progress output).
    /// - Throws: only ledger errors (nothing about the API: those are in the summary).
    public func run(_ plan: RotationPlan, report: (RotationResult) -> Void = { _ in }) async throws -> RotationSummary {
        var summary = RotationSummary()
        let creation = InstallerCreation(ledger: ledger, client: client, account: account, now: now)
        for step in plan.steps {
            let old = step.predecessor.installer
            var result = RotationResult(predecessor: old, outcome: .notAttempted)
            if summary.stoppedBy == nil {
                result.outcome = try await carryOut(step, creation: creation, stop: &summary.stoppedBy)
            }
            if plan.deleteOld, summary.stoppedBy == nil, let successor = result.successorUuid {
                result.revocation = try await revoke(old.uuid, successor: successor, stop: &summary.stoppedBy)
            }
            summary.results.append(result)
            report(result)
        }
        return summary
    }

    private func carryOut(_ step: RotationStep, creation: InstallerCreation, stop: inout ESETConnectError?) async throws
        -> RotationResult.Outcome
    {
        switch step.action {
        case .create(let request):
            // Another run may have started it since the plan was made: never create twice.
            if let started = try ledger.creation(planKey: step.planKey) {
                if started.state == .pending { return .skipped(.awaitingSync(localId: started.localId)) }
                if let uuid = started.installerUuid { return .skipped(.alreadyReplaced(successorUuid: uuid)) }
            }
            do {
                return .created(try await creation.create(request, planKey: step.planKey, source: .rotate))
            } catch let error as ESETConnectError {
                if error.mayHaveCreated { return .uncertain(error) }
                if Self.stopsTheRun(error) { stop = error }
                return .failed(error)
            }
        case .link(let successor):
            try ledger.linkSuccession(predecessor: step.predecessor.installer.uuid, successor: successor, source: .rotate, at: now())
            return .linked(successorUuid: successor)
        case .alreadyReplaced, .awaitingSync, .cannotReplace:
            return .skipped(step.action)
        }
    }

    private func revoke(_ uuid: String, successor: String, stop: inout ESETConnectError?) async throws -> RotationResult.Revocation? {
        // Only once the successor is really there and usable: never leave a group without one.
        guard let new = try? ledger.installer(successor), new.status == .usable,
              try ledger.installer(uuid).status != .deleted else { return nil }
        do {
            try await client.deleteInstaller(uuid: uuid)
        } catch ESETConnectError.http(404, _, _) {
            // ESET no longer knows it: gone either way.
        } catch let error as ESETConnectError {
            if Self.stopsTheRun(error) { stop = error }
            return .failed(error)
        }
        try ledger.markDeleted(uuid: uuid, source: .rotate, at: now())
        return .revoked
    }

    /// Errors after which every further call would fail the same way.
    static func stopsTheRun(_ error: ESETConnectError) -> Bool {
        switch error {
        case .configuration, .unavailable: true
        case .http(let status, _, _): status == 401 || status == 403
        default: false
        }
    }
}
