/// Renders an ``ExpiryReport`` in each ``ReportFormat``. Download URLs are never part of a
/// report: ``ReportInstaller`` does not carry them.
public enum ReportRendering {
    /// The whole output in `format`.
    public static func render(_ report: ExpiryReport, as format: ReportFormat) -> String {
        switch format {
        case .text: text(report)
        case .json: json(report)
        case .csv: csv(report)
        case .markdown: markdown(report)
        case .prometheus: prometheus(report)
        }
    }

    /// The sections listing installers, in order: (id for CSV/JSON, title, installers).
    static func installerSections(_ r: ExpiryReport) -> [(id: String, title: String, installers: [ReportInstaller])] {
        [
            ("expired", "Expired since the previous report (\(r.windowStart.rfc3339))", r.expiredSincePreviousReport),
            ("critical", "Critical: expire within \(ReportFormatting.duration(r.thresholds.critical)), by \(r.generatedAt.adding(r.thresholds.critical).rfc3339)", r.critical),
            ("warning", "Warning: expire within \(ReportFormatting.duration(r.thresholds.warn)), by \(r.generatedAt.adding(r.thresholds.warn).rfc3339)", r.warning),
        ]
    }

    /// `2026-12-03 08:00` (UTC), or `-` without an expiry.
    static func minute(_ t: Timestamp?) -> String {
        guard let t else { return "-" }
        let s = t.rfc3339
        return String(s.prefix(10)) + " " + String(s.dropFirst(11).prefix(5))
    }

    static func products(_ i: ReportInstaller) -> String { i.productNames.joined(separator: "; ") }

    /// The title of the coverage-gaps section.
    static func gapsTitle(_ r: ExpiryReport) -> String {
        "Coverage gaps: device groups and products without a usable installer by \(r.coverageGaps.at.rfc3339)"
    }

    /// A gap's last installer as people read it: short id and name (never its download URL).
    static func lastInstaller(_ g: CoverageGap) -> String { String(g.lastInstaller.uuid.prefix(8)) + " " + g.lastInstaller.displayName }

    /// A gapped group or product: its name, else its id, else `(no group)`.
    static func gapLabel(_ g: CoverageGap) -> String { ReportCoverage.label(name: g.name, key: g.id, none: "(no group)") }

    // MARK: - Text

    /// The cron e-mail: the monitoring-plugin line first, then readable sections.
    public static func text(_ r: ExpiryReport) -> String {
        var out = r.pluginLine + "\n"
        guard r.ledgerReadable else { return out }
        out += "\nReport at \(r.generatedAt.rfc3339) (warning \(ReportFormatting.duration(r.thresholds.warn)), critical \(ReportFormatting.duration(r.thresholds.critical)), max sync age \(ReportFormatting.duration(r.thresholds.maxSyncAge)))\n"
        out += "Last successful sync or reconcile: " + (r.lastRefresh.map { "\($0.rfc3339) (\(ReportFormatting.age(LedgerDuration(nanoseconds: r.generatedAt.nanoseconds - $0.nanoseconds))) ago)" } ?? "never") + "\n"
        out += "Previous report: " + (r.previousReportAt?.rfc3339 ?? "none (this is the first; looking back \(ExpiryReport.firstReportLookback))") + "\n"
        let findings = r.checks.filter { $0.status != .ok }
        if !findings.isEmpty {
            out += "\nTo do\n"
            for c in findings { out += "  \(c.status.word): \(c.message)\n" }
        }
        for section in installerSections(r) {
            out += "\n\(section.title): \(section.installers.count)\n"
            if section.installers.isEmpty { continue }
            out += "  " + fit("EXPIRES (UTC)", 18) + fit("DAYS", 6) + fit("INSTALLER", 10) + fit("NAME", 28) + fit("GROUP", 22)
                + fit("OS", 9) + "PRODUCTS\n"
            for i in section.installers {
                let days = i.daysLeft(at: r.generatedAt).map(String.init) ?? "-"
                out += "  " + fit(minute(i.expireTime), 18) + fit(days, 6) + fit(String(i.uuid.prefix(8)), 10)
                    + fit(i.displayName, 28) + fit(i.groupLabel, 22) + fit(i.operatingSystem, 9) + products(i) + "\n"
            }
        }
        out += "\n\(gapsTitle(r)): \(r.coverageGaps.gaps.count)\n"
        if !r.coverageGaps.isEmpty {
            out += "  " + fit("KIND", 9) + fit("GROUP OR PRODUCT", 28) + fit("LAST INSTALLER", 38) + "COVERED UNTIL\n"
            for g in r.coverageGaps.gaps {
                out += "  " + fit(g.kind.rawValue, 9) + fit(gapLabel(g), 28) + fit(lastInstaller(g), 38) + minute(g.coveredUntil) + "\n"
            }
        }
        for (title, rows) in [("Usable installers by device group", r.byGroup), ("Usable installers by product", r.byProduct)] {
            out += "\n\(title): \(rows.count)\n"
            if rows.isEmpty { continue }
            out += "  " + fit(title.hasSuffix("group") ? "GROUP" : "PRODUCT", 36) + fit("USABLE", 8) + fit("NEXT EXPIRY", 18) + "COVERED UNTIL\n"
            for c in rows {
                out += "  " + fit(c.label, 36) + fit(String(c.usable), 8) + fit(minute(c.nextExpiry), 18) + minute(c.coveredUntil) + "\n"
            }
        }
        out += "\nLedger: \(r.counts.usable) usable, \(r.counts.unusable) unusable, \(r.counts.deleted) deleted\n"
        return out
    }

    // MARK: - Markdown

