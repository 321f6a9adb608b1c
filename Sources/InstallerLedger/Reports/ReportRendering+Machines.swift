// MARK: - JSON

extension ReportRendering {
    /// JSON with stable keys (README "report --format json"); ``ExpiryReport/schemaVersion``
    /// changes only when an existing key changes meaning or goes away.
    public static func json(_ r: ExpiryReport) -> String {
        var o = JSONObject()
        o.append("schemaVersion", .int(Int64(ExpiryReport.schemaVersion)))
        o.append("status", .string(r.status.rawValue))
        o.append("exitCode", .int(Int64(r.status.exitCode)))
        o.append("summary", .string(r.summary))
        o.append("generatedAt", .string(r.generatedAt.rfc3339))
        o.append("thresholds", .object(JSONObject(
            keys: ["warn", "critical", "maxSyncAge", "expiredWithin"],
            values: [.string(ReportFormatting.duration(r.thresholds.warn)), .string(ReportFormatting.duration(r.thresholds.critical)),
                     .string(r.thresholds.maxSyncAge.map(ReportFormatting.duration) ?? "off"),
                     .string(ReportFormatting.duration(r.thresholds.expiredWithin))])))
        o.append("ledgerReadable", .bool(r.ledgerReadable))
        o.append("lastSuccessfulRefresh", .optionalString(r.lastRefresh?.rfc3339))
        o.append("windowStart", .string(r.windowStart.rfc3339))
        o.append("checks", .array(r.checks.map { c in
            .object(JSONObject(keys: ["id", "status", "message"], values: [.string(c.id), .string(c.status.rawValue), .string(c.message)]))
        }))
        // The installer lists are written one installer at a time (tens of thousands on a
        // big ledger), between the keys before them and those after.
        var w = JSONWriter()
        w.write(.object(o))
        w.bytes.removeLast()  // its `}`: the lists and the rest follow
        for (key, list) in [("recentlyExpired", r.recentlyExpired), ("critical", r.critical), ("warning", r.warning)] {
            w.bytes.append(UInt8(ascii: ","))
            w.writeString(key)
            w.bytes.append(contentsOf: ":[".utf8)
            for (n, i) in list.enumerated() {
                if n > 0 { w.bytes.append(UInt8(ascii: ",")) }
                w.write(installerJSON(i, r))
            }
            w.bytes.append(UInt8(ascii: "]"))
        }
        o = JSONObject()
        o.append("byGroup", .array(r.byGroup.map { coverageJSON($0, keyName: "groupUuid", nameName: "groupDisplayName", numericKey: false) }))
        o.append("byProduct", .array(r.byProduct.map { coverageJSON($0, keyName: "productId", nameName: "productDisplayName", numericKey: true) }))
        // The same objects as `gaps --format json`: kind, id, name, at, coveredUntil, lastInstaller.
        o.append("coverageGaps", .array(r.coverageGaps.gaps.map { .object(CoverageGapColumns.jsonObject($0, at: r.coverageGaps.at)) }))
        o.append("counts", .object(JSONObject(
            keys: ["usable", "unusable", "deleted"],
            values: [.int(Int64(r.counts.usable)), .int(Int64(r.counts.unusable)), .int(Int64(r.counts.deleted))])))
        o.append("accounts", .array(r.accounts.map { a in
            .object(JSONObject(keys: ["name", "lastSuccessfulRefresh"], values: [.string(a.account), .optionalString(a.lastRefresh?.rfc3339)]))
        }))
        var rest = JSONWriter()
        rest.write(.object(o))
        w.bytes.append(UInt8(ascii: ","))
        w.bytes.append(contentsOf: rest.bytes.dropFirst())  // after its `{`
        w.bytes.append(UInt8(ascii: "\n"))
        return w.string
    }

    static func installerJSON(_ i: ReportInstaller, _ r: ExpiryReport) -> JSONValue {
        var o = JSONObject()
        o.append("uuid", .string(i.uuid))
        o.append("displayName", .string(i.displayName))
        o.append("os", .string(i.operatingSystem))
        o.append("groupUuid", .string(i.groupUuid))
        o.append("groupDisplayName", .string(i.groupName))
        o.append("productIds", .array(i.productIds.map(JSONValue.int)))
        o.append("products", .array(i.productNames.map(JSONValue.string)))
        o.append("expireTime", .optionalString(i.expireTime?.rfc3339))
        o.append("daysLeft", i.daysLeft(at: r.generatedAt).map(JSONValue.int) ?? .null)
        o.append("status", .string(i.status.rawValue))
        o.append("statusReason", .optionalString(i.statusReason))
        o.append("account", .string(i.account))
        return .object(o)
    }

    static func coverageJSON(_ c: ReportCoverage, keyName: String, nameName: String, numericKey: Bool) -> JSONValue {
        var o = JSONObject()
        o.append(keyName, numericKey ? (Int64(c.key).map(JSONValue.int) ?? .string(c.key)) : .string(c.key))
        o.append(nameName, .string(c.name))
        o.append("usable", .int(Int64(c.usable)))
        o.append("nextExpiry", .optionalString(c.nextExpiry?.rfc3339))
        o.append("coveredUntil", .optionalString(c.coveredUntil?.rfc3339))
        o.append("account", .string(c.account))
        return .object(o)
    }
}

// MARK: - Prometheus

