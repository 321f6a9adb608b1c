
// Point-in-time history (`list --as-of`, `export --as-of`).
//
// The installers table holds the current state; `changed` events hold the old and new value
// of every field they touched. A past state is therefore rebuilt BACKWARDS: start from the
// current row and undo, newest first, the `changed` events later than the instant. The
// status is rebuilt FORWARDS from the status events at or before the instant (`recorded`,
// `became_unusable`, `deleted`, and a `changed` of `usable` back to true after an API
// verdict), then the clock is applied: a usable installer whose expiry is at or before the
// instant counts as unusable (expired).

// MARK: - The instant

extension Timestamp {
    /// The instant an `--as-of` value names: an RFC 3339 timestamp exactly; a bare date
    /// (`2026-03-31`) the end of that day in UTC (its last nanosecond), so that everything
    /// that happened during the day counts.
    /// - Throws: `ParseError` when the text is neither.
    public init(asOf text: String) throws(ParseError) {
        try self.init(commandLine: text)
        if text.utf8.count == 10 { nanoseconds += 86_400_000_000_000 - 1 }
    }
}

// MARK: - Rebuilding one installer

/// Rebuilds an installer's state at an instant from its current row and its history.
public enum PointInTime {
    /// The installer as it stood at `instant`, or nil when it did not exist yet (created
    /// by ESET after the instant; without an ESET creation time, first seen after it).
    ///
    /// - Parameters:
    ///   - current: the current row, with products and components when they are wanted.
    ///   - events: this installer's events in the order they were written (id order);
    ///     other kinds than `recorded`, `changed`, `became_unusable`, `deleted` and `restored`
    ///     are ignored.
    ///   - instant: the moment; events at exactly the instant count as having happened.
    public static func state(of current: LedgerInstaller, events: [LedgerEvent], at instant: Timestamp) -> LedgerInstaller? {
        var e = current
        // Undo later changes, newest first: each restores the old values it recorded.
        for event in events.reversed() where event.kind == .changed && event.at > instant {
            guard case .object(let diff)? = parse(event.details) else { continue }
            for (k, key) in diff.keys.enumerated() {
                guard case .object(let change) = diff.values[k], let old = change["old"] else { continue }
                restore(key, to: old, in: &e.installer)
            }
        }
        let i = e.installer
        if let created = i.createTime {
            guard created <= instant else { return nil }
        } else {
            guard current.firstSeen <= instant else { return nil }
        }
        // Before the ledger first recorded it, an installer is taken as usable until it
        // expires: the ledger cannot know of an earlier revocation.
        var status = InstallerStatus.usable
        var reason: String?
        var changedAt = i.createTime ?? current.firstSeen
        for event in events where event.at <= instant {
            switch event.kind {
            case .recorded:
                // The recorder writes reason "api" exactly when it records an unusable one.
                status = .usable
                reason = event.reason
                if event.reason != nil {
                    if case .object(let d)? = parse(event.details), case .string(let s)? = d["status"] {
                        status = InstallerStatus(rawValue: s) ?? .unusable
                    } else {
                        status = .unusable
                    }
                    if status == .usable { reason = nil }
                }
                changedAt = event.at
            case .becameUnusable:
                guard status != .deleted else { continue }
                (status, reason, changedAt) = (.unusable, event.reason, event.at)
            case .deleted:
                (status, reason, changedAt) = (.deleted, event.reason ?? event.source.rawValue, event.at)
            case .restored:
                // ESET listed it again: the status it was given then (`api` when not usable).
                guard case .object(let d)? = parse(event.details), case .string(let s)? = d["status"],
                      let restored = InstallerStatus(rawValue: s) else { continue }
                (status, reason, changedAt) = (restored, event.reason, event.at)
            case .changed:
                // An API verdict is withdrawn when ESET reports the installer usable again.
                guard status == .unusable, reason == "api", case .object(let d)? = parse(event.details),
                      case .object(let usable)? = d["usable"], usable["new"] == .bool(true) else { continue }
                (status, reason, changedAt) = (.usable, nil, event.at)
            default:
                continue
            }
        }
        if status == .usable, let expiry = i.expireTime, expiry <= instant {
            (status, reason, changedAt) = (.unusable, "expired", expiry)
        }
        e.status = status
        e.statusReason = reason
        e.statusChangedAt = changedAt
        return e
    }

