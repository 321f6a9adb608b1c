import Foundation

/// A creation written before its request is sent.
public struct PendingCreation: Sendable, Equatable {
    public enum State: String, Sendable { case pending, resolved, failed }

    public var localId: String
    public var request: CreateInstallerRequest
    public var requestedAt: Timestamp
    public var state: State
    public var installerUuid: String?
    public var message: String?
    public var planKey: String?
    /// The account it is created for.
    public var accountID: Int64? = nil
    /// That account's name.
    public var account: String = ""
}

/// A plan line another run (on this machine or another) has claimed first: its creation is
/// pending or done, so this run must not send it.
public struct PlanLineTaken: Error, ClassifiedError {
    public let creation: PendingCreation

    public var description: String {
        "plan line \(creation.planKey ?? "?") is being created by another run (pending creation \(creation.localId)); run the same command again once it has finished"
    }

    public var exitClass: ExitClass { .temporary }
}

extension Ledger {
    /// How long after sending a creation `sync` keeps waiting for it to appear before it
    /// concludes ESET did not create it (ESET keeps delayed answers 10 minutes).
    public static let pendingGracePeriod = LedgerDuration.seconds(15 * 60)

    // MARK: - Creation

    /// Writes a creation as pending, with a `pending` event, before anything is sent. A plan
    /// line is claimed in the same transaction: when a creation of it for the account that
    /// has not failed exists, nothing is written and `PlanLineTaken` says whose it is.
    /// Writers take turns (SQLite's one writer, PostgreSQL's advisory lock), so of two runs
    /// racing for a line (two machines on one PostgreSQL ledger) the second finds the first's
    /// claim; the unique index on plan claims (0008) refuses a second claim of a line should
    /// any writer get past the check.
    /// - Parameter account: whom it is created for; nil: the ledger's only account.
    /// - Throws: `PlanLineTaken`, or a database error.
    public func addPending(_ request: CreateInstallerRequest, planKey: String? = nil, source: EventSource = .create,
                           account: Account? = nil, at now: Timestamp) throws -> PendingCreation {
        let localId = UUID().uuidString.lowercased()
        let accountID = try write { db in
            let accountID = try AccountQueries.accountID(db, account, at: now)
            if let planKey, let taken = try CreationQueries.fetchPending(db, state: nil, planKey: planKey, scope: AccountScope(ids: [accountID]))
                .last(where: { $0.state != .failed }) {
                throw PlanLineTaken(creation: taken)
            }
            // The claim (0008) is the database's own guard: a second claim of the line fails.
            try db.execute(sql: """
                INSERT INTO pending_creations (local_id, request_json, display_name, os_family_id, security_group_uuid,
                  requested_at, state, plan_key, plan_claim, account_id) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?)
                """, arguments: [localId, request.json.jsonText, request.displayName, request.operatingSystemFamilyId,
                                 request.securityGroupUuid ?? "", now.nanoseconds, planKey, planKey, accountID])
            let details = JSONObject(keys: ["localId", "displayName"], values: [.string(localId), .string(request.displayName)])
            try EventLog.append(db, uuid: nil, kind: .pending, at: now, source: source, reason: nil, details: JSONValue.object(details).jsonText)
            return accountID
        }
        return PendingCreation(localId: localId, request: request, requestedAt: now, state: .pending, planKey: planKey,
                               accountID: accountID)
    }

    /// Records a created installer and resolves its pending creation, in one transaction.
    public func recordCreated(_ received: ReceivedInstaller, pendingId: String, source: EventSource = .create, at now: Timestamp) throws {
        try write { db in
            let accountID = try Int64.fetchOne(db, sql: "SELECT account_id FROM pending_creations WHERE local_id = ?", arguments: [pendingId])
            var recorder = InstallerRecorder(db: db, source: source, now: now, touchLastSeen: true,
                                             account: try accountID ?? AccountQueries.accountID(db, nil, at: now))
            try recorder.record(received)
            try resolve(db, localId: pendingId, uuid: received.installer.uuid, source: source, at: now)
        }
    }

    func resolve(_ db: any LedgerSQL, localId: String, uuid: String, source: EventSource, at now: Timestamp) throws {
        try db.execute(sql: """
            UPDATE pending_creations SET state = 'resolved', installer_uuid = ?, resolved_at = ? WHERE local_id = ?
            """, arguments: [uuid, now.nanoseconds, localId])
        let details = JSONObject(keys: ["localId"], values: [.string(localId)])
        try EventLog.append(db, uuid: uuid, kind: .resolved, at: now, source: source, reason: nil, details: JSONValue.object(details).jsonText)
        try SuccessionQueries.linkIfReplacement(db, localId: localId, successor: uuid, source: source, at: now)
    }

    /// Marks a pending creation as certainly not created (ESET refused it, or it never left).
    public func markFailed(pendingId: String, message: String, source: EventSource = .create, at now: Timestamp) throws {
        try write { db in try fail(db, localId: pendingId, message: message, source: source, at: now) }
    }

