import GRDB

/// Records received installers inside one write transaction with cached prepared
/// statements: inserts new ones (`recorded`), diffs known ones (`changed`, and
/// `became_unusable` when ESET stops calling them usable), and leaves identical ones alone.
struct InstallerRecorder {
    let db: Database
    let source: EventSource
    let now: Timestamp
    /// Sync sees installers at the API, so it moves `last_seen`; a saved answer does not.
    let touchLastSeen: Bool
    private(set) var summary = RecordSummary()
    private var prepared: RecorderStatements?

    init(db: Database, source: EventSource, now: Timestamp, touchLastSeen: Bool = false) {
        self.db = db
        self.source = source
        self.now = now
        self.touchLastSeen = touchLastSeen
    }

    /// What happened to one installer.
    enum Outcome: Equatable { case new, changed, unchanged }

    @discardableResult
    mutating func record(_ received: ReceivedInstaller) throws -> Outcome {
        let installer = received.installer
        let hash = installer.contentHash
        let bulk = try statements()
        bulk.lookup.bind(1, installer.uuid)
        guard let found = try bulk.lookup.firstRow({ row in (id: row.int64(0), hash: row.int64(1)) }) else {
            try insert(received, hash: hash, bulk)
            summary.new += 1
            return .new
        }
        let rowID = found.id
        if found.hash == hash {
            try db.cachedStatement(sql: "UPDATE raw_answers SET json = ?, received_at = ? WHERE installer_id = ? AND json <> ?")
                .execute(arguments: [received.rawJSON, now.nanoseconds, rowID, received.rawJSON])
            if touchLastSeen {
                try db.cachedStatement(sql: "UPDATE installers SET last_seen = ? WHERE uuid = ?")
                    .execute(arguments: [now.nanoseconds, installer.uuid])
            }
            summary.unchanged += 1
            return .unchanged
        }
        guard let old = try LedgerQueries.installer(db, uuid: installer.uuid) else {
            throw LedgerError.installerNotFound(installer.uuid)
        }
        try update(old: old, rowID: rowID, with: received, hash: hash)
        summary.changed += 1
        return .changed
    }

    /// The bulk path's statements, prepared once per transaction.
    private mutating func statements() throws -> RecorderStatements {
        if let prepared { return prepared }
        let made = try RecorderStatements(db)
        prepared = made
        return made
    }

    private func insert(_ received: ReceivedInstaller, hash: Int64, _ bulk: RecorderStatements) throws {
        let i = received.installer
        let status: InstallerStatus = i.usable ? .usable : .unusable
        let reason: String? = i.usable ? nil : "api"
        let s = bulk.insertInstaller
        s.bind(1, i.uuid); s.bind(2, i.displayName); s.bind(3, i.operatingSystemFamilyId)
        s.bind(4, i.preferredLanguageCode); s.bind(5, i.deviceEnrollment.securityGroupUuid)
        s.bind(6, i.deviceEnrollment.groupDisplayName); s.bind(7, i.enableCloudScannerFeedback)
        s.bind(8, i.enablePuaDetection); s.bind(9, i.sendAnonymousDiagnosticData); s.bind(10, i.downloadUrl)
        s.bind(11, i.createTime?.nanoseconds); s.bind(12, i.expireTime?.nanoseconds); s.bind(13, i.usable)
        s.bind(14, status.rawValue); s.bind(15, reason); s.bind(16, now.nanoseconds)
        s.bind(17, now.nanoseconds); s.bind(18, now.nanoseconds); s.bind(19, hash)
        try s.run()
        let rowID = db.lastInsertedRowID
        try writeChildren(i, bulk)
        bulk.insertRaw.bind(1, rowID); bulk.insertRaw.bind(2, received.rawJSON); bulk.insertRaw.bind(3, now.nanoseconds)
        try bulk.insertRaw.run()
        // The installers table holds the current state and `changed` events the old values,
        // so a past state is rebuilt backwards; `recorded` only notes what a reader scans for.
        let details = JSONObject(keys: ["displayName", "status"], values: [.string(i.displayName), .string(status.rawValue)])
        let e = bulk.insertEvent
        e.bind(1, i.uuid); e.bind(2, EventKind.recorded.rawValue); e.bind(3, now.nanoseconds)
        e.bind(4, source.rawValue); e.bind(5, reason); e.bind(6, JSONValue.object(details).jsonText)
        try e.run()
    }