    /// A Markdown document (for tickets, wikis, chat).
    public static func markdown(_ r: ExpiryReport) -> String {
        var out = "# Installer expiry report: \(r.status.word)\n\n\(md(r.summary))\n"
        guard r.ledgerReadable else { return out }
        out += "\n- Generated: \(r.generatedAt.rfc3339)\n"
        out += "- Thresholds: warning \(ReportFormatting.duration(r.thresholds.warn)), critical \(ReportFormatting.duration(r.thresholds.critical)), max sync age \(ReportFormatting.duration(r.thresholds.maxSyncAge))\n"
        out += "- Last successful sync or reconcile: \(r.lastRefresh?.rfc3339 ?? "never")\n"
        out += "- Previous report: \(r.previousReportAt?.rfc3339 ?? "none")\n"
        out += "- Ledger: \(r.counts.usable) usable, \(r.counts.unusable) unusable, \(r.counts.deleted) deleted\n"
        let findings = r.checks.filter { $0.status != .ok }
        if !findings.isEmpty {
            out += "\n## To do\n\n"
            for c in findings { out += "- **\(c.status.word)**: \(md(c.message))\n" }
        }
        for section in installerSections(r) {
            out += "\n## \(md(section.title)) (\(section.installers.count))\n\n"
            if section.installers.isEmpty { out += "None.\n"; continue }
            out += "| Expires (UTC) | Days | Installer | Name | Group | OS | Products |\n|---|---:|---|---|---|---|---|\n"
            for i in section.installers {
                let days = i.daysLeft(at: r.generatedAt).map(String.init) ?? "-"
                out += "| \(minute(i.expireTime)) | \(days) | `\(i.uuid)` | \(md(i.displayName)) | \(md(i.groupLabel)) | \(i.operatingSystem) | \(md(products(i))) |\n"
            }
        }
        out += "\n## \(md(gapsTitle(r))) (\(r.coverageGaps.gaps.count))\n\n"
        if r.coverageGaps.isEmpty {
            out += "None.\n"
        } else {
            out += "| Kind | Group or product | Last installer | Covered until (UTC) |\n|---|---|---|---|\n"
            for g in r.coverageGaps.gaps {
                out += "| \(g.kind.rawValue) | \(md(gapLabel(g))) | `\(g.lastInstaller.uuid.prefix(8))` \(md(g.lastInstaller.displayName)) | \(minute(g.coveredUntil)) |\n"
            }
        }
        for (title, head, rows) in [("Usable installers by device group", "Group", r.byGroup), ("Usable installers by product", "Product", r.byProduct)] {
            out += "\n## \(title) (\(rows.count))\n\n"
            if rows.isEmpty { out += "None.\n"; continue }
            out += "| \(head) | Usable | Next expiry (UTC) | Covered until (UTC) |\n|---|---:|---|---|\n"
            for c in rows { out += "| \(md(c.label)) | \(c.usable) | \(minute(c.nextExpiry)) | \(minute(c.coveredUntil)) |\n" }
        }
        return out
    }

    /// Text safe inside a Markdown table cell: no line breaks, pipes and markup escaped.
    static func md(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "\n", "\r", "\t": out.append(" ")
            case "|", "\\", "*", "_", "`", "[", "]", "<", ">", "#": out.append("\\"); out.append(c)
            default: out.append(c)
            }
        }
        return out
    }

    // MARK: - CSV

    /// The CSV columns of `report --format csv`: one row per installer of the three sections,
    /// then one per coverage gap (`section` `gaps`; README "report --format csv").
    public static let csvHeader = [
        "section", "uuid", "display_name", "os", "group_uuid", "group_display_name", "product_ids", "products",
        "expire_time", "days_left", "status", "status_reason", "gap_kind", "covered_until",
    ]

    /// RFC 4180 CSV (formula-like cells neutralised) of the installers in the expired,
    /// critical and warning sections; the verdict is the exit code.
    public static func csv(_ r: ExpiryReport) -> String {
        // Text cells are neutralised against formula injection; `days_left` is a number
        // (negative once expired) and must stay one for a spreadsheet.
        var w = CSVWriter(neutralisesFormulas: false)
        w.writeRow(csvHeader)
        for section in installerSections(r) {
            for i in section.installers {
                let days = i.daysLeft(at: r.generatedAt).map(String.init) ?? ""
                let before = [section.id, i.uuid, i.displayName, i.operatingSystem, i.groupUuid, i.groupName,
                              i.productIds.map(String.init).joined(separator: "; "), products(i), i.expireTime?.rfc3339 ?? ""]
                w.writeRow(before.map(neutralised) + [days] + [i.status.rawValue, i.statusReason ?? "", "", ""].map(neutralised))
            }
        }
        // A gap: the group (group columns) or product (product columns) left without a usable
        // installer, the installer that covered it last (uuid, name, expiry, status), and the
        // whole days until the gap starts (negative once it has).
        for g in r.coverageGaps.gaps {
            let days = r.generatedAt.wholeDays(to: g.coveredUntil)
            let group = g.kind == .group ? [g.id, g.name] : ["", ""]
            let product = g.kind == .product ? [g.id, g.name] : ["", ""]
            let before = ["gaps", g.lastInstaller.uuid, g.lastInstaller.displayName, ""] + group + product
                + [g.lastInstaller.expireTime?.rfc3339 ?? ""]
            w.writeRow(before.map(neutralised) + [String(days)]
                       + [g.lastInstaller.status.rawValue, "", g.kind.rawValue, g.coveredUntil.rfc3339].map(neutralised))
        }
        return w.string
    }

    /// A text cell with a leading `'` when a spreadsheet would run it as a formula.
    static func neutralised(_ s: String) -> String {
        s.utf8.first.map(CSVWriter.isFormulaStart) == true ? "'" + s : s
    }
}