    static func parse(_ text: String?) -> JSONValue? {
        guard let text else { return nil }
        return try? JSONParser.parse(Array(text.utf8))
    }

    /// Puts back one field's old value, keyed as `Installer.differences(to:)` writes them.
    /// Keys this build does not know (a newer ledger's) are left alone.
    static func restore(_ key: String, to old: JSONValue, in i: inout Installer) {
        func string() -> String { if case .string(let s) = old { s } else { "" } }
        func bool() -> Bool { if case .bool(let b) = old { b } else { false } }
        func int() -> Int64 {
            switch old {
            case .number(let n), .string(let n): Int64(n) ?? 0
            default: 0
            }
        }
        func timestamp() -> Timestamp? { if case .string(let s) = old { try? Timestamp(rfc3339: s) } else { nil } }
        func children() -> Installer? {
            // The arrays decode with the installer's own rules, through a minimal object.
            let object = JSONObject(keys: ["uuid", key], values: [.string(i.uuid), old])
            return try? Installer(json: object)
        }
        switch key {
        case "displayName": i.displayName = string()
        case "operatingSystemFamilyId": i.operatingSystemFamilyId = int()
        case "preferredLanguageCode": i.preferredLanguageCode = string()
        case "deviceEnrollment.securityGroupUuid": i.deviceEnrollment.securityGroupUuid = string()
        case "deviceEnrollment.groupDisplayName": i.deviceEnrollment.groupDisplayName = string()
        case "enableCloudScannerFeedback": i.enableCloudScannerFeedback = bool()
        case "enablePuaDetection": i.enablePuaDetection = bool()
        case "sendAnonymousDiagnosticData": i.sendAnonymousDiagnosticData = bool()
        // Events never hold download URLs: the old one is known only as `[redacted]`.
        case "downloadUrl": i.downloadUrl = string()
        case "createTime": i.createTime = timestamp()
        case "expireTime": i.expireTime = timestamp()
        case "usable": i.usable = bool()
        case "activatedProducts": if let c = children() { i.activatedProducts = c.activatedProducts }
        case "installedComponents": if let c = children() { i.installedComponents = c.installedComponents }
        default: break
        }
    }
}

// MARK: - Filters on a rebuilt state

extension InstallerFilter {
    /// Whether an installer (typically a rebuilt past state) passes the filter, with
    /// `instant` as "now": the same rules as the SQL `list` uses, text matched by
    /// ``SelectionText`` as there.
    public func matches(_ e: LedgerInstaller, at instant: Timestamp) -> Bool {
        let i = e.installer
        if let ids = scope.ids, !ids.contains(e.accountID ?? -1) { return false }
        if let status, e.status != status { return false }
        if let within = expiringWithin {
            guard e.status == .usable, let x = i.expireTime, x > instant, x <= instant.adding(within) else { return false }
        }
        if expired {
            guard let x = i.expireTime, x <= instant else { return false }
        }
        if let os = operatingSystemFamilyId, i.operatingSystemFamilyId != os { return false }
        if let group {
            guard i.deviceEnrollment.securityGroupUuid == group
                    || SelectionText.equal(i.deviceEnrollment.groupDisplayName, group) else { return false }
        }
        if let product {
            if let id = Int64(product) {
                guard i.activatedProducts.contains(where: { $0.productId == id }) else { return false }
            } else {
                guard i.activatedProducts.contains(where: { SelectionText.equal($0.productDisplayName, product) }) else { return false }
            }
        }
        if let subscriptionUuid, !i.activatedProducts.contains(where: { $0.subscriptionUuid == subscriptionUuid }) { return false }
        if let createdAfter {
            guard let c = i.createTime, c >= createdAfter else { return false }
        }
        if let createdBefore {
            guard let c = i.createTime, c < createdBefore else { return false }
        }
        if let name = nameContains, !SelectionText.contains(i.displayName, name) { return false }
        return true
    }
}

// MARK: - Streaming past states

