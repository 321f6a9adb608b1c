
/// Why a reconcile run could not finish.
public enum ReconcileError: Error, Sendable {
    /// ESET could not be asked; the clock part was still applied (`expired` installers).
    case apiPartFailed(ESETConnectError, expired: Int)
    /// The ledger changed under a plan being applied (a bug: plans are made inside the transaction).
    case planOutdated(expected: Int, applied: Int)
}

extension ReconcileError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .apiPartFailed(let error, let expired):
            "\(error); the clock part was applied (\(expired) marked expired), the API part was not: run 'installer-ledger reconcile' again later, or with --offline for the clock part only"
        case .planOutdated(let expected, let applied):
            "the ledger changed while the reconcile plan was applied (\(applied) of \(expected) changes); nothing was written, run reconcile again"
        }
    }
}

// MARK: - Reading the state to plan from

extension Ledger {
    /// The installers the ledger holds as usable, soonest expiry first; with `expiredAt`
    /// only those whose expiry is at or before it (all an offline run needs).
    public func reconcileCandidates(expiredAt: Timestamp? = nil, scope: AccountScope = .all) throws -> [ReconcileCandidate] {
        try read { db in try ReconcileQueries.reconcileCandidates(db, expiredAt: expiredAt, scope: scope) }
    }

}

// MARK: - Planning and applying

extension Ledger {
    /// The plan a run would apply now, without writing anything (`--dry-run`).
    public func planReconcile(eset: ESETState?, at now: Timestamp, scope: AccountScope = .all,
                              tolerance: LedgerDuration = ReconcilePlan.defaultTolerance) throws -> ReconcilePlan {
        try read { db in
            let candidates = try ReconcileQueries.reconcileCandidates(db, expiredAt: eset == nil ? now : nil, scope: scope)
            return ReconcilePlan.make(candidates: candidates, eset: eset, now: now, tolerance: tolerance)
        }
    }

    /// Plans from the ledger as it is inside ONE write transaction, applies the plan and
    /// records the run, so what is applied is exactly what was planned.
    /// - Parameters:
    ///   - failure: when the API part failed, its message: the run is recorded as failed.
    ///   - account: whose installers (the ESET state is that account's); nil: every account,
    ///     for the clock part alone.
    /// - Returns: the applied plan.
    public func reconcile(eset: ESETState?, at now: Timestamp, startedAt: Timestamp, account: Account? = nil,
                          tolerance: LedgerDuration = ReconcilePlan.defaultTolerance,
                          failure: String? = nil) throws -> ReconcilePlan {
        let scope = account.map(AccountScope.only) ?? .all
        // Every row written here references an installer the plan read from `installers` in
        // this transaction (the bulk events even select their uuid from it), so the foreign
        // keys hold by construction; checking them costs one index lookup per event, a fifth
        // of a 100k-row run.
        return try writeWithoutForeignKeyChecks { db in
            let candidates = try ReconcileQueries.reconcileCandidates(db, expiredAt: eset == nil ? now : nil, scope: scope)
            let made = ReconcilePlan.make(candidates: candidates, eset: eset, now: now, tolerance: tolerance)
            try ReconcileQueries.apply(made, db, account: account?.id)
            // An offline run over every account belongs to none of them (nor counts as a sync).
            let owner = try account?.id ?? Int64.fetchOne(db, sql: "SELECT id FROM accounts WHERE (SELECT count(*) FROM accounts) = 1")
            try db.execute(sql: """
                INSERT INTO runs (kind, started_at, finished_at, succeeded, counts, message, account_id) VALUES ('reconcile', ?, ?, ?, ?, ?, ?)
                """, arguments: [startedAt.nanoseconds, now.nanoseconds, failure == nil, made.countsJSON(offline: eset == nil), failure, owner])
            return made
        }
    }

}

extension ReconcilePlan {
    /// The counts stored with the run; `offline` runs do not count as a refresh from ESET.
    func countsJSON(offline: Bool) -> String {
        JSONValue.object(JSONObject(
            keys: ["offline", "considered", "expired", "unusable", "deleted", "disagreements", "requests"],
            values: [.bool(offline), .int(Int64(considered)), .int(Int64(expired.count)), .int(Int64(unusable.count)),
                     .int(Int64(deleted.count)), .int(Int64(disagreements.count)), .int(Int64(requests))])).jsonText
    }
}

