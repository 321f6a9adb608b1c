
/// Which installers `list` (and later reports and exports) select.
public struct InstallerFilter: Sendable, Equatable {
    /// nil: every status.
    public var status: InstallerStatus?
    /// Usable installers whose expiry falls in (now, now + duration].
    public var expiringWithin: LedgerDuration?
    /// Installers whose expiry is at or before now.
    public var expired = false
    public var operatingSystemFamilyId: Int64?
    /// A security group uuid, or a group display name (case-insensitive).
    public var group: String?
    /// A product id, or a product display name (case-insensitive).
    public var product: String?
    public var subscriptionUuid: String?
    public var createdAfter: Timestamp?
    public var createdBefore: Timestamp?
    /// Case-insensitive substring of the display name.
    public var nameContains: String?
    public var sort: InstallerSort = .created
    public var limit: Int?
    /// Whose installers: every account by default.
    public var scope: AccountScope = .all

    public init() {}
}

/// The orders `list` offers.
public enum InstallerSort: String, Sendable, CaseIterable {
    case created, expires, name
}

/// Which events `history` selects.
public struct EventFilter: Sendable, Equatable {
    public var installerUuid: String?
    public var since: Timestamp?
    public var until: Timestamp?
    public var kinds: Set<EventKind> = []
    public var limit: Int?
    /// Whose history: every account by default.
    public var scope: AccountScope = .all

    public init() {}
}

/// Focused read queries over one database connection; the public API is on `Ledger`.
enum LedgerQueries {
    static let installerColumns = """
        uuid, display_name, os_family_id, language, security_group_uuid, group_display_name, cloud_feedback,
        pua_detection, diagnostics, download_url, create_time, expire_time, api_usable, status, status_reason,
        status_changed_at, first_seen, last_seen, account_id
        """

    static func installer(_ db: any LedgerSQL, uuid: String) throws -> LedgerInstaller? {
        guard let row = try SQLRow.fetchOne(db, sql: "SELECT \(installerColumns) FROM installers WHERE uuid = ?",
                                            arguments: [uuid]) else { return nil }
        var entries = [decode(row)]
        try attachChildren(db, to: &entries)
        return entries[0]
    }

    static func decode(_ row: SQLRow) -> LedgerInstaller {
        let installer = Installer(
            uuid: row[0], displayName: row[1], operatingSystemFamilyId: row[2], preferredLanguageCode: row[3],
            deviceEnrollment: DeviceEnrollment(securityGroupUuid: row[4], groupDisplayName: row[5]),
            enableCloudScannerFeedback: row[6], enablePuaDetection: row[7], sendAnonymousDiagnosticData: row[8],
            downloadUrl: row[9], createTime: (row[10] as Int64?).map(Timestamp.init(nanoseconds:)),
            expireTime: (row[11] as Int64?).map(Timestamp.init(nanoseconds:)), usable: row[12])
        return LedgerInstaller(
            installer: installer, status: InstallerStatus(rawValue: row[13]) ?? .unusable, statusReason: row[14],
            statusChangedAt: Timestamp(nanoseconds: row[15]), firstSeen: Timestamp(nanoseconds: row[16]),
            lastSeen: Timestamp(nanoseconds: row[17]), accountID: row[18])
    }

    /// Fills in the account names of a batch; a streaming read passes the names it read once.
    static func attachAccounts(_ db: any LedgerSQL, to entries: inout [LedgerInstaller], names: [Int64: String]? = nil) throws {
        guard !entries.isEmpty else { return }
        let names = try names ?? AccountQueries.accountNames(db)
        for k in entries.indices { entries[k].account = entries[k].accountID.flatMap { names[$0] } ?? "" }
    }