extension Ledger {
    /// The installers matching a filter as they stood at `instant`, rebuilt from the
    /// history and streamed in batches from one consistent snapshot. The filter applies to
    /// the rebuilt states with `instant` as "now"; the order is the filter's sort key as it
    /// was at the instant, then uuid.
    /// - Parameter withChildren: products and components are wanted in the output (they are
    ///   loaded anyway when a product or subscription filter needs them).
    /// - Throws: a database error.
    public func forEachInstaller(
        asOf instant: Timestamp, matching filter: InstallerFilter, withChildren: Bool = true, batchSize: Int = 500,
        _ body: ([LedgerInstaller]) throws -> Void
    ) throws {
        try read { db in
            try Self.forEachInstaller(db, asOf: instant, matching: filter, withChildren: withChildren,
                                      batchSize: batchSize, body)
        }
    }

    /// `forEachInstaller(asOf:)` inside a read; `byUuid` orders by uuid alone (exports).
    static func forEachInstaller(
        _ db: any LedgerSQL, asOf instant: Timestamp, matching filter: InstallerFilter, withChildren: Bool,
        batchSize: Int, byUuid: Bool = false, _ body: ([LedgerInstaller]) throws -> Void
    ) throws {
        let (sql, args) = try selectCandidates(db, filter, asOf: instant, byUuid: byUuid)
        let needsChildren = withChildren || filter.product != nil || filter.subscriptionUuid != nil
        let cursor = try SQLRow.fetchStream(db, sql: sql, arguments: args)
        var remaining = filter.limit ?? .max
        var candidates = [LedgerInstaller]()
        candidates.reserveCapacity(batchSize)
        let names = try AccountQueries.accountNames(db)
        func flush() throws {
            if needsChildren {
                try LedgerQueries.attachChildren(db, to: &candidates, accountNames: names)
            } else {
                try LedgerQueries.attachAccounts(db, to: &candidates, names: names)
            }
            let history = try events(db, of: candidates.map(\.installer.uuid))
            var out = [LedgerInstaller]()
            for current in candidates where remaining > 0 {
                guard let past = PointInTime.state(of: current, events: history[current.installer.uuid] ?? [], at: instant),
                      filter.matches(past, at: instant) else { continue }
                out.append(past)
                remaining -= 1
            }
            candidates.removeAll(keepingCapacity: true)
            if !out.isEmpty { try body(out) }
        }
        while remaining > 0, let row = try cursor.next() {
            candidates.append(LedgerQueries.decode(row))
            if candidates.count == batchSize { try flush() }
        }
        if !candidates.isEmpty, remaining > 0 { try flush() }
    }

    /// The installers matching a filter at an instant, all at once (small results, tests).
    public func installers(asOf instant: Timestamp, matching filter: InstallerFilter) throws -> [LedgerInstaller] {
        var all = [LedgerInstaller]()
        try forEachInstaller(asOf: instant, matching: filter) { all += $0 }
        return all
    }

    /// The pending creations passing a filter's name, OS and group parts, at most its
    /// limit, oldest first: those still pending now, or (`asOf`) those unresolved then.
    public func pendingCreations(matching filter: InstallerFilter, asOf instant: Timestamp? = nil) throws -> [PendingCreation] {
        let all = try instant.map { try pendingCreations(asOf: $0) } ?? pendingCreations(state: .pending)
        return Array(all.filter(filter.matches).prefix(filter.limit ?? .max))
    }

    /// Creations whose outcome was still unknown at `instant`: requested at or before it
    /// and not resolved (or found not created) by then; oldest first.
    public func pendingCreations(asOf instant: Timestamp) throws -> [PendingCreation] {
        try read { db in
            let open = Set(try String.fetchAll(db, sql: """
                SELECT local_id FROM pending_creations
                WHERE requested_at <= ? AND (state = 'pending' OR resolved_at IS NULL OR resolved_at > ?)
                """, arguments: [instant.nanoseconds, instant.nanoseconds]))
            return try CreationQueries.fetchPending(db, state: nil).compactMap { creation in
                guard open.contains(creation.localId) else { return nil }
                var c = creation
                (c.state, c.installerUuid, c.message) = (.pending, nil, nil)
                return c
            }
        }
    }

