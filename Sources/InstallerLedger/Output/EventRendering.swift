/// How history events appear in output.
public enum EventColumns {
    /// CSV columns of an event, in order.
    public static let csvHeader = ["id", "at", "installer_uuid", "kind", "source", "reason", "details", "account"]

    public static func csvRow(_ e: LedgerEvent) -> [String] {
        [String(e.id), e.at.rfc3339, e.installerUuid ?? "", e.kind.rawValue, e.source.rawValue, e.reason ?? "", e.details ?? "",
         e.account]
    }

    /// The event as JSON; `details` embedded as JSON, not as a string.
    public static func jsonObject(_ e: LedgerEvent) -> JSONObject {
        var o = JSONObject()
        o.append("id", .int(e.id))
        o.append("at", .string(e.at.rfc3339))
        o.append("installerUuid", .optionalString(e.installerUuid))
        o.append("kind", .string(e.kind.rawValue))
        o.append("source", .string(e.source.rawValue))
        o.append("reason", .optionalString(e.reason))
        if let d = e.details, let parsed = try? JSONParser.parse(Array(d.utf8)) {
            o.append("details", parsed)
        } else {
            o.append("details", .null)
        }
        o.append("account", .string(e.account))
        return o
    }

    /// A one-line summary of what an event says, for tables.
    public static func summary(_ e: LedgerEvent) -> String {
        var parts = [String]()
        if let r = e.reason { parts.append("reason: \(r)") }
        if e.kind == .changed, let d = e.details, case .object(let o)? = try? JSONParser.parse(Array(d.utf8)) {
            parts.append(o.keys.joined(separator: ", "))
        } else if e.kind == .recorded, let d = e.details, case .object(let o)? = try? JSONParser.parse(Array(d.utf8)),
                  case .string(let name)? = o["displayName"] {
            parts.append("\"\(name)\"")
        } else if e.kind == .superseded, let d = e.details, case .object(let o)? = try? JSONParser.parse(Array(d.utf8)),
                  case .string(let successor)? = o["successorUuid"] {
            parts.append("successor \(successor)")
        } else if e.kind == .conflict, let d = e.details, case .object(let o)? = try? JSONParser.parse(Array(d.utf8)),
                  case .string(let other)? = o["account"] {
            parts.append("also listed by account \(other)")
        } else if e.kind == .restored, let d = e.details, case .object(let o)? = try? JSONParser.parse(Array(d.utf8)),
                  case .string(let status)? = o["status"] {
            parts.append("listed again: \(status)")
        }
        return parts.joined(separator: "; ")
    }
}

/// Renders events for `history` in any `OutputFormat`.
public struct EventListRenderer: StreamRenderer {
    public let format: OutputFormat
    /// A leading ACCOUNT column in the table (when the events come from several accounts).
    public let showsAccount: Bool
    var count = 0

    public init(format: OutputFormat, showsAccount: Bool = false) {
        self.format = format
        self.showsAccount = showsAccount
    }

    public mutating func begin() -> String {
        switch format {
        case .table: return (showsAccount ? fit("ACCOUNT", 13) : "") + fit("TIME", 21) + fit("INSTALLER", 10) + fit("KIND", 16) + fit("SOURCE", 10) + "DETAILS\n"
        case .json: return "["
        case .ndjson: return ""
        case .csv:
            var w = CSVWriter()
            w.writeRow(EventColumns.csvHeader)
            return w.string
        }
    }

    public mutating func render(_ items: [LedgerEvent]) -> String {
        switch format {
        case .table:
            var out = ""
            for e in items {
                out += (showsAccount ? fit(e.account, 13) : "") + fit(String(e.at.rfc3339.prefix(19)) + "Z", 21) + fit(String((e.installerUuid ?? "-").prefix(8)), 10)
                    + fit(e.kind.rawValue, 16) + fit(e.source.rawValue, 10) + EventColumns.summary(e) + "\n"
            }
            count += items.count
            return out
        case .json, .ndjson:
            var w = JSONWriter()
            for e in items {
                if format == .json { w.bytes.append(contentsOf: (count == 0 ? "\n  " : ",\n  ").utf8) }
                w.write(.object(EventColumns.jsonObject(e)))
                if format == .ndjson { w.bytes.append(0x0A) }
                count += 1
            }
            return w.string
        case .csv:
            var w = CSVWriter()
            for e in items { w.writeRow(EventColumns.csvRow(e)) }
            count += items.count
            return w.string
        }
    }

