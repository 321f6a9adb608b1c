
/// Records received installers inside one write transaction with cached prepared
/// statements: inserts new ones (`recorded`), diffs known ones (`changed`, and
/// `became_unusable` when ESET stops calling them usable), and leaves identical ones alone.
/// Installers go in batches of up to 64: one lookup query per batch, and the new ones'
/// rows written by multi-row inserts (`BatchInsert`) at the end of the batch.
struct InstallerRecorder {
    let db: any LedgerSQL
    let source: EventSource
    let now: Timestamp
    /// Sync sees installers at the API, so it moves `last_seen`; a saved answer does not.
    let touchLastSeen: Bool
    /// The account the installers were listed by or saved from; new ones belong to it, and a
    /// known one of another account is a conflict, never moved.
    let account: Int64?
    /// Names of accounts, for the details of `conflict` events.
    private var accountNames: [Int64: String]?
    private(set) var summary = RecordSummary()
    private var prepared: RecorderStatements?

    init(db: any LedgerSQL, source: EventSource, now: Timestamp, touchLastSeen: Bool = false, account: Int64?) {
        self.db = db
        self.source = source
        self.now = now
        self.touchLastSeen = touchLastSeen
        self.account = account
    }

    /// Records one installer.
    mutating func record(_ received: ReceivedInstaller) throws {
        try record(CollectionOfOne(DecodedInstaller(received)))
    }

    /// Records installers in order, `RecorderStatements.batch` distinct uuids at a time: one
    /// query looks a batch up, its new installers are inserted by multi-row statements, and
    /// known ones are compared one by one. A uuid repeated in the input starts a new batch,
    /// so its later occurrence is compared with the earlier one, as if recorded one by one.
    mutating func record(_ installers: some Sequence<DecodedInstaller>) throws {
        let bulk = statements()
        var batch = [DecodedInstaller]()
        batch.reserveCapacity(RecorderStatements.batch)
        var uuids = Set<String>(minimumCapacity: RecorderStatements.batch)
        for decoded in installers {
            if batch.count == RecorderStatements.batch || uuids.contains(decoded.received.installer.uuid) {
                try record(batch: batch, bulk)
                batch.removeAll(keepingCapacity: true)
                uuids.removeAll(keepingCapacity: true)
            }
            batch.append(decoded)
            uuids.insert(decoded.received.installer.uuid)
        }
        try record(batch: batch, bulk)
    }

    /// - Parameter batch: at most `RecorderStatements.batch` installers with distinct uuids.
    private mutating func record(batch: [DecodedInstaller], _ bulk: RecorderStatements) throws {
        guard !batch.isEmpty else { return }
        let lookup = try bulk.lookup(count: batch.count)
        for (n, decoded) in batch.enumerated() { lookup.bind(Int32(n + 1), decoded.received.installer.uuid) }
        var known = [String: Known](minimumCapacity: batch.count)
        try lookup.forEachRow { row in
            known[row.text(0)] = Known(id: row.int64(1), hash: row.int64(2), account: row.isNull(3) ? nil : row.int64(3),
                                       deleted: row.int64(4) != 0)
        }
        // Ids are given here rather than by SQLite so that the raw answers, inserted in a
        // batch of their own, can refer to them.
        var nextID: Int64 = 0
        if known.count < batch.count {
            nextID = try Int64.fetchOne(db, sql: "SELECT coalesce(max(id), 0) + 1 FROM installers") ?? 1
        }
        for decoded in batch {
            if let found = known[decoded.received.installer.uuid] {
                if let owner = found.account, let account, owner != account {
                    try recordConflict(decoded.received.installer.uuid, owner: owner)
                    continue
                }
                try recordKnown(decoded, id: found.id, storedHash: found.hash, deleted: found.deleted)
            } else {
                insert(decoded, id: nextID, bulk)
                nextID += 1
                summary.new += 1
            }
        }
        // Parents before children, for the foreign keys.
        for table in [bulk.installers, bulk.products, bulk.components, bulk.rawAnswers, bulk.events] { try table.flush() }
    }