    /// A superset of the installers that can match at the instant, in the order of the sort
    /// key as it was then. Fields can only differ from the current row where a `changed`
    /// event is later than the instant, so: (existed by the current row AND matches the
    /// current fields) OR changed since. The exact test runs on the rebuilt states.
    static func selectCandidates(_ db: any LedgerSQL, _ filter: InstallerFilter, asOf instant: Timestamp,
                                 byUuid: Bool = false) throws -> (String, SQLArguments) {
        let a = instant.nanoseconds
        var args = SQLArguments()
        var current = ["COALESCE(create_time, first_seen) <= ?"]
        args += [a]
        // The current-field part of the filter, through the same SQL as `list`: the status
        // (and expiry against the status) is decided on the rebuilt state instead.
        var fields = filter
        fields.status = nil
        fields.expiringWithin = nil
        fields.sort = .created
        fields.limit = nil
        if let within = filter.expiringWithin {
            current.append("expire_time > ? AND expire_time <= ?")
            args += [a, instant.adding(within).nanoseconds]
        }
        if fields != InstallerFilter() {
            let (sql, fieldArgs) = try LedgerQueries.selectInstallers(db, fields, now: instant)
            current.append("uuid IN (SELECT uuid FROM (\(sql)) AS fields)")
            args += fieldArgs
        }
        let changedSince = "uuid IN (SELECT installer_uuid FROM events WHERE kind = 'changed' AND at > ?)"
        args += [a]
        // The sort key as it was: the old value of the first later change touching it.
        let (column, jsonKey) = switch filter.sort {
        case .created: ("create_time", "createTime")
        case .expires: ("expire_time", "expireTime")
        case .name: ("display_name", "displayName")
        }
        let engine = db.engine
        func collated(_ expression: String) -> String { filter.sort == .name ? engine.asciiFolded(expression) : expression }
        var order = collated(column)
        var join = ""
        var joinArgs = SQLArguments()
        let touched = byUuid ? false : try Bool.fetchOne(db, sql: """
            SELECT 1 FROM events WHERE kind = 'changed' AND at > ? AND \(engine.jsonHas("details", jsonKey)) LIMIT 1
            """, arguments: [a]) ?? false
        if touched {
            let oldText = engine.jsonText("details", jsonKey, "old")
            let old = filter.sort == .name ? oldText : engine.rfc3339Nanoseconds(oldText)
            // The first later change of each installer: SQLite takes the bare column of the
            // row with MIN(id); PostgreSQL says so with DISTINCT ON.
            let first = switch engine {
            case .sqlite: """
                SELECT installer_uuid AS u, MIN(id), \(old) AS old FROM events
                   WHERE kind = 'changed' AND at > ? AND \(engine.jsonHas("details", jsonKey))
                   GROUP BY installer_uuid
                """
            case .postgresql: """
                SELECT DISTINCT ON (installer_uuid) installer_uuid AS u, \(old) AS old FROM events
                   WHERE kind = 'changed' AND at > ? AND \(engine.jsonHas("details", jsonKey))
                   ORDER BY installer_uuid, id
                """
            }
            join = " LEFT JOIN (\(first)) AS later ON later.u = installers.uuid"
            joinArgs += [a]
            order = collated("(CASE WHEN later.u IS NULL THEN \(column) ELSE later.old END)")
        }
        let columns = LedgerQueries.installerColumns.split(separator: ",").map { "installers." + $0.trimmingCharacters() }
        let sql = """
            SELECT \(columns.joined(separator: ", ")) FROM installers\(join)
            WHERE (\(current.joined(separator: " AND "))) OR \(changedSince)
            ORDER BY \(byUuid ? "" : order + ", ")installers.uuid
            """
        return (sql, joinArgs + args)
    }

    /// The status and change events of some installers, grouped by installer, in id order.
    static func events(_ db: any LedgerSQL, of uuids: [String]) throws -> [String: [LedgerEvent]] {
        guard !uuids.isEmpty else { return [:] }
        var grouped = [String: [LedgerEvent]]()
        let cursor = try SQLRow.fetchCursor(db, sql: """
            SELECT id, installer_uuid, kind, at, source, reason, details FROM events
            WHERE installer_uuid IN (\(sqlPlaceholders(count: uuids.count)))
              AND kind IN ('recorded', 'changed', 'became_unusable', 'deleted', 'restored')
            ORDER BY installer_uuid, id
            """, arguments: SQLArguments(uuids))
        while let row = try cursor.next() {
            let event = LedgerQueries.decodeEvent(row)
            grouped[event.installerUuid ?? "", default: []].append(event)
        }
        return grouped
    }
}

private extension Substring {
    func trimmingCharacters() -> String {
        String(drop { $0 == " " || $0 == "\n" }.reversed().drop { $0 == " " || $0 == "\n" }.reversed())
    }
}