    func fail(_ db: any LedgerSQL, localId: String, message: String, source: EventSource, at now: Timestamp) throws {
        // Certainly not created: the plan line's claim is given up, so a re-run may try it again.
        try db.execute(sql: "UPDATE pending_creations SET state = 'failed', plan_claim = NULL, resolved_at = ?, message = ? WHERE local_id = ?",
                       arguments: [now.nanoseconds, message, localId])
        let details = JSONObject(keys: ["localId", "message"], values: [.string(localId), .string(message)])
        try EventLog.append(db, uuid: nil, kind: .resolved, at: now, source: source, reason: "not created",
                            details: JSONValue.object(details).jsonText)
    }

    /// Pending creations of the accounts in scope, optionally only those in one state, oldest first.
    public func pendingCreations(state: PendingCreation.State? = nil, scope: AccountScope = .all) throws -> [PendingCreation] {
        try read { db in try CreationQueries.fetchPending(db, state: state, scope: scope) }
    }

    /// The newest creation for a bulk-plan line of one account that is not known to have
    /// failed (plan keys are per account: the same line for two customers is two installers).
    public func creation(planKey: String, account: Account? = nil) throws -> PendingCreation? {
        try read { db in
            let scope = account.map(AccountScope.only) ?? .all
            return try CreationQueries.fetchPending(db, state: nil, planKey: planKey, scope: scope).last { $0.state != .failed }
        }
    }

    // MARK: - Deletion

    /// Records that an installer is gone at ESET.
    public func markDeleted(uuid: String, source: EventSource, at now: Timestamp, reason: String? = nil) throws {
        try write { db in try CreationQueries.markDeleted(db, uuid: uuid, source: source, at: now, reason: reason) }
    }

    // MARK: - Runs

    /// Records a finished sync or reconcile run.
    public func recordRun(kind: String, startedAt: Timestamp, finishedAt: Timestamp, succeeded: Bool,
                          counts: String?, message: String?, account: Account? = nil) throws {
        try write { db in
            try db.execute(sql: """
                INSERT INTO runs (kind, started_at, finished_at, succeeded, counts, message, account_id) VALUES (?, ?, ?, ?, ?, ?, ?)
                """, arguments: [kind, startedAt.nanoseconds, finishedAt.nanoseconds, succeeded, counts, message,
                                 try AccountQueries.accountID(db, account, at: finishedAt)])
        }
    }

    /// Records a sync run of an account with its summary.
    public func recordSyncRun(startedAt: Timestamp, finishedAt: Timestamp, summary: SyncSummary?, error: String?,
                              account: Account? = nil) throws {
        try recordRun(kind: "sync", startedAt: startedAt, finishedAt: finishedAt, succeeded: summary != nil,
                      counts: summary?.countsJSON, message: error, account: account)
    }

    /// When the last successful run of one of these kinds finished, for the accounts in scope.
    public func lastSuccessfulRun(kinds: [String], scope: AccountScope = .all) throws -> Timestamp? {
        try read { db in
            try Int64.fetchOne(db, sql: """
                SELECT max(finished_at) FROM runs WHERE succeeded = 1 AND kind IN (\(sqlPlaceholders(count: kinds.count)))
                \(scope.sqlCondition().map { "AND " + $0 } ?? "")
                """, arguments: SQLArguments(kinds)).map(Timestamp.init(nanoseconds:))
        }
    }
}

/// The creations' and deletions' SQL, inside the caller's read or write.
enum CreationQueries {
    static func fetchPending(_ db: any LedgerSQL, state: PendingCreation.State?, planKey: String? = nil,
                             scope: AccountScope = .all) throws -> [PendingCreation] {
        var sql = "SELECT local_id, request_json, requested_at, state, installer_uuid, message, plan_key, account_id, "
            + "(SELECT name FROM accounts WHERE accounts.id = account_id) FROM pending_creations"
        var conditions = [String]()
        var args = SQLArguments()
        if let state { conditions.append("state = ?"); args += [state.rawValue] }
        if let planKey { conditions.append("plan_key = ?"); args += [planKey] }
        if let scoped = scope.sqlCondition() { conditions.append(scoped) }
        if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
        sql += " ORDER BY id"
        return try SQLRow.fetchAll(db, sql: sql, arguments: args).map { row in
            let json = (try? JSONParser.parse(Array((row[1] as String).utf8))) ?? .null
            let request: CreateInstallerRequest
            if case .object(let o) = json, let r = try? CreateInstallerRequest(json: o) {
                request = r
            } else {
                request = CreateInstallerRequest(displayName: "", operatingSystemFamilyId: 0)
            }
            return PendingCreation(localId: row[0], request: request, requestedAt: Timestamp(nanoseconds: row[2]),
                                   state: PendingCreation.State(rawValue: row[3]) ?? .pending, installerUuid: row[4],
                                   message: row[5], planKey: row[6], accountID: row[7],
                                   account: row[8] ?? "")
        }
    }

    static func markDeleted(_ db: any LedgerSQL, uuid: String, source: EventSource, at now: Timestamp, reason: String?) throws {
        try db.execute(sql: """
            UPDATE installers SET status = 'deleted', status_reason = ?, status_changed_at = ? WHERE uuid = ? AND status <> 'deleted'
            """, arguments: [reason ?? source.rawValue, now.nanoseconds, uuid])
        guard db.changesCount > 0 else { return }
        try EventLog.append(db, uuid: uuid, kind: .deleted, at: now, source: source, reason: reason, details: nil)
    }
}
