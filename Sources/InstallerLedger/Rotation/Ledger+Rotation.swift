
// MARK: - Rotation inputs and hand-over

extension Ledger {
    /// What `rotate` needs to decide about each selected installer: usable installers
    /// expiring in (now, now + within] matching the selection, soonest first, each with its
    /// successor (if any), the newest creation started for it, and the request that created
    /// it (when the ledger created it).
    public func rotationCandidates(_ selection: RotationSelection, at now: Timestamp) throws -> [RotationCandidate] {
        let installers = try installers(matching: selection.filter, at: now)
        guard !installers.isEmpty else { return [] }
        return try read { db in
            let uuids = installers.map(\.installer.uuid)
            var creations = [String: PendingCreation]()
            var originals = [String: CreateInstallerRequest]()
            for chunk in stride(from: 0, to: uuids.count, by: 400).map({ Array(uuids[$0..<min($0 + 400, uuids.count)]) }) {
                let marks = sqlPlaceholders(count: chunk.count)
                // The newest creation per plan key that is not known to have failed.
                for creation in try CreationQueries.fetchPending(db, state: nil, planKeys: chunk.map(RotationPlanKey.forPredecessor))
                where creation.state != .failed {
                    if let predecessor = RotationPlanKey.predecessor(of: creation.planKey) { creations[predecessor] = creation }
                }
                let rows = try SQLRow.fetchAll(db, sql: """
                    SELECT installer_uuid, request_json FROM pending_creations
                    WHERE state = 'resolved' AND installer_uuid IN (\(marks)) ORDER BY id
                    """, arguments: SQLArguments(chunk))
                for row in rows {
                    if case .object(let o)? = try? JSONParser.parse(Array((row[1] as String).utf8)),
                       let request = try? CreateInstallerRequest(json: o) {
                        originals[row[0]] = request
                    }
                }
            }
            return installers.map { entry in
                RotationCandidate(installer: entry, creation: creations[entry.installer.uuid],
                                  originalRequest: originals[entry.installer.uuid])
            }
        }
    }

    /// Replacements whose new download URL has not been handed over yet and whose predecessor
    /// matches the selection's group, OS and name (not its time window), oldest link first.
    public func pendingHandOver(_ selection: RotationSelection) throws -> [HandOverEntry] {
        try read { db in
            let rows = try SQLRow.fetchAll(db, sql: """
                SELECT predecessor_uuid, successor_uuid FROM successions WHERE handed_over_at IS NULL
                ORDER BY linked_at, predecessor_uuid
                """)
            var entries = [HandOverEntry]()
            for row in rows {
                guard let old = try LedgerQueries.installer(db, uuid: row[0]),
                      let new = try LedgerQueries.installer(db, uuid: row[1]),
                      selection.matches(old.installer), new.status != .deleted,
                      selection.scope.ids?.contains(old.accountID ?? -1) ?? true
                else { continue }
                entries.append(HandOverEntry(predecessor: old.installer, successor: new.installer))
            }
            return entries
        }
    }

    /// Notes that a hand-over file listed these replacements, so later files leave them out.
    public func markHandedOver(predecessors: [String], at now: Timestamp) throws {
        guard !predecessors.isEmpty else { return }
        try write { db in
            for uuid in predecessors {
                try db.execute(sql: "UPDATE successions SET handed_over_at = ? WHERE predecessor_uuid = ?", arguments: [now.nanoseconds, uuid])
            }
        }
    }
}

/// Many plan keys at once, for rotate.
extension CreationQueries {
    static func fetchPending(_ db: any LedgerSQL, state: PendingCreation.State?, planKeys: [String]) throws -> [PendingCreation] {
        guard !planKeys.isEmpty else { return [] }
        // fetchPending filters by one plan key; many keys are read in one indexed query here.
        let ids = try String.fetchAll(db, sql: """
            SELECT DISTINCT plan_key FROM pending_creations WHERE plan_key IN (\(sqlPlaceholders(count: planKeys.count)))
            """, arguments: SQLArguments(planKeys))
        return try ids.flatMap { try fetchPending(db, state: state, planKey: $0) }
    }
}
