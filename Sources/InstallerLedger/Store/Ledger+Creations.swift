import Foundation
import GRDB

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
}

/// What a sync did.
public struct SyncSummary: Sendable, Equatable {
    public var seen = 0
    public var record = RecordSummary()
    public var deleted = 0
    public var resolved = 0
    /// Creations still without a matching installer (too recent to give up on).
    public var stillPending: [String] = []
    /// Creations that certainly did not happen (no match long after they were sent).
    public var failed: [String] = []

    public init() {}

    /// A one-line account, e.g. `120 listed: 3 new, 1 changed, 116 unchanged, 2 deleted, 1 pending resolved`.
    public var line: String {
        var s = "\(seen) listed: \(record.line), \(deleted) deleted, \(resolved) pending resolved"
        if !stillPending.isEmpty { s += ", \(stillPending.count) still pending" }
        if !failed.isEmpty { s += ", \(failed.count) pending found not created" }
        return s
    }

    var countsJSON: String {
        JSONValue.object(JSONObject(
            keys: ["seen", "new", "changed", "unchanged", "deleted", "resolved", "pending", "failed"],
            values: [.int(Int64(seen)), .int(Int64(record.new)), .int(Int64(record.changed)), .int(Int64(record.unchanged)),
                     .int(Int64(deleted)), .int(Int64(resolved)), .int(Int64(stillPending.count)), .int(Int64(failed.count))])).jsonText
    }
}

extension Ledger {
    /// How long after sending a creation `sync` keeps waiting for it to appear before it
    /// concludes ESET did not create it (ESET keeps delayed answers 10 minutes).
    public static let pendingGracePeriod = LedgerDuration.seconds(15 * 60)

    // MARK: - Creation

    /// Writes a creation as pending, with a `pending` event, before anything is sent.
    public func addPending(_ request: CreateInstallerRequest, planKey: String? = nil, source: EventSource = .create,
                           at now: Timestamp) throws -> PendingCreation {
        let localId = UUID().uuidString.lowercased()
        try dbWriter.write { db in
            try db.execute(sql: """
                INSERT INTO pending_creations (local_id, request_json, display_name, os_family_id, security_group_uuid,
                  requested_at, state, plan_key) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?)
                """, arguments: [localId, request.json.jsonText, request.displayName, request.operatingSystemFamilyId,
                                 request.securityGroupUuid ?? "", now.nanoseconds, planKey])
            let details = JSONObject(keys: ["localId", "displayName"], values: [.string(localId), .string(request.displayName)])
            try EventLog.append(db, uuid: nil, kind: .pending, at: now, source: source, reason: nil, details: JSONValue.object(details).jsonText)
        }
        return PendingCreation(localId: localId, request: request, requestedAt: now, state: .pending, planKey: planKey)
    }

    /// Records a created installer and resolves its pending creation, in one transaction.
    public func recordCreated(_ received: ReceivedInstaller, pendingId: String, source: EventSource = .create, at now: Timestamp) throws {
        try dbWriter.write { db in
            var recorder = InstallerRecorder(db: db, source: source, now: now, touchLastSeen: true)
            try recorder.record(received)
            try resolve(db, localId: pendingId, uuid: received.installer.uuid, source: source, at: now)
        }
    }

    func resolve(_ db: Database, localId: String, uuid: String, source: EventSource, at now: Timestamp) throws {
        try db.execute(sql: """
            UPDATE pending_creations SET state = 'resolved', installer_uuid = ?, resolved_at = ? WHERE local_id = ?
            """, arguments: [uuid, now.nanoseconds, localId])
        let details = JSONObject(keys: ["localId"], values: [.string(localId)])
        try EventLog.append(db, uuid: uuid, kind: .resolved, at: now, source: source, reason: nil, details: JSONValue.object(details).jsonText)
        try Self.linkIfReplacement(db, localId: localId, successor: uuid, source: source, at: now)
    }

