// MARK: - HTML

extension ReportRendering {
    /// How far ahead the timeline looks.
    public static let timelineDays: Int64 = 90
    /// Rows of the timeline at the most (the soonest to end first); the rest are counted.
    static let timelineRows = 40

    /// One self-contained page for a mail or a browser: no external assets and no scripts.
    /// The status, the findings, the counts, and an inline SVG timeline of the next 90 days:
    /// one bar per device group and product ending at its covered-until date, expiries marked,
    /// the critical and warning horizons drawn. Never a download URL.
    public static func html(_ r: ExpiryReport) -> String {
        let colour: String = switch r.status {
        case .ok: "#1b7f3b"
        case .warning: "#b26a00"
        case .critical: "#b3261e"
        case .unknown: "#5f6368"
        }
        var out = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>Installer expiry report: \(r.status.word)</title>
            <style>
            body{font-family:-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#202124;margin:24px;max-width:1100px}
            .status{background:\(colour);color:#fff;padding:12px 16px;border-radius:6px;font-size:18px;font-weight:600}
            table{border-collapse:collapse;margin:8px 0 16px}td,th{border-bottom:1px solid #e0e0e0;padding:4px 10px;text-align:left;font-size:13px}
            th{background:#f5f5f5}h2{font-size:16px;margin:20px 0 6px}.muted{color:#5f6368;font-size:12px}
            .CRITICAL{color:#b3261e;font-weight:600}.WARNING{color:#b26a00;font-weight:600}.UNKNOWN{color:#5f6368;font-weight:600}
            </style></head><body>
            <div class="status">INSTALLERS \(r.status.word)</div>
            <p>\(escaped(String(r.summary.dropFirst("INSTALLERS \(r.status.word) - ".count))))</p>
            <p class="muted">Report at \(r.generatedAt.secondsText) · warning \(ReportFormatting.duration(r.thresholds.warn)) · critical \(ReportFormatting.duration(r.thresholds.critical)) · expired within \(ReportFormatting.duration(r.thresholds.expiredWithin)) · max sync age \(r.thresholds.maxSyncAge.map(ReportFormatting.duration) ?? "off") · last sync \(r.lastRefresh?.secondsText ?? "never")</p>

            """
        let findings = r.checks.filter { $0.status != .ok }
        if !findings.isEmpty {
            out += "<h2>To do</h2><ul>\n"
            for c in findings { out += "<li><span class=\"\(c.status.word)\">\(c.status.word)</span> \(escaped(c.message))</li>\n" }
            out += "</ul>\n"
        }
        guard r.ledgerReadable else { return out + "</body></html>\n" }
        out += "<h2>The next \(timelineDays) days</h2>\n" + timeline(r)
        if r.namesAccounts {
            out += "<h2>By account</h2><table><tr><th>Account</th><th>Expired</th><th>Critical</th><th>Warning</th><th>Gaps</th><th>Usable</th><th>Last sync</th></tr>\n"
            for line in accountLines(r) {
                out += "<tr><td>\(escaped(line.account))</td><td>\(line.expired)</td><td>\(line.critical)</td><td>\(line.warning)</td><td>\(line.gaps)</td><td>\(line.usable)</td><td>\(line.lastRefresh?.secondsText ?? "never")</td></tr>\n"
            }
            out += "</table>\n"
        }
        for section in installerSections(r) where !section.installers.isEmpty {
            out += "<h2>\(escaped(section.title)): \(section.total)</h2><table><tr>"
                + (r.namesAccounts ? "<th>Account</th>" : "") + "<th>Expires (UTC)</th><th>Days</th><th>Installer</th><th>Name</th><th>Group</th><th>Products</th></tr>\n"
            for i in section.installers.prefix(textRowsShown) {
                out += "<tr>" + (r.namesAccounts ? "<td>\(escaped(i.account))</td>" : "")
                    + "<td>\(minute(i.expireTime))</td><td>\(i.daysLeft(at: r.generatedAt).map(String.init) ?? "-")</td>"
                    + "<td><code>\(i.uuid.prefix(8))</code></td><td>\(escaped(i.displayName))</td><td>\(escaped(i.groupLabel))</td>"
                    + "<td>\(escaped(products(i)))</td></tr>\n"
            }
            out += "</table>\n"
            if section.total > textRowsShown {
                out += "<p class=\"muted\">… and \(thousands(section.total - textRowsShown)) more: <code>\(escaped(moreCommand(section.id, r)))</code></p>\n"
            }
        }
        if !r.coverageGaps.isEmpty {
            out += "<h2>\(escaped(gapsTitle(r))): \(r.coverageGaps.gaps.count)</h2><table><tr>"
                + (r.namesAccounts ? "<th>Account</th>" : "") + "<th>Kind</th><th>Group or product</th><th>Last installer</th><th>Covered until (UTC)</th></tr>\n"
            for g in r.coverageGaps.gaps.prefix(textRowsShown) {
                out += "<tr>" + (r.namesAccounts ? "<td>\(escaped(g.account))</td>" : "")
                    + "<td>\(g.kind.rawValue)</td><td>\(escaped(gapLabel(g)))</td><td>\(escaped(lastInstaller(g)))</td><td>\(minute(g.coveredUntil))</td></tr>\n"
            }
            out += "</table>\n"
        }
        out += "<p class=\"muted\">Ledger: \(r.counts.usable) usable, \(r.counts.unusable) unusable, \(r.counts.deleted) deleted. Made by installer-ledger report --format html.</p>\n"
        return out + "</body></html>\n"
    }

    /// One bar of the timeline: a group or product and until when it is covered.
    struct TimelineRow {
        var label: String
        var coveredUntil: Timestamp?
        var nextExpiry: Timestamp?
        var usable: Int
    }

    /// The rows: every group and product with usable installers, and those left without one.
    static func timelineRows(_ r: ExpiryReport) -> [TimelineRow] {
        let account = { (a: String) in r.namesAccounts ? "\(a): " : "" }
        var rows = r.byGroup.map { TimelineRow(label: account($0.account) + $0.label, coveredUntil: $0.coveredUntil, nextExpiry: $0.nextExpiry, usable: $0.usable) }
            + r.byProduct.map { TimelineRow(label: account($0.account) + $0.name, coveredUntil: $0.coveredUntil, nextExpiry: $0.nextExpiry, usable: $0.usable) }
        // Groups and products with no usable installer left now: a bar of length zero.
        for g in r.coverageGaps.gaps where g.coveredUntil <= r.generatedAt {
            rows.append(TimelineRow(label: account(g.account) + gapLabel(g), coveredUntil: g.coveredUntil, nextExpiry: nil, usable: 0))
        }
        return rows.sorted { ($0.coveredUntil ?? Timestamp(nanoseconds: .max)) < ($1.coveredUntil ?? Timestamp(nanoseconds: .max)) }
    }

    /// The inline SVG: days on the x axis, a bar per row from now to its covered-until date
    /// (red when that is within --critical, amber within --warn, green beyond), a tick at its
    /// next expiry, and the critical and warning horizons as dashed lines.
    static func timeline(_ r: ExpiryReport) -> String {
        let all = timelineRows(r)
        let rows = Array(all.prefix(timelineRows))
        let labelWidth = 300.0, chartWidth = 660.0, rowHeight = 22.0, top = 28.0
        let height = top + Double(max(rows.count, 1)) * rowHeight + 24
        let start = r.generatedAt.nanoseconds
        let span = Double(timelineDays) * 86_400e9
        func x(_ t: Timestamp) -> Double {
            labelWidth + chartWidth * min(max(Double(t.nanoseconds - start) / span, 0), 1)
        }
        func n(_ v: Double) -> String { String(format: "%.1f", v) }
        let critical = r.generatedAt.adding(r.thresholds.critical), warn = r.generatedAt.adding(r.thresholds.warn)
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(labelWidth + chartWidth + 20))\" height=\"\(Int(height))\" "
            + "role=\"img\" aria-label=\"Coverage of device groups and products over the next \(timelineDays) days\" font-family=\"sans-serif\" font-size=\"12\">\n"
        // Day grid every 15 days.
        for day in stride(from: Int64(0), through: timelineDays, by: 15) {
            let gx = x(r.generatedAt.adding(.days(day)))
            svg += "<line x1=\"\(n(gx))\" y1=\"\(n(top - 6))\" x2=\"\(n(gx))\" y2=\"\(n(height - 20))\" stroke=\"#e0e0e0\"/>"
                + "<text x=\"\(n(gx))\" y=\"\(n(top - 10))\" text-anchor=\"middle\" fill=\"#5f6368\">+\(day)d</text>\n"
        }
        for (horizon, label, colour) in [(critical, "critical \(ReportFormatting.duration(r.thresholds.critical))", "#b3261e"),
                                          (warn, "warning \(ReportFormatting.duration(r.thresholds.warn))", "#b26a00")] {
            let hx = x(horizon)
            svg += "<line x1=\"\(n(hx))\" y1=\"\(n(top - 4))\" x2=\"\(n(hx))\" y2=\"\(n(height - 20))\" stroke=\"\(colour)\" stroke-dasharray=\"4 3\"/>"
                + "<text x=\"\(n(hx + 3))\" y=\"\(n(height - 6))\" fill=\"\(colour)\">\(label)</text>\n"
        }
        for (k, row) in rows.enumerated() {
            let y = top + Double(k) * rowHeight
            let end = row.coveredUntil.map(x) ?? (labelWidth + chartWidth)
            let colour = row.coveredUntil.map { $0 <= critical ? "#d93025" : $0 <= warn ? "#f29900" : "#34a853" } ?? "#34a853"
            let label = row.label.count > 40 ? String(row.label.prefix(39)) + "…" : row.label
            svg += "<text x=\"\(n(labelWidth - 8))\" y=\"\(n(y + 15))\" text-anchor=\"end\">\(escaped(label))</text>"
            svg += "<rect x=\"\(n(labelWidth))\" y=\"\(n(y + 4))\" width=\"\(n(max(end - labelWidth, 2)))\" height=\"14\" rx=\"2\" fill=\"\(colour)\">"
                + "<title>\(escaped(row.label)): \(row.usable) usable, covered until \(row.coveredUntil.map(minute) ?? "-")</title></rect>"
            if let next = row.nextExpiry, next < (row.coveredUntil ?? next) {
                let ex = x(next)
                svg += "<line x1=\"\(n(ex))\" y1=\"\(n(y + 2))\" x2=\"\(n(ex))\" y2=\"\(n(y + 20))\" stroke=\"#202124\" stroke-width=\"2\"/>"
            }
            svg += "\n"
        }
        if rows.isEmpty {
            svg += "<text x=\"\(n(labelWidth))\" y=\"\(n(top + 15))\" fill=\"#5f6368\">no device group or product has a usable installer</text>\n"
        }
        svg += "</svg>\n"
        var out = svg
        if all.count > rows.count {
            out += "<p class=\"muted\">The \(rows.count) soonest to end of \(all.count) groups and products; all in <code>installer-ledger report --format json</code>.</p>\n"
        }
        return out + "<p class=\"muted\">Each bar ends when its group or product has no usable installer left; a black tick marks its next expiry.</p>\n"
    }

    /// Text safe in HTML and SVG.
    static func escaped(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }
}