    private func writeChildren(_ i: Installer, _ bulk: RecorderStatements) throws {
        let p = bulk.insertProduct
        for (n, product) in i.activatedProducts.enumerated() {
            p.bind(1, i.uuid); p.bind(2, n); p.bind(3, product.poolUuid); p.bind(4, product.poolDisplayName)
            p.bind(5, product.productId); p.bind(6, product.productDisplayName); p.bind(7, product.subscriptionUuid)
            p.bind(8, product.subscriptionSupportCode)
            try p.run()
        }
        let c = bulk.insertComponent
        for (n, component) in i.installedComponents.enumerated() {
            c.bind(1, i.uuid); c.bind(2, n); c.bind(3, component.id); c.bind(4, component.name); c.bind(5, component.displayName)
            try c.run()
        }
    }

    private mutating func update(old: LedgerInstaller, rowID: Int64, with received: ReceivedInstaller, hash: Int64) throws {
        let i = received.installer
        var status = old.status
        var reason = old.statusReason
        var changedAt = old.statusChangedAt
        var becameUnusable = false
        if old.status == .usable, !i.usable {
            (status, reason, changedAt, becameUnusable) = (.unusable, "api", now, true)
        } else if old.status == .unusable, old.statusReason == "api", i.usable {
            (status, reason, changedAt) = (.usable, nil, now)
        }
        try db.cachedStatement(sql: """
            UPDATE installers SET display_name = ?, os_family_id = ?, language = ?, security_group_uuid = ?,
              group_display_name = ?, cloud_feedback = ?, pua_detection = ?, diagnostics = ?, download_url = ?,
              create_time = ?, expire_time = ?, api_usable = ?, status = ?, status_reason = ?,
              status_changed_at = ?, last_seen = ?, content_hash = ?
            WHERE uuid = ?
            """).execute(arguments: [
                i.displayName, i.operatingSystemFamilyId, i.preferredLanguageCode,
                i.deviceEnrollment.securityGroupUuid, i.deviceEnrollment.groupDisplayName,
                i.enableCloudScannerFeedback, i.enablePuaDetection, i.sendAnonymousDiagnosticData,
                i.downloadUrl, i.createTime?.nanoseconds, i.expireTime?.nanoseconds, i.usable,
                status.rawValue, reason, changedAt.nanoseconds, now.nanoseconds, hash, i.uuid,
            ])
        if old.installer.activatedProducts != i.activatedProducts || old.installer.installedComponents != i.installedComponents {
            try db.cachedStatement(sql: "DELETE FROM activated_products WHERE installer_uuid = ?").execute(arguments: [i.uuid])
            try db.cachedStatement(sql: "DELETE FROM installed_components WHERE installer_uuid = ?").execute(arguments: [i.uuid])
            try writeChildren(i, try statements())
        }
        try db.cachedStatement(sql: "INSERT OR REPLACE INTO raw_answers (installer_id, json, received_at) VALUES (?, ?, ?)")
            .execute(arguments: [rowID, received.rawJSON, now.nanoseconds])
        let diff = old.installer.differences(to: i)
        if !diff.keys.isEmpty {
            try EventLog.append(db, uuid: i.uuid, kind: .changed, at: now, source: source, reason: nil,
                                details: JSONValue.object(diff).jsonText)
        }
        if becameUnusable {
            try EventLog.append(db, uuid: i.uuid, kind: .becameUnusable, at: now, source: source, reason: "api", details: nil)
        }
    }
}

/// The recorder's hot statements (see `BulkStatement`).
final class RecorderStatements {
    let lookup, insertInstaller, insertProduct, insertComponent, insertRaw, insertEvent: BulkStatement