    /// What the lookup knows of an installer already in the ledger.
    private struct Known {
        var id: Int64
        var hash: Int64
        var account: Int64?
        var deleted: Bool
    }

    /// A uuid listed by a second account: a warning for the summary and a `conflict` event on
    /// the installer, never a silent move.
    private mutating func recordConflict(_ uuid: String, owner: Int64) throws {
        if accountNames == nil { accountNames = try AccountQueries.accountNames(db) }
        let listedBy = account.flatMap { accountNames?[$0] } ?? "?"
        let ownerName = accountNames?[owner] ?? "?"
        summary.conflicts.append(RecordSummary.Conflict(uuid: uuid, owner: ownerName, listedBy: listedBy))
        let details = JSONObject(keys: ["account", "owner"], values: [.string(listedBy), .string(ownerName)])
        try EventLog.append(db, uuid: uuid, kind: .conflict, at: now, source: source,
                            reason: "listed by another account", details: JSONValue.object(details).jsonText)
    }

    private mutating func recordKnown(_ decoded: DecodedInstaller, id rowID: Int64, storedHash: Int64, deleted: Bool) throws {
        let received = decoded.received
        let installer = received.installer
        // ESET lists again what the ledger had marked deleted: restore it whatever the hash.
        if storedHash == decoded.contentHash, !(deleted && touchLastSeen) {
            try db.execute(sql: "UPDATE raw_answers SET json = ?, received_at = ? WHERE installer_id = ? AND json <> ?", arguments: [received.rawJSON, now.nanoseconds, rowID, received.rawJSON])
            if touchLastSeen {
                try db.execute(sql: "UPDATE installers SET last_seen = ? WHERE uuid = ?", arguments: [now.nanoseconds, installer.uuid])
            }
            summary.unchanged += 1
            return
        }
        guard let old = try LedgerQueries.installer(db, uuid: installer.uuid) else {
            throw LedgerError.installerNotFound(installer.uuid)
        }
        try update(old: old, rowID: rowID, with: received, hash: decoded.contentHash)
        summary.changed += 1
    }

    /// The bulk path's statements, prepared once per transaction.
    private mutating func statements() -> RecorderStatements {
        if let prepared { return prepared }
        let made = RecorderStatements(db)
        prepared = made
        return made
    }

    /// Buffers a new installer's rows (installer, products, components, raw answer and its
    /// `recorded` event) in the batch inserts.
    private func insert(_ decoded: DecodedInstaller, id: Int64, _ bulk: RecorderStatements) {
        let i = decoded.received.installer
        let (status, reason) = DecodedInstaller.initialStatus(of: i)
        let at = BulkValue(now.nanoseconds)
        bulk.installers.append(
            .int(id), .text(i.uuid), .text(i.displayName), BulkValue(i.operatingSystemFamilyId),
            .text(i.preferredLanguageCode), .text(i.deviceEnrollment.securityGroupUuid),
            .text(i.deviceEnrollment.groupDisplayName), BulkValue(i.enableCloudScannerFeedback),
            BulkValue(i.enablePuaDetection), BulkValue(i.sendAnonymousDiagnosticData), .text(i.downloadUrl),
            BulkValue(i.createTime?.nanoseconds), BulkValue(i.expireTime?.nanoseconds), BulkValue(i.usable),
            .text(status.rawValue), BulkValue(reason), at, at, at, .int(decoded.contentHash),
            BulkValue(account), .text(i.productIdsKey))
        writeChildren(i, bulk)
        bulk.rawAnswers.append(.int(id), .text(decoded.received.rawJSON), at)
        bulk.events.append(.text(i.uuid), .text(EventKind.recorded.rawValue), at, .text(source.rawValue),
                               BulkValue(reason), .text(decoded.recordedDetails))
    }

    /// Buffers an installer's products and components; `record(batch:)` writes them.
    private func writeChildren(_ i: Installer, _ bulk: RecorderStatements) {
        for (n, p) in i.activatedProducts.enumerated() {
            bulk.products.append(.text(i.uuid), BulkValue(n), .text(p.poolUuid), .text(p.poolDisplayName),
                                     BulkValue(p.productId), .text(p.productDisplayName), .text(p.subscriptionUuid),
                                     .text(p.subscriptionSupportCode))
        }
        for (n, c) in i.installedComponents.enumerated() {
            bulk.components.append(.text(i.uuid), BulkValue(n), BulkValue(c.id), .text(c.name), .text(c.displayName))
        }
    }

