
/// One replacement: an old installer and the new one created for it.
public struct Succession: Sendable, Equatable {
    public var predecessorUuid: String
    public var successorUuid: String
    public var linkedAt: Timestamp
    /// The command that made the link (`rotate`, or `sync` resolving an uncertain creation).
    public var source: EventSource
    /// When a hand-over file listed the successor; nil until then.
    public var handedOverAt: Timestamp?

    public init(predecessorUuid: String, successorUuid: String, linkedAt: Timestamp, source: EventSource,
                handedOverAt: Timestamp? = nil) {
        self.predecessorUuid = predecessorUuid
        self.successorUuid = successorUuid
        self.linkedAt = linkedAt
        self.source = source
        self.handedOverAt = handedOverAt
    }
}

/// The plan keys `rotate` gives its creations: `rotate:<predecessor uuid>`, so a re-run or an
/// interrupted run finds the creation it already started and never sends it twice.
public enum RotationPlanKey {
    static let prefix = "rotate:"

    /// The plan key of the replacement of `predecessorUuid`.
    public static func forPredecessor(_ predecessorUuid: String) -> String { prefix + predecessorUuid }

    /// The predecessor a plan key names, or nil for creations that are not replacements.
    public static func predecessor(of planKey: String?) -> String? {
        guard let planKey, planKey.hasPrefix(prefix), planKey.count > prefix.count else { return nil }
        return String(planKey.dropFirst(prefix.count))
    }
}

// MARK: - Links

extension Ledger {
    /// The successor of an installer, if one was created for it.
    public func successor(of uuid: String) throws -> String? {
        try read { db in
            try String.fetchOne(db, sql: "SELECT successor_uuid FROM successions WHERE predecessor_uuid = ?", arguments: [uuid])
        }
    }

    /// The installer this one replaced, if it was created by `rotate`.
    public func predecessor(of uuid: String) throws -> String? {
        try read { db in
            try String.fetchOne(db, sql: "SELECT predecessor_uuid FROM successions WHERE successor_uuid = ?", arguments: [uuid])
        }
    }

    /// Every replacement, oldest link first.
    public func successions() throws -> [Succession] {
        try read { db in
            try SQLRow.fetchAll(db, sql: """
                SELECT predecessor_uuid, successor_uuid, linked_at, source, handed_over_at FROM successions ORDER BY linked_at, predecessor_uuid
                """).map(SuccessionQueries.decodeSuccession)
        }
    }

    /// Links a predecessor to its successor with a `superseded` event on the predecessor, unless
    /// either side is already linked. Used when a replacement's creation is found resolved
    /// without a link (the link is normally made in the transaction that records the creation).
    /// - Returns: whether a link was made.
    @discardableResult
    public func linkSuccession(predecessor: String, successor: String, source: EventSource, at now: Timestamp) throws -> Bool {
        try write { db in
            try SuccessionQueries.link(db, predecessor: predecessor, successor: successor, creationLocalId: nil, source: source, at: now)
        }
    }

}

/// The successions' SQL (which installer replaced which), inside the caller's read or write.
enum SuccessionQueries {
    /// Called whenever a pending creation resolves (recorded by `create`/`rotate`, matched by
    /// `sync`): if it was a replacement, links it to its predecessor in the same transaction,
    /// so a rotation interrupted after ESET answered, or resolved later by `sync`, is linked
    /// exactly once.
    static func linkIfReplacement(_ db: any LedgerSQL, localId: String, successor: String, source: EventSource, at now: Timestamp) throws {
        let planKey = try String.fetchOne(db, sql: "SELECT plan_key FROM pending_creations WHERE local_id = ?", arguments: [localId])
        guard let predecessor = RotationPlanKey.predecessor(of: planKey) else { return }
        _ = try link(db, predecessor: predecessor, successor: successor, creationLocalId: localId, source: source, at: now)
    }

    static func link(_ db: any LedgerSQL, predecessor: String, successor: String, creationLocalId: String?,
                     source: EventSource, at now: Timestamp) throws -> Bool {
        guard predecessor != successor,
              try Bool.fetchOne(db, sql: "SELECT 1 FROM installers WHERE uuid = ?", arguments: [predecessor]) == true,
              try Bool.fetchOne(db, sql: "SELECT 1 FROM installers WHERE uuid = ?", arguments: [successor]) == true
        else { return false }
        try db.execute(sql: """
            INSERT INTO successions (predecessor_uuid, successor_uuid, linked_at, source, creation_local_id)
            VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING
            """, arguments: [predecessor, successor, now.nanoseconds, source.rawValue, creationLocalId])
        guard db.changesCount > 0 else { return false }
        var details = JSONObject()
        details.append("successorUuid", .string(successor))
        if let creationLocalId { details.append("localId", .string(creationLocalId)) }
        try EventLog.append(db, uuid: predecessor, kind: .superseded, at: now, source: source, reason: "replaced",
                            details: JSONValue.object(details).jsonText)
        return true
    }

    static func decodeSuccession(_ row: SQLRow) -> Succession {
        Succession(predecessorUuid: row[0], successorUuid: row[1], linkedAt: Timestamp(nanoseconds: row[2]),
                   source: EventSource(rawValue: row[3]) ?? .rotate,
                   handedOverAt: (row[4] as Int64?).map(Timestamp.init(nanoseconds:)))
    }

    /// Fills `successorUuid` and `predecessorUuid` of a batch of installers in one query.
    static func attachSuccessions(_ db: any LedgerSQL, to entries: inout [LedgerInstaller]) throws {
        guard !entries.isEmpty else { return }
        var index = [String: Int]()
        for (i, e) in entries.enumerated() { index[e.installer.uuid] = i }
        let uuids = entries.map(\.installer.uuid)
        let marks = sqlPlaceholders(count: uuids.count)
        let rows = try SQLRow.fetchCursor(db, sql: """
            SELECT predecessor_uuid, successor_uuid FROM successions
            WHERE predecessor_uuid IN (\(marks)) OR successor_uuid IN (\(marks))
            """, arguments: SQLArguments(uuids + uuids))
        while let row = try rows.next() {
            let predecessor: String = row[0], successor: String = row[1]
            if let i = index[predecessor] { entries[i].successorUuid = successor }
            if let i = index[successor] { entries[i].predecessorUuid = predecessor }
        }
    }
}