extension ReportRendering {
    /// The node_exporter textfile-collector format, bounded by accounts, device groups and
    /// products (not installers): the verdict, counts by status and section, each account's
    /// last refresh, coverage gaps, and per account and group (and product) the usable
    /// installers, the next expiry and the covered-until date. Labels are stable ids
    /// (account, group uuid, product id), never names, so a rename or a rotation does not make
    /// new series. `perInstaller` adds one expiry gauge per usable installer, labelled with
    /// account, uuid and group uuid. No download URLs.
    public static func prometheus(_ r: ExpiryReport, perInstaller: Bool = false) -> String {
        var out = ""
        func metric(_ name: String, _ help: String, _ samples: [(labels: [(String, String)], value: String)]) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) gauge\n"
            for s in samples {
                out += name
                if !s.labels.isEmpty {
                    out += "{" + s.labels.map { "\($0.0)=\"\(promEscaped($0.1))\"" }.joined(separator: ",") + "}"
                }
                out += " \(s.value)\n"
            }
        }
        metric("installer_ledger_report_status", "Verdict of the expiry report: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.",
               [([], String(r.status.exitCode))])
        metric("installer_ledger_report_timestamp_seconds", "When the report was made (Unix time).",
               [([], String(r.generatedAt.seconds))])
        metric("installer_ledger_ledger_readable", "1 when the ledger could be read, 0 when not (the report is then UNKNOWN).",
               [([], r.ledgerReadable ? "1" : "0")])
        guard r.ledgerReadable else { return out }
        metric("installer_ledger_last_successful_sync_timestamp_seconds",
               "Last successful sync, or reconcile that asked ESET, of the stalest account (Unix time; 0 when there was none).",
               [([], String(r.lastRefresh?.seconds ?? 0))])
        metric("installer_ledger_account_last_successful_sync_timestamp_seconds",
               "Last successful sync, or reconcile that asked ESET, per account (Unix time; 0 when there was none).",
               r.accounts.map { a in ([("account", a.account)], String(a.lastRefresh?.seconds ?? 0)) })
        metric("installer_ledger_installers", "Installers in the ledger by status.", [
            ([("status", "usable")], String(r.counts.usable)),
            ([("status", "unusable")], String(r.counts.unusable)),
            ([("status", "deleted")], String(r.counts.deleted)),
        ])
        metric("installer_ledger_report_installers",
               "Installers in each report section: expired within --expired-within, critical, warning.", [
            ([("section", "expired")], String(r.totals.all.expired)),
            ([("section", "critical")], String(r.totals.all.critical)),
            ([("section", "warning")], String(r.totals.all.warning)),
        ])
        metric("installer_ledger_report_thresholds_seconds", "The report's thresholds.", [
            ([("threshold", "warn")], String(r.thresholds.warn.nanoseconds / 1_000_000_000)),
            ([("threshold", "critical")], String(r.thresholds.critical.nanoseconds / 1_000_000_000)),
            ([("threshold", "expired_within")], String(r.thresholds.expiredWithin.nanoseconds / 1_000_000_000)),
        ] + (r.thresholds.maxSyncAge.map { [([("threshold", "max_sync_age")], String($0.nanoseconds / 1_000_000_000))] } ?? []))
        let kinds = CoverageGap.Kind.allCases
        metric("installer_ledger_coverage_gaps", "Device groups and products without a usable installer by now + warn.",
               kinds.map { k in ([("kind", k.rawValue)], String(r.coverageGaps.gaps.filter { $0.kind == k }.count)) })
        metric("installer_ledger_coverage_gaps_critical",
               "Of those, the ones without a usable installer by now + critical (already, or their last one stops by then).",
               kinds.map { k in ([("kind", k.rawValue)], String(r.criticalGaps.filter { $0.kind == k }.count)) })
        metric("installer_ledger_coverage_gap_covered_until_timestamp_seconds",
               "When each coverage gap starts: its last usable installer's end (Unix time).",
               r.coverageGaps.gaps.map { g in
                   ([("account", g.account), ("kind", g.kind.rawValue), ("id", g.id)], String(g.coveredUntil.seconds))
               })
        // Per account and device group, and per account and product: bounded by the customers'
        // groups and licences, whatever the number of installers.
        for (subject, label, rows) in [("group", "group_uuid", r.byGroup), ("product", "product_id", r.byProduct)] {
            let labels = { (c: ReportCoverage) in [("account", c.account), (label, c.key)] }
            metric("installer_ledger_\(subject)_usable_installers", "Usable installers per account and \(subject == "group" ? "device group" : "product").",
                   rows.map { c in (labels(c), String(c.usable)) })
            metric("installer_ledger_\(subject)_next_expiry_timestamp_seconds",
                   "The soonest expiry among those usable installers (Unix time).",
                   rows.compactMap { c in c.nextExpiry.map { (labels(c), String($0.seconds)) } })
            metric("installer_ledger_\(subject)_covered_until_timestamp_seconds",
                   "Until when the \(subject == "group" ? "device group" : "product") has a usable installer without a new one (Unix time).",
                   rows.compactMap { c in c.coveredUntil.map { (labels(c), String($0.seconds)) } })
        }
        if perInstaller {
            let installers = (r.usable ?? r.critical + r.warning).filter { $0.expireTime != nil }
            metric("installer_ledger_installer_expiry_timestamp_seconds", "Expiry of each usable installer (Unix time).",
                   installers.map { i in
                       ([("account", i.account), ("uuid", i.uuid), ("group_uuid", i.groupUuid)], String(i.expireTime!.seconds))
                   })
        }
        return out
    }

    /// A label value escaped as the exposition format wants: `\\`, `\"`, `\n`.
    static func promEscaped(_ s: String) -> String {
        guard s.utf8.contains(where: { $0 == 0x5C || $0 == 0x22 || $0 == 0x0A || $0 == 0x0D }) else { return s }
        var out = ""
        for c in s {
            switch c {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            case "\r": out += "\\n"
            default: out.append(c)
            }
        }
        return out
    }
}