    init(_ db: Database) throws {
        lookup = try BulkStatement(db, sql: "SELECT id, content_hash FROM installers WHERE uuid = ?")
        insertInstaller = try BulkStatement(db, sql: """
            INSERT INTO installers (uuid, display_name, os_family_id, language, security_group_uuid,
              group_display_name, cloud_feedback, pua_detection, diagnostics, download_url, create_time,
              expire_time, api_usable, status, status_reason, status_changed_at, first_seen, last_seen, content_hash)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        insertProduct = try BulkStatement(db, sql: """
            INSERT INTO activated_products (installer_uuid, position, pool_uuid, pool_display_name, product_id,
              product_display_name, subscription_uuid, subscription_support_code) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """)
        insertComponent = try BulkStatement(db, sql: """
            INSERT INTO installed_components (installer_uuid, position, component_id, name, display_name)
            VALUES (?, ?, ?, ?, ?)
            """)
        insertRaw = try BulkStatement(db, sql: "INSERT INTO raw_answers (installer_id, json, received_at) VALUES (?, ?, ?)")
        insertEvent = try BulkStatement(db, sql: "INSERT INTO events (installer_uuid, kind, at, source, reason, details) VALUES (?, ?, ?, ?, ?, ?)")
    }
}

/// Appends to the history; the table's triggers refuse updates and deletes.
enum EventLog {
    static func append(_ db: Database, uuid: String?, kind: EventKind, at: Timestamp, source: EventSource,
                       reason: String?, details: String?) throws {
        try db.cachedStatement(sql: "INSERT INTO events (installer_uuid, kind, at, source, reason, details) VALUES (?, ?, ?, ?, ?, ?)")
            .execute(arguments: [uuid, kind.rawValue, at.nanoseconds, source.rawValue, reason, details])
    }
}

// MARK: - Content comparison

extension Installer {
    /// FNV-1a over every modelled field, so identical re-imports are one indexed lookup.
    var contentHash: Int64 {
        var h = FNV1a()
        h.add(uuid); h.add(displayName); h.add(operatingSystemFamilyId); h.add(preferredLanguageCode)
        h.add(deviceEnrollment.securityGroupUuid); h.add(deviceEnrollment.groupDisplayName)
        h.add(enableCloudScannerFeedback); h.add(enablePuaDetection); h.add(sendAnonymousDiagnosticData)
        h.add(downloadUrl); h.add(createTime?.nanoseconds ?? .min); h.add(expireTime?.nanoseconds ?? .min); h.add(usable)
        h.add(Int64(activatedProducts.count))
        for p in activatedProducts {
            h.add(p.poolUuid); h.add(p.poolDisplayName); h.add(p.productId)
            h.add(p.productDisplayName); h.add(p.subscriptionUuid); h.add(p.subscriptionSupportCode)
        }
        h.add(Int64(installedComponents.count))
        for c in installedComponents { h.add(c.id); h.add(c.name); h.add(c.displayName) }
        return Int64(bitPattern: h.value)
    }

    /// `{field: {"old": …, "new": …}}` for every field that differs; download URLs redacted.
    func differences(to new: Installer) -> JSONObject {
        var diff = JSONObject()
        let a = jsonObject(includeDownloadUrl: true), b = new.jsonObject(includeDownloadUrl: true)
        for (k, key) in a.keys.enumerated() {
            let old = a.values[k], newValue = b[key] ?? .null
            if key == "deviceEnrollment", case .object(let oe) = old, case .object(let ne) = newValue {
                for (j, sub) in oe.keys.enumerated() where oe.values[j] != ne[sub] {
                    diff.append("deviceEnrollment.\(sub)", .object(JSONObject(keys: ["old", "new"], values: [oe.values[j], ne[sub] ?? .null])))
                }
                continue
            }
            guard old != newValue else { continue }
            if key == "downloadUrl" {
                diff.append(key, .object(JSONObject(keys: ["old", "new"], values: [.string(Redaction.placeholder), .string(Redaction.placeholder)])))
            } else {
                diff.append(key, .object(JSONObject(keys: ["old", "new"], values: [old, newValue])))
            }
        }
        return diff
    }
}

/// 64-bit FNV-1a with field separators.
struct FNV1a {
    private(set) var value: UInt64 = 0xcbf29ce484222325

    mutating func add(_ s: String) {
        for b in s.utf8 { value = (value ^ UInt64(b)) &* 0x100000001b3 }
        value = (value ^ 0xFF) &* 0x100000001b3
    }

    mutating func add(_ v: Int64) {
        var x = UInt64(bitPattern: v)
        for _ in 0..<8 { value = (value ^ (x & 0xFF)) &* 0x100000001b3; x >>= 8 }
    }

    mutating func add(_ b: Bool) { add(b ? Int64(1) : 0) }
}