    /// Loads the products and components of a batch of installers in two queries.
    static func attachChildren(_ db: any LedgerSQL, to entries: inout [LedgerInstaller], accountNames: [Int64: String]? = nil) throws {
        guard !entries.isEmpty else { return }
        var index = [String: Int]()
        for (i, e) in entries.enumerated() { index[e.installer.uuid] = i }
        let uuids = entries.map(\.installer.uuid)
        let marks = sqlPlaceholders(count: uuids.count)
        let products = try SQLRow.fetchCursor(db, sql: """
            SELECT installer_uuid, pool_uuid, pool_display_name, product_id, product_display_name, subscription_uuid,
              subscription_support_code FROM activated_products WHERE installer_uuid IN (\(marks))
            ORDER BY installer_uuid, position
            """, arguments: SQLArguments(uuids))
        while let row = try products.next() {
            guard let i = index[row[0]] else { continue }
            entries[i].installer.activatedProducts.append(ActivatedProduct(
                poolUuid: row[1], poolDisplayName: row[2], productId: row[3], productDisplayName: row[4],
                subscriptionUuid: row[5], subscriptionSupportCode: row[6]))
        }
        let components = try SQLRow.fetchCursor(db, sql: """
            SELECT installer_uuid, component_id, name, display_name FROM installed_components
            WHERE installer_uuid IN (\(marks)) ORDER BY installer_uuid, position
            """, arguments: SQLArguments(uuids))
        while let row = try components.next() {
            guard let i = index[row[0]] else { continue }
            entries[i].installer.installedComponents.append(InstalledComponent(id: row[1], name: row[2], displayName: row[3]))
        }
        try SuccessionQueries.attachSuccessions(db, to: &entries)
        try attachAccounts(db, to: &entries, names: accountNames)
    }

    /// The SQL and arguments selecting installers for a filter at `now`.
    static func selectInstallers(_ db: any LedgerSQL, _ filter: InstallerFilter, now: Timestamp) throws -> (String, SQLArguments) {
        let engine = db.engine
        var conditions = [String]()
        var args = SQLArguments()
        if let status = filter.status {
            conditions.append("status = ?")
            args += [status.rawValue]
        }
        if let within = filter.expiringWithin {
            conditions.append("status = 'usable' AND expire_time > ? AND expire_time <= ?")
            args += [now.nanoseconds, now.adding(within).nanoseconds]
        }
        if filter.expired {
            conditions.append("expire_time <= ?")
            args += [now.nanoseconds]
        }
        if let os = filter.operatingSystemFamilyId {
            conditions.append("os_family_id = ?")
            args += [os]
        }
        if let group = filter.group {
            let (named, arg) = try SelectionText.equalSQL(db, table: "installers", column: "group_display_name", group)
            conditions.append("(security_group_uuid = ? OR \(named))")
            args += [group]
            args += arg
        }
        if let product = filter.product {
            if let id = Int64(product) {
                conditions.append("uuid IN (SELECT installer_uuid FROM activated_products WHERE product_id = ?)")
                args += [id]
            } else {
                let (named, arg) = try SelectionText.equalSQL(db, table: "activated_products", column: "product_display_name", product)
                conditions.append("uuid IN (SELECT installer_uuid FROM activated_products WHERE \(named))")
                args += arg
            }
        }
        if let subscription = filter.subscriptionUuid {
            conditions.append("uuid IN (SELECT installer_uuid FROM activated_products WHERE subscription_uuid = ?)")
            args += [subscription]
        }
        if let after = filter.createdAfter {
            conditions.append("create_time >= ?")
            args += [after.nanoseconds]
        }
        if let before = filter.createdBefore {
            conditions.append("create_time < ?")
            args += [before.nanoseconds]
        }
        if let scoped = filter.scope.sqlCondition() { conditions.append(scoped) }
        if let name = filter.nameContains, !name.isEmpty {
            // LIKE folds ASCII case; its wildcards are escaped so they match literally.
            let (named, arg) = try SelectionText.containsSQL(db, table: "installers", column: "display_name", name)
            conditions.append(named)
            args += arg
        }
        var sql = "SELECT \(installerColumns) FROM installers"
        if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
        switch filter.sort {
        case .created: sql += " ORDER BY create_time, uuid"
        case .expires: sql += " ORDER BY expire_time, uuid"
        case .name: sql += " ORDER BY \(engine.asciiFolded("display_name")), uuid"
        }
        if let limit = filter.limit {
            sql += " LIMIT ?"
            args += [limit]
        }
        return (sql, args)
    }