/// Reconcile's SQL, inside the read or write transaction the caller holds.
enum ReconcileQueries {
    static func reconcileCandidates(_ db: any LedgerSQL, expiredAt: Timestamp?, scope: AccountScope) throws -> [ReconcileCandidate] {
        // Both forms are served by the partial index `installers_usable_by_expiry` (0003).
        var sql = "SELECT uuid, display_name, expire_time FROM installers WHERE status = 'usable'"
        if let scoped = scope.sqlCondition() { sql += " AND " + scoped }
        var args = SQLArguments()
        if let expiredAt {
            sql += " AND expire_time <= ?"
            args += [expiredAt.nanoseconds]
        }
        // Expiry order comes free from the index; the planner breaks ties by uuid.
        sql += " ORDER BY expire_time"
        var result = [ReconcileCandidate]()
        let cursor = try SQLRow.fetchStream(db, sql: sql, arguments: args)
        while let row = try cursor.next() {
            result.append(ReconcileCandidate(uuid: row[0], displayName: row[1],
                                             expireTime: (row[2] as Int64?).map(Timestamp.init(nanoseconds:))))
        }
        return result
    }

    /// Applies a plan made from the ledger inside the current transaction.
    static func apply(_ plan: ReconcilePlan, _ db: any LedgerSQL, account: Int64?) throws {
        let now = plan.now
        let scoped = AccountScope(ids: account.map { [$0] }).sqlCondition().map { " AND " + $0 } ?? ""
        var recorder = InstallerRecorder(db: db, source: .reconcile, now: now, touchLastSeen: true, account: account)
        var plain = 0
        for change in plan.changes {
            if change.action == .expire, change.disagreement == nil { plain += 1; continue }
            let details = change.disagreement.map { d in
                JSONValue.object(JSONObject(
                    keys: ["disagreement", "expireTime", "message"],
                    values: [.string(d.rawValue), .optionalString(change.expireTime?.rfc3339),
                             .string(d.explanation(expireTime: change.expireTime))])).jsonText
            }
            switch change.action {
            case .expire:
                try markUnusable(db, uuid: change.uuid, reason: "expired", at: now, details: details)
            case .markUnusable(let received):
                try markUnusable(db, uuid: change.uuid, reason: "api", at: now, details: details)
                // Then ESET's answer refreshes the ledger's copy exactly as sync would: a
                // `changed` event for `usable` (and anything else ESET changed), the raw answer.
                try recorder.record(received)
            case .markDeleted:
                try CreationQueries.markDeleted(db, uuid: change.uuid, source: .reconcile, at: now, reason: "gone from ESET")
                guard db.changesCount > 0 else { throw ReconcileError.planOutdated(expected: 1, applied: 0) }
            }
        }
        guard plain > 0 else { return }
        // The bulk of a run (every installer expired since yesterday, or 100,000 on a first
        // run) is plain expiry. The other changes are applied, so the usable installers
        // expired by now are exactly the plan's plain expiries: two set-based statements
        // over the partial index instead of 100,000 lookups, checked against the plan.
        // OR ROLLBACK: a failure aborts the whole run anyway, and without a partial-rollback
        // point SQLite keeps no statement journal (a copy of every page touched: half the
        // writes of a 100k-row run).
        try db.execute(sql: """
            INSERT OR ROLLBACK INTO events (installer_uuid, kind, at, source, reason, details)
            SELECT uuid, 'became_unusable', ?, 'reconcile', 'expired', NULL FROM installers
            WHERE status = 'usable' AND expire_time <= ?\(scoped) ORDER BY expire_time, uuid
            """, arguments: [now.nanoseconds, now.nanoseconds])
        guard db.changesCount == plain else { throw ReconcileError.planOutdated(expected: plain, applied: db.changesCount) }
        try db.execute(sql: """
            UPDATE OR ROLLBACK installers SET status = 'unusable', status_reason = 'expired', status_changed_at = ?
            WHERE status = 'usable' AND expire_time <= ?\(scoped)
            """, arguments: [now.nanoseconds, now.nanoseconds])
        guard db.changesCount == plain else { throw ReconcileError.planOutdated(expected: plain, applied: db.changesCount) }
    }

    /// Marks one usable installer unusable with a `became_unusable` event.
    static func markUnusable(_ db: any LedgerSQL, uuid: String, reason: String, at now: Timestamp, details: String?) throws {
        try db.execute(sql: """
            UPDATE installers SET status = 'unusable', status_reason = ?, status_changed_at = ? WHERE uuid = ? AND status = 'usable'
            """, arguments: [reason, now.nanoseconds, uuid])
        guard db.changesCount == 1 else { throw ReconcileError.planOutdated(expected: 1, applied: 0) }
        try EventLog.append(db, uuid: uuid, kind: .becameUnusable, at: now, source: .reconcile, reason: reason, details: details)
    }
}