    private mutating func update(old: LedgerInstaller, rowID: Int64, with received: ReceivedInstaller, hash: Int64) throws {
        let i = received.installer
        var status = old.status
        var reason = old.statusReason
        var changedAt = old.statusChangedAt
        var becameUnusable = false
        var restored = false
        if old.status == .deleted, touchLastSeen {
            // Listed by ESET again after the ledger marked it deleted: what ESET says now.
            (status, reason, changedAt, restored) = (i.usable ? .usable : .unusable, i.usable ? nil : "api", now, true)
        } else if old.status == .usable, !i.usable {
            (status, reason, changedAt, becameUnusable) = (.unusable, "api", now, true)
        } else if old.status == .unusable, old.statusReason == "api", i.usable {
            (status, reason, changedAt) = (.usable, nil, now)
        }
        try db.execute(sql: """
            UPDATE installers SET display_name = ?, os_family_id = ?, language = ?, security_group_uuid = ?,
              group_display_name = ?, cloud_feedback = ?, pua_detection = ?, diagnostics = ?, download_url = ?,
              create_time = ?, expire_time = ?, api_usable = ?, status = ?, status_reason = ?,
              status_changed_at = ?, last_seen = ?, content_hash = ?, product_ids = ?
            WHERE uuid = ?
            """, arguments: [
                i.displayName, i.operatingSystemFamilyId, i.preferredLanguageCode,
                i.deviceEnrollment.securityGroupUuid, i.deviceEnrollment.groupDisplayName,
                i.enableCloudScannerFeedback, i.enablePuaDetection, i.sendAnonymousDiagnosticData,
                i.downloadUrl, i.createTime?.nanoseconds, i.expireTime?.nanoseconds, i.usable,
                status.rawValue, reason, changedAt.nanoseconds, now.nanoseconds, hash, i.productIdsKey, i.uuid,
            ])
        if old.installer.activatedProducts != i.activatedProducts || old.installer.installedComponents != i.installedComponents {
            try db.execute(sql: "DELETE FROM activated_products WHERE installer_uuid = ?", arguments: [i.uuid])
            try db.execute(sql: "DELETE FROM installed_components WHERE installer_uuid = ?", arguments: [i.uuid])
            writeChildren(i, statements())
        }
        try db.execute(sql: """
            INSERT INTO raw_answers (installer_id, json, received_at) VALUES (?, ?, ?)
            ON CONFLICT (installer_id) DO UPDATE SET json = excluded.json, received_at = excluded.received_at
            """, arguments: [rowID, received.rawJSON, now.nanoseconds])
        let diff = old.installer.differences(to: i)
        if !diff.keys.isEmpty {
            try EventLog.append(db, uuid: i.uuid, kind: .changed, at: now, source: source, reason: nil,
                                details: JSONValue.object(diff).jsonText)
        }
        if becameUnusable {
            try EventLog.append(db, uuid: i.uuid, kind: .becameUnusable, at: now, source: source, reason: "api", details: nil)
        }
        if restored {
            let details = JSONObject(keys: ["status", "old"], values: [.string(status.rawValue), .string(old.status.rawValue)])
            try EventLog.append(db, uuid: i.uuid, kind: .restored, at: now, source: source, reason: reason,
                                details: JSONValue.object(details).jsonText)
            summary.restored += 1
        }
    }
}

/// A received installer with what recording it needs that does not depend on the ledger,
/// computed up front (import does it on its decoding thread).
struct DecodedInstaller: Sendable {
    var received: ReceivedInstaller
    var contentHash: Int64
    /// The details of its `recorded` event, should it be new. The installers table holds the
    /// current state and `changed` events the old values, so a past state is rebuilt
    /// backwards; `recorded` only notes what a reader scans for.
    var recordedDetails: String