    static func likeEscaped(_ s: String) -> String {
        var out = ""
        for c in s {
            if c == "%" || c == "_" || c == "\\" { out.append("\\") }
            out.append(c)
        }
        return out
    }

    static func resolve(_ db: any LedgerSQL, idOrPrefix: String) throws -> String {
        if try Bool.fetchOne(db, sql: "SELECT 1 FROM installers WHERE uuid = ?", arguments: [idOrPrefix]) == true {
            return idOrPrefix
        }
        let candidates = try String.fetchAll(db, sql: """
            SELECT uuid FROM installers WHERE uuid >= ? AND uuid < ? ORDER BY uuid LIMIT 6
            """, arguments: [idOrPrefix, idOrPrefix + "\u{10FFFF}"])
        guard !idOrPrefix.isEmpty, let first = candidates.first else { throw LedgerError.installerNotFound(idOrPrefix) }
        guard candidates.count == 1 else { throw LedgerError.ambiguousPrefix(idOrPrefix, candidates: candidates) }
        return first
    }

    static func selectEvents(_ filter: EventFilter, engine: LedgerEngine) -> (String, SQLArguments) {
        var conditions = [String]()
        var args = SQLArguments()
        if let uuid = filter.installerUuid {
            conditions.append("installer_uuid = ?")
            args += [uuid]
        }
        if let since = filter.since {
            conditions.append("at >= ?")
            args += [since.nanoseconds]
        }
        if let until = filter.until {
            conditions.append("at < ?")
            args += [until.nanoseconds]
        }
        if !filter.kinds.isEmpty {
            let kinds = filter.kinds.map(\.rawValue).sorted()
            conditions.append("kind IN (\(sqlPlaceholders(count: kinds.count)))")
            args += SQLArguments(kinds)
        }
        if let scoped = filter.scope.sqlCondition() {
            conditions.append("(\(eventAccount(engine))) IN (SELECT id FROM accounts WHERE \(filter.scope.sqlCondition(column: "id") ?? scoped))")
        }
        var sql = "SELECT id, installer_uuid, kind, at, source, reason, details, (\(eventAccount(engine))) FROM events"
        if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
        sql += " ORDER BY id"
        if let limit = filter.limit {
            sql += " LIMIT ?"
            args += [limit]
        }
        return (sql, args)
    }

    /// The account of an event in `events`: its installer's, or for a creation that has no
    /// installer (yet), its pending creation's.
    static func eventAccount(_ engine: LedgerEngine) -> String {
        """
        SELECT coalesce((SELECT account_id FROM installers WHERE installers.uuid = events.installer_uuid),
          (SELECT account_id FROM pending_creations WHERE events.installer_uuid IS NULL
             AND pending_creations.local_id = \(engine.jsonText("events.details", "localId"))))
        """
    }

    static func decodeEvent(_ row: SQLRow) -> LedgerEvent {
        var event = LedgerEvent(id: row[0], installerUuid: row[1], kind: EventKind(rawValue: row[2]) ?? .changed,
                                at: Timestamp(nanoseconds: row[3]), source: EventSource(rawValue: row[4]) ?? .import,
                                reason: row[5], details: row[6])
        if row.count > 7 { event.accountID = row[7] }
        return event
    }

    /// An event of `selectEvents` with its account's name.
    static func decodeEvent(_ row: SQLRow, accountNames names: [Int64: String]) -> LedgerEvent {
        var event = decodeEvent(row)
        event.account = event.accountID.flatMap { names[$0] } ?? ""
        return event
    }
}
