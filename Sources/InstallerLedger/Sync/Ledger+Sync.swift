import Foundation

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
    // MARK: - Sync

    /// Applies a complete listing from ESET in one transaction: adopts unknown installers,
    /// refreshes known ones, marks those no longer listed as deleted, and resolves pending
    /// creations by display name, OS, group and creation time.
    ///
    /// Only the account's own installers and creations are touched: another account's are
    /// never marked deleted, and a uuid it owns that this listing names is a conflict.
    /// - Parameter account: whose listing it is; nil: the ledger's only account.
    public func applySync(listed: [ReceivedInstaller], account: Account? = nil, at now: Timestamp) throws -> SyncSummary {
        try write { db in
            var summary = SyncSummary()
            summary.seen = listed.count
            let accountID = try AccountQueries.accountID(db, account, at: now)
            var recorder = InstallerRecorder(db: db, source: .sync, now: now, touchLastSeen: true, account: accountID)
            var listedUuids = Set<String>()
            let distinct = listed.filter { listedUuids.insert($0.installer.uuid).inserted }
            try recorder.record(distinct.map(DecodedInstaller.init))
            summary.record = recorder.summary
            var gone = [String]()
            try String.forEach(db, sql: "SELECT uuid FROM installers WHERE status <> 'deleted' AND account_id = ?",
                               arguments: [accountID]) { uuid in
                if !listedUuids.contains(uuid) { gone.append(uuid) }
            }
            for uuid in gone {
                try CreationQueries.markDeleted(db, uuid: uuid, source: .sync, at: now, reason: "no longer listed")
                summary.deleted += 1
            }
            try resolvePending(db, listed: listed, account: accountID, at: now, summary: &summary)
            return summary
        }
    }

    func resolvePending(_ db: any LedgerSQL, listed: [ReceivedInstaller], account: Int64, at now: Timestamp,
                        summary: inout SyncSummary) throws {
        let pending = try CreationQueries.fetchPending(db, state: .pending, scope: AccountScope(ids: [account]))
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
}
