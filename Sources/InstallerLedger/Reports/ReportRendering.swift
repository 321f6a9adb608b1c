/// Renders an ``ExpiryReport`` in each ``ReportFormat``. Download URLs are never part of a
/// report: ``ReportInstaller`` does not carry them.
public enum ReportRendering {
    /// The whole output in `format`.
    /// - Parameter perInstaller: Prometheus only: one expiry gauge per usable installer too.
    public static func render(_ report: ExpiryReport, as format: ReportFormat, perInstaller: Bool = false) -> String {
        switch format {
        case .text: text(report)
        case .json: json(report)
        case .csv: csv(report)
        case .markdown: markdown(report)
        case .prometheus: prometheus(report, perInstaller: perInstaller)
        case .html: html(report)
        }
    }

    /// The sections listing installers, in order: (id for CSV/JSON, title, installers, how
    /// many the section holds: the list may be cut short for the text and HTML formats).
    static func installerSections(_ r: ExpiryReport) -> [(id: String, title: String, installers: [ReportInstaller], total: Int)] {
        [
            ("expired", "Expired within \(ReportFormatting.duration(r.thresholds.expiredWithin)), since \(r.windowStart.rfc3339)", r.recentlyExpired, r.totals.all.expired),
            ("critical", "Critical: expire within \(ReportFormatting.duration(r.thresholds.critical)), by \(r.generatedAt.adding(r.thresholds.critical).rfc3339)", r.critical, r.totals.all.critical),
            ("warning", "Warning: expire within \(ReportFormatting.duration(r.thresholds.warn)), by \(r.generatedAt.adding(r.thresholds.warn).rfc3339)", r.warning, r.totals.all.warning),
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
        let first = r.pluginLine + "\n"
        guard r.ledgerReadable else {
            return first + ReportFormatting.plain("\n" + r.checks.map { "\($0.status.word): \($0.message)" }.joined(separator: "\n") + "\n")
        }
        var out = "\nReport at \(r.generatedAt.rfc3339) (warning \(ReportFormatting.duration(r.thresholds.warn)), critical \(ReportFormatting.duration(r.thresholds.critical)), expired within \(ReportFormatting.duration(r.thresholds.expiredWithin)), max sync age \(r.thresholds.maxSyncAge.map(ReportFormatting.duration) ?? "off"))\n"
        out += "Last successful sync or reconcile: " + (r.lastRefresh.map { "\($0.rfc3339) (\(ReportFormatting.age(LedgerDuration(nanoseconds: r.generatedAt.nanoseconds - $0.nanoseconds))) ago)" } ?? "never") + "\n"
        let findings = r.checks.filter { $0.status != .ok }
        if !findings.isEmpty {
            out += "\nTo do\n"
            for c in findings { out += "  \(c.status.word): \(c.message)\n" }
        }
        let acct = { (name: String) in r.namesAccounts ? fit(name, 13) : "" }
        if r.namesAccounts {
            out += "\nBy account: \(r.accounts.count)\n"
            out += "  " + fit("ACCOUNT", 17) + fit("EXPIRED", 8) + fit("CRITICAL", 9) + fit("WARNING", 8) + fit("GAPS", 6)
                + fit("USABLE", 8) + "LAST SYNC\n"
            let lines = accountLines(r)
            for line in lines {
                out += "  " + fit(line.account, 17) + fit(String(line.expired), 8) + fit(String(line.critical), 9)
                    + fit(String(line.warning), 8) + fit(String(line.gaps), 6) + fit(String(line.usable), 8)
                    + (line.lastRefresh?.rfc3339 ?? "never") + "\n"
            }
            out += "  " + fit("total", 17) + fit(String(lines.map(\.expired).reduce(0, +)), 8)
                + fit(String(lines.map(\.critical).reduce(0, +)), 9) + fit(String(lines.map(\.warning).reduce(0, +)), 8)
                + fit(String(lines.map(\.gaps).reduce(0, +)), 6) + fit(String(r.counts.usable), 8) + "\n"
        }
        for section in installerSections(r) {
            out += "\n\(section.title): \(section.total)\n"
            if section.installers.isEmpty { continue }
            defer {
                if section.total > textRowsShown {
                    out += "  … and \(thousands(section.total - textRowsShown)) more: \(moreCommand(section.id, r))\n"
                }
            }
            out += "  " + acct("ACCOUNT") + fit("EXPIRES (UTC)", 18) + fit("DAYS", 6) + fit("INSTALLER", 10) + fit("NAME", 28) + fit("GROUP", 22)
                + fit("OS", 9) + "PRODUCTS\n"
            for i in section.installers.prefix(textRowsShown) {
                let days = i.daysLeft(at: r.generatedAt).map(String.init) ?? "-"
                out += "  " + acct(i.account) + fit(minute(i.expireTime), 18) + fit(days, 6) + fit(String(i.uuid.prefix(8)), 10)
                    + fit(i.displayName, 28) + fit(i.groupLabel, 22) + fit(i.operatingSystem, 9) + products(i) + "\n"
            }
        }
        out += "\n\(gapsTitle(r)): \(r.coverageGaps.gaps.count)\n"
        if !r.coverageGaps.isEmpty {
            out += "  " + acct("ACCOUNT") + fit("KIND", 9) + fit("GROUP OR PRODUCT", 28) + fit("LAST INSTALLER", 38) + "COVERED UNTIL\n"
            for g in r.coverageGaps.gaps.prefix(textRowsShown) {
                out += "  " + acct(g.account) + fit(g.kind.rawValue, 9) + fit(gapLabel(g), 28) + fit(lastInstaller(g), 38) + minute(g.coveredUntil) + "\n"
            }
            if r.coverageGaps.gaps.count > textRowsShown {
                out += "  … and \(thousands(r.coverageGaps.gaps.count - textRowsShown)) more: installer-ledger gaps --at \(r.coverageGaps.at.dateString)\n"
            }
        }
        for (title, rows) in [("Usable installers by device group", r.byGroup), ("Usable installers by product", r.byProduct)] {
            out += "\n\(title): \(rows.count)\n"
            if rows.isEmpty { continue }
            out += "  " + acct("ACCOUNT") + fit(title.hasSuffix("group") ? "GROUP" : "PRODUCT", 36) + fit("USABLE", 8) + fit("NEXT EXPIRY", 18) + "COVERED UNTIL\n"
            for c in rows.prefix(textRowsShown) {
                out += "  " + acct(c.account) + fit(c.label, 36) + fit(String(c.usable), 8) + fit(minute(c.nextExpiry), 18) + minute(c.coveredUntil) + "\n"
            }
            if rows.count > textRowsShown {
                out += "  … and \(thousands(rows.count - textRowsShown)) more: installer-ledger report --format json\n"
            }
        }
        out += "\nLedger: \(r.counts.usable) usable, \(r.counts.unusable) unusable, \(r.counts.deleted) deleted\n"
        // The long output: no `|` anywhere, or Nagios reads the rest as performance data.
        return first + ReportFormatting.plain(out)
    }

    /// The text format is a mail a person reads: at most this many rows a section (JSON and
    /// CSV stay complete).
    public static let textRowsShown = 50

    /// The command that lists the rest of a section.
    static func moreCommand(_ section: String, _ r: ExpiryReport) -> String {
        let d = ReportFormatting.duration
        switch section {
        case "expired": return "installer-ledger history --kind became_unusable --since \(r.windowStart.secondsText)"
        case "critical": return "installer-ledger list --expiring-within \(d(r.thresholds.critical))"
        default: return "installer-ledger list --expiring-within \(d(r.thresholds.warn))"
        }
    }

    /// `41,952`.
    static func thousands(_ n: Int) -> String {
        let digits = String(n)
        var out = ""
        for (k, c) in digits.enumerated() {
            if k > 0 && (digits.count - k) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return out
    }

    /// One account's share of the findings, for the text report's "By account" section.
    struct AccountLine {
        var account: String
        var expired = 0, critical = 0, warning = 0, gaps = 0, usable = 0
        var lastRefresh: Timestamp?
    }

    static func accountLines(_ r: ExpiryReport) -> [AccountLine] {
        r.accounts.map { a in
            var line = AccountLine(account: a.account, lastRefresh: a.lastRefresh)
            let counts = r.totals.byAccount[a.account] ?? ReportSectionTotals.Counts()
            (line.expired, line.critical, line.warning) = (counts.expired, counts.critical, counts.warning)
            line.gaps = r.coverageGaps.gaps.filter { $0.account == a.account }.count
            line.usable = r.byGroup.filter { $0.account == a.account }.map(\.usable).reduce(0, +)
            return line
        }
    }

    // MARK: - Markdown

    /// A Markdown document (for tickets, wikis, chat).
    public static func markdown(_ r: ExpiryReport) -> String {
        var out = "# Installer expiry report: \(r.status.word)\n\n\(md(r.summary))\n"
        guard r.ledgerReadable else { return out }
        out += "\n- Generated: \(r.generatedAt.rfc3339)\n"
        out += "- Thresholds: warning \(ReportFormatting.duration(r.thresholds.warn)), critical \(ReportFormatting.duration(r.thresholds.critical)), expired within \(ReportFormatting.duration(r.thresholds.expiredWithin)), max sync age \(r.thresholds.maxSyncAge.map(ReportFormatting.duration) ?? "off")\n"
        out += "- Last successful sync or reconcile: \(r.lastRefresh?.rfc3339 ?? "never")\n"
        out += "- Ledger: \(r.counts.usable) usable, \(r.counts.unusable) unusable, \(r.counts.deleted) deleted\n"
        let findings = r.checks.filter { $0.status != .ok }
        if !findings.isEmpty {
            out += "\n## To do\n\n"
            for c in findings { out += "- **\(c.status.word)**: \(md(c.message))\n" }
        }
        for section in installerSections(r) {
            out += "\n## \(md(section.title)) (\(section.installers.count))\n\n"
            if section.installers.isEmpty { out += "None.\n"; continue }
            out += (r.namesAccounts ? "| Account " : "") + "| Expires (UTC) | Days | Installer | Name | Group | OS | Products |\n"
                + (r.namesAccounts ? "|---" : "") + "|---|---:|---|---|---|---|---|\n"
            for i in section.installers {
                let days = i.daysLeft(at: r.generatedAt).map(String.init) ?? "-"
                out += (r.namesAccounts ? "| \(md(i.account)) " : "") + "| \(minute(i.expireTime)) | \(days) | `\(i.uuid)` | \(md(i.displayName)) | \(md(i.groupLabel)) | \(i.operatingSystem) | \(md(products(i))) |\n"
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
        "expire_time", "days_left", "status", "status_reason", "gap_kind", "covered_until", "account",
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
                w.writeRow(before.map(neutralised) + [days] + [i.status.rawValue, i.statusReason ?? "", "", "", i.account].map(neutralised))
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
                       + [g.lastInstaller.status.rawValue, "", g.kind.rawValue, g.coveredUntil.rfc3339, g.account].map(neutralised))
        }
        return w.string
    }

    /// A text cell with a leading `'` when a spreadsheet would run it as a formula.
    static func neutralised(_ s: String) -> String {
        s.utf8.first.map(CSVWriter.isFormulaStart) == true ? "'" + s : s
    }
}
