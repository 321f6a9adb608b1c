/// How coverage gaps appear in `gaps` output (and, later, the report's section).
public enum CoverageGapColumns {
    /// The CSV columns of a gap, in order. Documented in README.md; keep stable.
    public static let csvHeader = [
        "kind", "id", "name", "at", "covered_until", "last_installer_uuid", "last_installer_display_name",
        "last_installer_status", "last_installer_expire_time", "account",
    ]

    /// One CSV row for a gap at the date asked about.
    public static func csvRow(_ g: CoverageGap, at: Timestamp) -> [String] {
        [g.kind.rawValue, g.id, g.name, at.rfc3339, g.coveredUntil.rfc3339, g.lastInstaller.uuid,
         g.lastInstaller.displayName, g.lastInstaller.status.rawValue, g.lastInstaller.expireTime?.rfc3339 ?? "", g.account]
    }

    /// The gap as JSON: what is uncovered, from when, and the installer that covered it last.
    public static func jsonObject(_ g: CoverageGap, at: Timestamp) -> JSONObject {
        var last = JSONObject()
        last.append("uuid", .string(g.lastInstaller.uuid))
        last.append("displayName", .string(g.lastInstaller.displayName))
        last.append("status", .string(g.lastInstaller.status.rawValue))
        last.append("expireTime", .optionalString(g.lastInstaller.expireTime?.rfc3339))
        var o = JSONObject()
        o.append("kind", .string(g.kind.rawValue))
        o.append("id", .string(g.id))
        o.append("name", .string(g.name))
        o.append("at", .string(at.rfc3339))
        o.append("coveredUntil", .string(g.coveredUntil.rfc3339))
        o.append("lastInstaller", .object(last))
        o.append("account", .string(g.account))
        return o
    }

    /// The last installer's state as a person reads it at `now`.
    public static func statusText(_ c: CoveringInstaller, at now: Timestamp) -> String {
        switch c.status {
        case .usable: return c.expireTime.map { $0 <= now } == true ? "expired" : "usable"
        case .unusable: return c.expireTime.map { $0 <= now } == true ? "expired" : "unusable"
        case .deleted: return "deleted"
        }
    }
}

/// Renders coverage gaps for `gaps` in any `OutputFormat`.
public struct CoverageGapRenderer: StreamRenderer {
    public let format: OutputFormat
    public let gaps: CoverageGaps
    public let now: Timestamp
    /// A leading ACCOUNT column in the table (when the gaps come from several accounts).
    public let showsAccount: Bool
    var count = 0

    public init(format: OutputFormat, gaps: CoverageGaps, now: Timestamp, showsAccount: Bool = false) {
        self.format = format
        self.gaps = gaps
        self.now = now
        self.showsAccount = showsAccount
    }

    /// The whole output at once (gaps are few: one per group or product at most).
    public mutating func text() -> String { begin() + render(gaps.gaps) + end() }

    public mutating func begin() -> String {
        switch format {
        case .table:
            return (showsAccount ? fit("ACCOUNT", 13) : "") + fit("KIND", 8) + fit("GROUP OR PRODUCT", 24) + fit("ID", 10) + fit("LAST INSTALLER", 33)
                + fit("STATUS", 10) + "USABLE UNTIL\n"
        case .json: return "["
        case .ndjson: return ""
        case .csv:
            var w = CSVWriter()
            w.writeRow(CoverageGapColumns.csvHeader)
            return w.string
        }
    }

    public mutating func render(_ items: [CoverageGap]) -> String {
        switch format {
        case .table:
            var out = ""
            for g in items {
                let id = g.kind == .group ? (g.id.isEmpty ? "-" : String(g.id.prefix(8))) : g.id
                out += (showsAccount ? fit(g.account, 13) : "") + fit(g.kind.rawValue, 8) + fit(g.name, 24) + fit(id, 10)
                    + fit(String(g.lastInstaller.uuid.prefix(8)) + " " + g.lastInstaller.displayName, 33)
                    + fit(CoverageGapColumns.statusText(g.lastInstaller, at: now), 10) + g.coveredUntil.dateString + "\n"
            }
            count += items.count
            return out
        case .json, .ndjson:
            var w = JSONWriter()
            for g in items {
                if format == .json { w.bytes.append(contentsOf: (count == 0 ? "\n  " : ",\n  ").utf8) }
                w.write(.object(CoverageGapColumns.jsonObject(g, at: gaps.at)))
                if format == .ndjson { w.bytes.append(0x0A) }
                count += 1
            }
            return w.string
        case .csv:
            var w = CSVWriter()
            for g in items { w.writeRow(CoverageGapColumns.csvRow(g, at: gaps.at)) }
            count += items.count
            return w.string
        }
    }

    public mutating func end() -> String {
        switch format {
        case .table:
            let groups = gaps.gaps.filter { $0.kind == .group }.count, products = gaps.gaps.count - groups
            if count == 0 {
                return "no gaps at \(gaps.at.secondsText): all \(gaps.groupsWatched) groups and \(gaps.productsWatched) products have a usable installer\n"
            }
            return "\(count) gap\(count == 1 ? "" : "s") at \(gaps.at.secondsText): \(groups) of \(gaps.groupsWatched) groups and "
                + "\(products) of \(gaps.productsWatched) products without a usable installer\n"
        case .json: return count == 0 ? "]\n" : "\n]\n"
        case .ndjson, .csv: return ""
        }
    }
}

extension Timestamp {
    /// RFC 3339 to the second, for lines people read.
    var secondsText: String { String(rfc3339.prefix(19)) + "Z" }
}
