/// How installers appear in `list` output and CSV exports.
public enum InstallerColumns {
    /// The CSV columns of an installer, in order. Documented in README.md; keep stable.
    public static let csvHeader = [
        "uuid", "display_name", "os", "os_family_id", "language", "security_group_uuid", "group_display_name",
        "cloud_scanner_feedback", "pua_detection", "anonymous_diagnostics", "create_time", "expire_time",
        "api_usable", "status", "status_reason", "status_changed_at", "first_seen", "last_seen",
        "product_ids", "products", "subscription_uuids", "component_ids", "download_url", "account",
    ]

    /// One CSV row for an installer; lists inside a cell are joined with `; `.
    public static func csvRow(_ e: LedgerInstaller, includeDownloadUrl: Bool) -> [String] {
        let i = e.installer
        return [
            i.uuid, i.displayName, OperatingSystemFamily.word(forId: i.operatingSystemFamilyId),
            String(i.operatingSystemFamilyId), i.preferredLanguageCode, i.deviceEnrollment.securityGroupUuid,
            i.deviceEnrollment.groupDisplayName, bool(i.enableCloudScannerFeedback), bool(i.enablePuaDetection),
            bool(i.sendAnonymousDiagnosticData), i.createTime?.rfc3339 ?? "", i.expireTime?.rfc3339 ?? "",
            bool(i.usable), e.status.rawValue, e.statusReason ?? "", e.statusChangedAt.rfc3339,
            e.firstSeen.rfc3339, e.lastSeen.rfc3339,
            i.activatedProducts.map { String($0.productId) }.joined(separator: "; "),
            i.activatedProducts.map(\.productDisplayName).joined(separator: "; "),
            unique(i.activatedProducts.map(\.subscriptionUuid)).joined(separator: "; "),
            i.installedComponents.map { String($0.id) }.joined(separator: "; "),
            includeDownloadUrl ? i.downloadUrl : Redaction.placeholder, e.account,
        ]
    }

    static func bool(_ b: Bool) -> String { b ? "true" : "false" }

    static func unique(_ items: [String]) -> [String] {
        var seen = Set<String>()
        return items.filter { !$0.isEmpty && seen.insert($0).inserted }
    }

    /// The JSON object of an installer: ESET's field names plus the ledger's own
    /// (`status`, `statusReason`, `firstSeen`, `lastSeen`).
    public static func jsonObject(_ e: LedgerInstaller, includeDownloadUrl: Bool) -> JSONObject {
        var o = e.installer.jsonObject(includeDownloadUrl: includeDownloadUrl)
        o.append("status", .string(e.status.rawValue))
        o.append("statusReason", .optionalString(e.statusReason))
        o.append("statusChangedAt", .string(e.statusChangedAt.rfc3339))
        o.append("firstSeen", .string(e.firstSeen.rfc3339))
        o.append("lastSeen", .string(e.lastSeen.rfc3339))
        o.append("account", .string(e.account))
        // Only rotated installers carry these, so other objects keep their shape.
        if let successor = e.successorUuid { o.append("successorUuid", .string(successor)) }
        if let predecessor = e.predecessorUuid { o.append("predecessorUuid", .string(predecessor)) }
        return o
    }

    /// The status as a person reads it: `usable`, `expired`, `unusable (api)`, `deleted`.
    public static func statusText(_ e: LedgerInstaller, at now: Timestamp) -> String {
        switch e.status {
        case .usable:
            if let x = e.installer.expireTime, x <= now { return "expired" }
            return "usable"
        case .unusable: return e.statusReason == "expired" ? "expired" : "unusable"
        case .deleted: return "deleted"
        }
    }
}

/// Renders installers for `list` in any `OutputFormat`.
public struct InstallerListRenderer: StreamRenderer {
    public let format: OutputFormat
    public let now: Timestamp
    /// A leading ACCOUNT column in the table (when the rows come from several accounts).
    public let showsAccount: Bool
    var count = 0

    public init(format: OutputFormat, now: Timestamp, showsAccount: Bool = false) {
        self.format = format
        self.now = now
        self.showsAccount = showsAccount
    }

    /// Whether rows need products and components loaded.
    public var needsChildren: Bool { format != .table }

    public mutating func begin() -> String {
        switch format {
        case .table:
            return (showsAccount ? fit("ACCOUNT", 13) : "") + fit("ID", 9) + fit("NAME", 25) + fit("OS", 8) + fit("GROUP", 21) + fit("STATUS", 10)
                + fit("EXPIRES", 11) + "LEFT\n"
        case .json: return "["
        case .ndjson: return ""
        case .csv:
            var w = CSVWriter()
            w.writeRow(InstallerColumns.csvHeader)
            return w.string
        }
    }

    public mutating func render(_ items: [LedgerInstaller]) -> String {
        var out = ""
        switch format {
        case .table:
            for e in items {
                let i = e.installer
                let group = i.deviceEnrollment.groupDisplayName.isEmpty ? i.deviceEnrollment.securityGroupUuid : i.deviceEnrollment.groupDisplayName
                let left = e.daysLeft(at: now).map { "\($0)d" } ?? "-"
                out += (showsAccount ? fit(e.account, 13) : "") + fit(String(i.uuid.prefix(8)), 9) + fit(i.displayName, 25)
                    + fit(OperatingSystemFamily.word(forId: i.operatingSystemFamilyId), 8) + fit(group, 21)
                    + fit(InstallerColumns.statusText(e, at: now), 10) + fit(i.expireTime?.dateString ?? "-", 11)
                    + left + "\n"
            }
        case .json, .ndjson:
            var w = JSONWriter()
            for e in items {
                if format == .json { w.bytes.append(contentsOf: (count == 0 ? "\n  " : ",\n  ").utf8) }
                w.write(.object(InstallerColumns.jsonObject(e, includeDownloadUrl: false)))
                if format == .ndjson { w.bytes.append(0x0A) }
                count += 1
            }
            out = w.string
            return out
        case .csv:
            var w = CSVWriter()
            for e in items { w.writeRow(InstallerColumns.csvRow(e, includeDownloadUrl: false)) }
            out = w.string
        }
        count += items.count
        return out
    }

    public mutating func end() -> String {
        switch format {
        case .table: return count == 0 ? "(no installers match)\n" : "\(count) installer\(count == 1 ? "" : "s")\n"
        case .json: return count == 0 ? "]\n" : "\n]\n"
        case .ndjson, .csv: return ""
        }
    }
}