    init(_ received: ReceivedInstaller) {
        self.received = received
        let installer = received.installer
        contentHash = installer.contentHash
        let details = JSONObject(keys: ["displayName", "status"],
                                 values: [.string(installer.displayName), .string(Self.initialStatus(of: installer).status.rawValue)])
        recordedDetails = JSONValue.object(details).jsonText
    }

    /// The status of an installer the ledger has not seen before: ESET's verdict.
    static func initialStatus(of installer: Installer) -> (status: InstallerStatus, reason: String?) {
        installer.usable ? (.usable, nil) : (.unusable, "api")
    }
}

/// The recorder's hot statements (see `any SQLStatement` and `BatchInsert`).
final class RecorderStatements {
    /// How many installers one lookup query takes at most.
    static let batch = 64
    private let db: any LedgerSQL
    private var lookups = [Int: any SQLStatement]()
    let installers, products, components, rawAnswers, events: BatchInsert

    /// `SELECT uuid, id, content_hash, account_id, deleted` of the installers among `count` uuids (parameters).
    func lookup(count: Int) throws -> any SQLStatement {
        if let made = lookups[count] { return made }
        let list = Array(repeating: "?", count: count).joined(separator: ", ")
        let made = try db.prepare(sql: "SELECT uuid, id, content_hash, account_id, status = 'deleted' FROM installers WHERE uuid IN (\(list))")
        lookups[count] = made
        return made
    }

    init(_ db: any LedgerSQL) {
        self.db = db
        installers = BatchInsert(db, table: "installers", columns: [
            "id", "uuid", "display_name", "os_family_id", "language", "security_group_uuid", "group_display_name",
            "cloud_feedback", "pua_detection", "diagnostics", "download_url", "create_time", "expire_time",
            "api_usable", "status", "status_reason", "status_changed_at", "first_seen", "last_seen", "content_hash",
            "account_id", "product_ids",
        ])
        products = BatchInsert(db, table: "activated_products", columns: [
            "installer_uuid", "position", "pool_uuid", "pool_display_name", "product_id", "product_display_name",
            "subscription_uuid", "subscription_support_code",
        ])
        components = BatchInsert(db, table: "installed_components", columns: [
            "installer_uuid", "position", "component_id", "name", "display_name",
        ])
        rawAnswers = BatchInsert(db, table: "raw_answers", columns: ["installer_id", "json", "received_at"])
        events = BatchInsert(db, table: "events", columns: ["installer_uuid", "kind", "at", "source", "reason", "details"])
    }
}

/// Appends to the history; the table's triggers refuse updates and deletes.
enum EventLog {
    static func append(_ db: any LedgerSQL, uuid: String?, kind: EventKind, at: Timestamp, source: EventSource,
                       reason: String?, details: String?) throws {
        try db.execute(sql: "INSERT INTO events (installer_uuid, kind, at, source, reason, details) VALUES (?, ?, ?, ?, ?, ?)", arguments: [uuid, kind.rawValue, at.nanoseconds, source.rawValue, reason, details])
    }
}

// MARK: - Content comparison

extension Installer {
    /// Its distinct product ids, ascending, comma-separated (`installers.product_ids`, 0007):
    /// the coverage questions count a product's installers from an index on it.
    var productIdsKey: String {
        Set(activatedProducts.map(\.productId)).sorted().map(String.init).joined(separator: ",")
    }

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
        let hashed: Void? = s.utf8.withContiguousStorageIfAvailable { add(bytes: $0) }
        if hashed == nil { for b in s.utf8 { value = (value ^ UInt64(b)) &* 0x100000001b3 } }
        value = (value ^ 0xFF) &* 0x100000001b3
    }

    private mutating func add(bytes: UnsafeBufferPointer<UInt8>) {
        var v = value
        for b in bytes { v = (v ^ UInt64(b)) &* 0x100000001b3 }
        value = v
    }

    mutating func add(_ v: Int64) {
        var x = UInt64(bitPattern: v)
        for _ in 0..<8 { value = (value ^ (x & 0xFF)) &* 0x100000001b3; x >>= 8 }
    }

    mutating func add(_ b: Bool) { add(b ? Int64(1) : 0) }
}
