import Synchronization

/// Creates the installers of a plan with bounded concurrency under the client's rate limit,
/// each one through ``InstallerCreation`` (pending first, recorded as soon as it succeeds).
///
/// A re-run of the same plan does not duplicate anything: a line whose plan key has a
/// resolved creation is skipped; one whose creation is still pending (the outcome of an
/// earlier run is uncertain) is not sent again until `sync` resolves it; one whose
/// creation failed is tried again.
///
/// Refused credentials (401, 403), an unavailable service or a local error stop the run:
/// no new line is started, the lines in flight finish and are recorded.
public struct BulkCreation: Sendable {
    let ledger: Ledger
    let client: ESETConnectClient
    let concurrency: Int
    let now: @Sendable () -> Timestamp
    /// Whom the installers are created for; nil: the ledger's only account.
    let account: Account?

    /// - Parameter concurrency: creations in flight at once (at least 1).
    public init(ledger: Ledger, client: ESETConnectClient, account: Account? = nil, concurrency: Int = 4,
                now: @escaping @Sendable () -> Timestamp = { .now() }) {
        self.ledger = ledger
        self.client = client
        self.account = account
        self.concurrency = max(1, concurrency)
        self.now = now
    }

    /// Asks a running ``BulkCreation`` to start no new line (e.g. on Ctrl-C); lines in flight finish.
    public final class Stop: Sendable {
        let flag = Mutex(false)
        public init() {}
        public func request() { flag.withLock { $0 = true } }
        public var isRequested: Bool { flag.withLock { $0 } }
    }

    /// Runs the plan. `report` is called once per line, in the order lines finish (skipped and
    /// still-pending lines first), from one task at a time.
    /// - Returns: the counts, and the error that stopped the run early, if one did.
    /// - Throws: only what reading the ledger before sending anything throws.
    public func run(_ plan: CreationPlan, stop: Stop = Stop(),
                    report: (BulkOutcome) -> Void) async throws -> BulkSummary {
        var summary = BulkSummary(total: plan.lines.count)
        var toSend = [CreationPlan.Line]()
        for line in plan.lines {
            switch try ledger.creation(planKey: line.key, account: account) {
            case let done? where done.state == .resolved:
                summary.skipped += 1
                report(BulkOutcome(line: line, result: .skipped(uuid: done.installerUuid ?? "")))
            case let pending? where pending.state == .pending:
                summary.stillPending += 1
                report(BulkOutcome(line: line, result: .stillPending(localId: pending.localId)))
            default:
                toSend.append(line)
            }
        }

        let creation = InstallerCreation(ledger: ledger, client: client, account: account, now: now)
        await withTaskGroup(of: BulkOutcome.self) { group in
            var next = toSend.makeIterator()
            func startNext() -> Bool {
                guard summary.stoppedBy == nil, !summary.interrupted else { return false }
                if stop.isRequested {
                    summary.interrupted = true
                    return false
                }
                guard let line = next.next() else { return false }
                group.addTask { await Self.create(line, with: creation) }
                return true
            }
            for _ in 0..<concurrency {
                if !startNext() { break }
            }
            while let outcome = await group.next() {
                switch outcome.result {
                case .created: summary.created += 1
                case .failed(let error):
                    summary.failed += 1
                    if Self.stopsTheRun(error) && summary.stoppedBy == nil { summary.stoppedBy = error }
                case .uncertain: summary.uncertain += 1
                case .skipped: summary.skipped += 1
                case .elsewhere: summary.elsewhere += 1
                case .stillPending: break
                }
                report(outcome)
                _ = startNext()
            }
            // Lines never started (the run stopped): counted, not reported one by one.
            while next.next() != nil { summary.notSent += 1 }
        }
        return summary
    }

    static func create(_ line: CreationPlan.Line, with creation: InstallerCreation) async -> BulkOutcome {
        do {
            let installer = try await creation.create(line.request, planKey: line.key, source: .create)
            return BulkOutcome(line: line, result: .created(installer))
        } catch let error as ESETConnectError {
            return BulkOutcome(line: line, result: error.mayHaveCreated ? .uncertain(error) : .failed(error))
        } catch let taken as PlanLineTaken {
            // Another run claimed the line between this run's look and its claim: never sent.
            return BulkOutcome(line: line, result: taken.creation.state == .resolved
                               ? .skipped(uuid: taken.creation.installerUuid ?? "") : .elsewhere(localId: taken.creation.localId))
        } catch {
            // The ledger could not be written: the creation may have happened (it is pending).
            return BulkOutcome(line: line, result: .failed(error))
        }
    }

    /// Whether an error means the next lines would fail the same way: credentials refused,
    /// not allowed, ESET unavailable, a bad configuration, or a local (ledger) error.
    public static func stopsTheRun(_ error: any Error) -> Bool {
        guard let error = error as? ESETConnectError else { return true }
        switch error {
        case .http(let status, _, _): return status == 401 || status == 403
        case .unavailable, .configuration: return true
        case .uncertain, .malformedAnswer, .answerExpired: return false
        }
    }
}

/// What happened to one line of a plan.
public struct BulkOutcome: Sendable {
    public enum Result: Sendable {
        /// Created now and recorded.
        case created(Installer)
        /// Created by an earlier run (`uuid` of the installer).
        case skipped(uuid: String)
        /// An earlier run's creation is still pending: not sent again, `sync` resolves it.
        case stillPending(localId: String)
        /// Another run claimed the line while this one ran (its pending creation): not sent.
        case elsewhere(localId: String)
        /// Certainly not created (ESET refused it, or it never left); a re-run tries it again.
        case failed(any Error)
        /// May have been created: pending until `sync` resolves it.
        case uncertain(ESETConnectError)
    }

    public var line: CreationPlan.Line
    public var result: Result
}

/// The counts of a bulk run.
public struct BulkSummary: Sendable {
    public var total: Int
    public var created = 0
    /// Already created by an earlier run.
    public var skipped = 0
    public var failed = 0
    /// Sent in this run with an uncertain outcome.
    public var uncertain = 0
    /// Left pending by an earlier run and not sent again.
    public var stillPending = 0
    /// Claimed by another run at the same moment, and not sent.
    public var elsewhere = 0
    /// Not started because the run stopped early.
    public var notSent = 0
    /// The error that stopped the run before every line was tried.
    public var stoppedBy: (any Error)?
    /// Whether a ``BulkCreation/Stop`` request held back lines (counted in `notSent`).
    public var interrupted = false

    public init(total: Int) { self.total = total }

    /// Adds another part's counts (a plan whose lines go to several accounts runs one part
    /// per account); the first error that stopped a part is kept.
    public mutating func add(_ other: BulkSummary) {
        created += other.created
        skipped += other.skipped
        failed += other.failed
        uncertain += other.uncertain
        stillPending += other.stillPending
        elsewhere += other.elsewhere
        notSent += other.notSent
        if stoppedBy == nil { stoppedBy = other.stoppedBy }
        interrupted = interrupted || other.interrupted
    }

    /// E.g. `3 created, 1 skipped (already done), 0 failed, 1 uncertain`, plus the lines not sent.
    public var line: String {
        var s = "\(created) created, \(skipped) skipped (already done), \(failed) failed, \(uncertain + stillPending) uncertain"
        if elsewhere > 0 { s += ", \(elsewhere) in progress elsewhere" }
        if notSent > 0 { s += ", \(notSent) not sent" }
        return s
    }
}