    /// Marks a pending creation as certainly not created (ESET refused it, or it never left).
    public func markFailed(pendingId: String, message: String, source: EventSource = .create, at now: Timestamp) throws {
        try dbWriter.write { db in try fail(db, localId: pendingId, message: message, source: source, at: now) }
    }

    func fail(_ db: Database, localId: String, message: String, source: EventSource, at now: Timestamp) throws {
        try db.execute(sql: "UPDATE pending_creations SET state = 'failed', resolved_at = ?, message = ? WHERE local_id = ?",
                       arguments: [now.nanoseconds, message, localId])
        let details = JSONObject(keys: ["localId", "message"], values: [.string(localId), .string(message)])
        try EventLog.append(db, uuid: nil, kind: .resolved, at: now, source: source, reason: "not created",
                            details: JSONValue.object(details).jsonText)
    }

    /// Pending creations, optionally only those in one state, oldest first.
    public func pendingCreations(state: PendingCreation.State? = nil) throws -> [PendingCreation] {
        try dbWriter.read { db in try Self.fetchPending(db, state: state) }
    }

    /// The newest creation for a bulk-plan line that is not known to have failed.
    public func creation(planKey: String) throws -> PendingCreation? {
        try dbWriter.read { db in
            try Self.fetchPending(db, state: nil, planKey: planKey).last { $0.state != .failed }
        }
    }

    static func fetchPending(_ db: Database, state: PendingCreation.State?, planKey: String? = nil) throws -> [PendingCreation] {
        var sql = "SELECT local_id, request_json, requested_at, state, installer_uuid, message, plan_key FROM pending_creations"
        var conditions = [String]()
        var args = StatementArguments()
        if let state { conditions.append("state = ?"); args += [state.rawValue] }
        if let planKey { conditions.append("plan_key = ?"); args += [planKey] }
        if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
        sql += " ORDER BY id"
        return try Row.fetchAll(db, sql: sql, arguments: args).map { row in
            let json = (try? JSONParser.parse(Array((row[1] as String).utf8))) ?? .null
            let request: CreateInstallerRequest
            if case .object(let o) = json, let r = try? CreateInstallerRequest(json: o) {
                request = r
            } else {
                request = CreateInstallerRequest(displayName: "", operatingSystemFamilyId: 0)
            }
            return PendingCreation(localId: row[0], request: request, requestedAt: Timestamp(nanoseconds: row[2]),
                                   state: PendingCreation.State(rawValue: row[3]) ?? .pending, installerUuid: row[4],
                                   message: row[5], planKey: row[6])
        }
    }

    // MARK: - Deletion

    /// Records that an installer is gone at ESET.
    public func markDeleted(uuid: String, source: EventSource, at now: Timestamp, reason: String? = nil) throws {
        try dbWriter.write { db in try Self.markDeleted(db, uuid: uuid, source: source, at: now, reason: reason) }
    }

    static func markDeleted(_ db: Database, uuid: String, source: EventSource, at now: Timestamp, reason: String?) throws {
        try db.execute(sql: """
            UPDATE installers SET status = 'deleted', status_reason = ?, status_changed_at = ? WHERE uuid = ? AND status <> 'deleted'
            """, arguments: [reason ?? source.rawValue, now.nanoseconds, uuid])
        guard db.changesCount > 0 else { return }
        try EventLog.append(db, uuid: uuid, kind: .deleted, at: now, source: source, reason: reason, details: nil)
    }

    // MARK: - Sync

