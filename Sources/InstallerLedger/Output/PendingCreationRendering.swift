/// How pending creations (`list --status pending`) appear in output.
public enum PendingCreationColumns {
    /// The CSV columns of a pending creation, in order. Documented in README.md.
    public static let csvHeader = [
        "local_id", "display_name", "os", "os_family_id", "security_group_uuid", "requested_at", "plan_key", "state", "account",
    ]

    public static func csvRow(_ c: PendingCreation) -> [String] {
        let r = c.request
        return [c.localId, r.displayName, OperatingSystemFamily.word(forId: r.operatingSystemFamilyId),
                String(r.operatingSystemFamilyId), r.securityGroupUuid ?? "", c.requestedAt.rfc3339, c.planKey ?? "",
                c.state.rawValue, c.account]
    }

    /// The creation as JSON: the ledger's local id, what was asked for and when.
    public static func jsonObject(_ c: PendingCreation) -> JSONObject {
        let r = c.request
        var o = JSONObject()
        o.append("localId", .string(c.localId))
        o.append("displayName", .string(r.displayName))
        o.append("operatingSystemFamilyId", .int(r.operatingSystemFamilyId))
        o.append("os", .string(OperatingSystemFamily.word(forId: r.operatingSystemFamilyId)))
        o.append("securityGroupUuid", .optionalString(r.securityGroupUuid))
        o.append("requestedAt", .string(c.requestedAt.rfc3339))
        o.append("planKey", .optionalString(c.planKey))
        o.append("state", .string(c.state.rawValue))
        o.append("account", .string(c.account))
        return o
    }
}

extension InstallerFilter {
    /// Whether a pending creation passes the filter's name, OS and group parts (a pending
    /// creation has no products, expiry or ESET creation time yet; its group is a uuid).
    public func matches(_ c: PendingCreation) -> Bool {
        let r = c.request
        if let ids = scope.ids, !ids.contains(c.accountID ?? -1) { return false }
        if let os = operatingSystemFamilyId, r.operatingSystemFamilyId != os { return false }
        if let group, (r.securityGroupUuid ?? "") != group { return false }
        if let name = nameContains, !SelectionText.contains(r.displayName, name) { return false }
        return true
    }
}

/// Renders pending creations for `list --status pending` in any `OutputFormat`.
public struct PendingCreationListRenderer: StreamRenderer {
    public let format: OutputFormat
    var count = 0

    /// A leading ACCOUNT column in the table (when the creations are of several accounts).
    public var showsAccount = false

    public init(format: OutputFormat, showsAccount: Bool = false) {
        self.format = format
        self.showsAccount = showsAccount
    }

    public mutating func begin() -> String {
        switch format {
        case .table:
            return (showsAccount ? fit("ACCOUNT", 13) : "") + fit("ID", 9) + fit("NAME", 25) + fit("OS", 8) + fit("GROUP", 10)
                + fit("REQUESTED", 21) + "PLAN\n"
        case .json: return "["
        case .ndjson: return ""
        case .csv:
            var w = CSVWriter()
            w.writeRow(PendingCreationColumns.csvHeader)
            return w.string
        }
    }

    public mutating func render(_ items: [PendingCreation]) -> String {
        switch format {
        case .table:
            var out = ""
            for c in items {
                let r = c.request
                let group = (r.securityGroupUuid ?? "").isEmpty ? "-" : String(r.securityGroupUuid!.prefix(8))
                out += (showsAccount ? fit(c.account, 13) : "") + fit(String(c.localId.prefix(8)), 9) + fit(r.displayName, 25)
                    + fit(OperatingSystemFamily.word(forId: r.operatingSystemFamilyId), 8) + fit(group, 10)
                    + fit(String(c.requestedAt.rfc3339.prefix(19)) + "Z", 21) + (c.planKey ?? "-") + "\n"
            }
            count += items.count
            return out
        case .json, .ndjson:
            var w = JSONWriter()
            for c in items {
                if format == .json { w.bytes.append(contentsOf: (count == 0 ? "\n  " : ",\n  ").utf8) }
                w.write(.object(PendingCreationColumns.jsonObject(c)))
                if format == .ndjson { w.bytes.append(0x0A) }
                count += 1
            }
            return w.string
        case .csv:
            var w = CSVWriter()
            for c in items { w.writeRow(PendingCreationColumns.csvRow(c)) }
            count += items.count
            return w.string
        }
    }

    public mutating func end() -> String {
        switch format {
        case .table: return count == 0 ? "(no pending creations)\n" : "\(count) pending creation\(count == 1 ? "" : "s")\n"
        case .json: return count == 0 ? "]\n" : "\n]\n"
        case .ndjson, .csv: return ""
        }
    }
}