    public mutating func end() -> String {
        switch format {
        case .table: return count == 0 ? "(no events match)\n" : "\(count) event\(count == 1 ? "" : "s")\n"
        case .json: return count == 0 ? "]\n" : "\n]\n"
        case .ndjson, .csv: return ""
        }
    }
}

/// Renders one installer for `show`: every field, products, components and history.
/// The download URL is shown: `show` is one of the two places it may appear.
public enum InstallerDetailRenderer {
    public static func table(_ e: LedgerInstaller, history: [LedgerEvent], now: Timestamp) -> String {
        let i = e.installer
        func yes(_ b: Bool) -> String { b ? "yes" : "no" }
        var status = InstallerColumns.statusText(e, at: now)
        if let reason = e.statusReason { status += " (\(reason))" }
        if let left = e.daysLeft(at: now) { status += left >= 0 ? ", \(left) days left" : ", expired \(-left) days ago" }
        var lines: [(String, String)] = [
            ("uuid", i.uuid),
            ("account", e.account.isEmpty ? "-" : e.account),
            ("name", i.displayName),
            ("status", status),
            ("operating system", "\(OperatingSystemFamily.word(forId: i.operatingSystemFamilyId)) (\(i.operatingSystemFamilyId))"),
            ("language", i.preferredLanguageCode.isEmpty ? "-" : i.preferredLanguageCode),
            ("device group", i.deviceEnrollment.groupDisplayName.isEmpty ? "-" : i.deviceEnrollment.groupDisplayName),
            ("security group uuid", i.deviceEnrollment.securityGroupUuid.isEmpty ? "- (Lost & found or a matching device's group)" : i.deviceEnrollment.securityGroupUuid),
            ("cloud scanner feedback", yes(i.enableCloudScannerFeedback)),
            ("PUA detection", yes(i.enablePuaDetection)),
            ("anonymous diagnostics", yes(i.sendAnonymousDiagnosticData)),
            ("created", i.createTime?.rfc3339 ?? "-"),
            ("expires", i.expireTime?.rfc3339 ?? "-"),
            ("usable at ESET", yes(i.usable)),
            ("first seen", e.firstSeen.rfc3339),
            ("last seen", e.lastSeen.rfc3339),
            ("download URL", i.downloadUrl.isEmpty ? "-" : i.downloadUrl),
        ]
        if let successor = e.successorUuid { lines.insert(("replaced by", successor), at: 3) }
        if let predecessor = e.predecessorUuid { lines.insert(("replaces", predecessor), at: 3) }
        lines = lines.map { ($0.0 + ":", $0.1) }
        var out = lines.map { fit($0.0, 24) + $0.1 }.joined(separator: "\n") + "\n"
        out += "\nactivated products (\(i.activatedProducts.count)):\n"
        for p in i.activatedProducts {
            out += "  - \(p.productDisplayName) (product \(p.productId))\n"
            out += "    pool \(p.poolDisplayName) \(p.poolUuid)\n"
            out += "    subscription \(p.subscriptionUuid) (support code \(p.subscriptionSupportCode))\n"
        }
        out += "\ninstalled components (\(i.installedComponents.count)):\n"
        for c in i.installedComponents {
            out += "  - \(c.id) \(c.name) — \(c.displayName)\n"
        }
        out += "\nhistory (\(history.count)):\n"
        for ev in history {
            let summary = EventColumns.summary(ev)
            out += "  \(ev.at.rfc3339)  \(ev.kind.rawValue) by \(ev.source.rawValue)\(summary.isEmpty ? "" : "  \(summary)")\n"
        }
        return out
    }

    public static func json(_ e: LedgerInstaller, history: [LedgerEvent]) -> String {
        var o = InstallerColumns.jsonObject(e, includeDownloadUrl: true)
        o.append("history", .array(history.map { .object(EventColumns.jsonObject($0)) }))
        return JSONValue.object(o).jsonText + "\n"
    }
}