    /// Applies a complete listing from ESET in one transaction: adopts unknown installers,
    /// refreshes known ones, marks those no longer listed as deleted, and resolves pending
    /// creations by display name, OS, group and creation time.
    public func applySync(listed: [ReceivedInstaller], at now: Timestamp) throws -> SyncSummary {
        try dbWriter.write { db in
            var summary = SyncSummary()
            summary.seen = listed.count
            var recorder = InstallerRecorder(db: db, source: .sync, now: now, touchLastSeen: true)
            var listedUuids = Set<String>()
            let distinct = listed.filter { listedUuids.insert($0.installer.uuid).inserted }
            try recorder.record(distinct.map(DecodedInstaller.init))
            summary.record = recorder.summary
            let known = try String.fetchCursor(db, sql: "SELECT uuid FROM installers WHERE status <> 'deleted'")
            var gone = [String]()
            while let uuid = try known.next() { if !listedUuids.contains(uuid) { gone.append(uuid) } }
            for uuid in gone {
                try Self.markDeleted(db, uuid: uuid, source: .sync, at: now, reason: "no longer listed")
                summary.deleted += 1
            }
            try resolvePending(db, listed: listed, at: now, summary: &summary)
            return summary
        }
    }

    func resolvePending(_ db: Database, listed: [ReceivedInstaller], at now: Timestamp, summary: inout SyncSummary) throws {
        let pending = try Self.fetchPending(db, state: .pending)
        guard !pending.isEmpty else { return }
        var taken = Set(try String.fetchAll(db, sql: "SELECT installer_uuid FROM pending_creations WHERE installer_uuid IS NOT NULL"))
        for creation in pending {
            let r = creation.request
            let earliest = creation.requestedAt.subtracting(.seconds(120))
            let latest = creation.requestedAt.adding(Self.pendingGracePeriod)
            let candidates = listed.map(\.installer).filter { i in
                !taken.contains(i.uuid) && i.displayName == r.displayName && i.operatingSystemFamilyId == r.operatingSystemFamilyId
                    && (r.securityGroupUuid == nil || i.deviceEnrollment.securityGroupUuid == r.securityGroupUuid)
                    && (i.createTime.map { $0 >= earliest && $0 <= latest } ?? false)
            }
            let distance = { (i: Installer) in abs(i.createTime!.nanoseconds - creation.requestedAt.nanoseconds) }
            if let match = candidates.min(by: { distance($0) < distance($1) }) {
                try resolve(db, localId: creation.localId, uuid: match.uuid, source: .sync, at: now)
                taken.insert(match.uuid)
                summary.resolved += 1
            } else if now > latest {
                try fail(db, localId: creation.localId, message: "no matching installer appeared at ESET", source: .sync, at: now)
                summary.failed.append(creation.localId)
            } else {
                summary.stillPending.append(creation.localId)
            }
        }
    }

    // MARK: - Runs

    /// Records a finished sync or reconcile run.
    public func recordRun(kind: String, startedAt: Timestamp, finishedAt: Timestamp, succeeded: Bool,
                          counts: String?, message: String?) throws {
        try dbWriter.write { db in
            try db.execute(sql: """
                INSERT INTO runs (kind, started_at, finished_at, succeeded, counts, message) VALUES (?, ?, ?, ?, ?, ?)
                """, arguments: [kind, startedAt.nanoseconds, finishedAt.nanoseconds, succeeded, counts, message])
        }
    }

    /// Records a sync run with its summary.
    public func recordSyncRun(startedAt: Timestamp, finishedAt: Timestamp, summary: SyncSummary?, error: String?) throws {
        try recordRun(kind: "sync", startedAt: startedAt, finishedAt: finishedAt, succeeded: summary != nil,
                      counts: summary?.countsJSON, message: error)
    }

    /// When the last successful run of one of these kinds finished.
    public func lastSuccessfulRun(kinds: [String]) throws -> Timestamp? {
        try dbWriter.read { db in
            try Int64.fetchOne(db, sql: """
                SELECT max(finished_at) FROM runs WHERE succeeded = 1 AND kind IN (\(databaseQuestionMarks(count: kinds.count)))
                """, arguments: StatementArguments(kinds)).map(Timestamp.init(nanoseconds:))
        }
    }
}
