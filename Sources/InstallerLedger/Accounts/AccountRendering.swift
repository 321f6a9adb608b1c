/// How `account list` and `account show` print accounts. Never a password: only where it
/// comes from.
public enum AccountRendering {
    /// The CSV columns, in order. Documented in README.md; keep stable.
    public static let csvHeader = [
        "name", "endpoint", "username", "password_source", "usable", "unusable", "deleted", "pending",
        "last_successful_sync", "archived_at",
    ]

    public static func csvRow(_ s: AccountSummary) -> [String] {
        let a = s.account
        return [a.name, a.endpoint?.description ?? "", a.username ?? "", a.passwordSource?.description ?? "",
                String(s.usable), String(s.unusable), String(s.deleted), String(s.pending),
                s.lastSuccessfulSync?.rfc3339 ?? "", a.archivedAt?.rfc3339 ?? ""]
    }

    public static func jsonObject(_ s: AccountSummary) -> JSONObject {
        let a = s.account
        var o = JSONObject()
        o.append("name", .string(a.name))
        o.append("region", .optionalString(a.endpoint?.region))
        o.append("apiUrl", .optionalString(a.endpoint?.apiURL))
        o.append("username", .optionalString(a.username))
        o.append("passwordEnv", .optionalString(a.passwordSource?.variable))
        o.append("passwordFile", .optionalString(a.passwordSource?.path))
        o.append("installers", .object(JSONObject(
            keys: ["usable", "unusable", "deleted"],
            values: [.int(Int64(s.usable)), .int(Int64(s.unusable)), .int(Int64(s.deleted))])))
        o.append("pendingCreations", .int(Int64(s.pending)))
        o.append("lastSuccessfulSync", .optionalString(s.lastSuccessfulSync?.rfc3339))
        o.append("createdAt", .string(a.createdAt.rfc3339))
        o.append("archivedAt", .optionalString(a.archivedAt?.rfc3339))
        return o
    }

    /// The whole output of `account list` in a format.
    public static func list(_ summaries: [AccountSummary], format: OutputFormat) -> String {
        switch format {
        case .table:
            guard !summaries.isEmpty else {
                return "(no accounts yet: the first API run makes 'default' from ESET_CONNECT_USERNAME, or use account add)\n"
            }
            var out = fit("NAME", 17) + fit("REGION/URL", 27) + fit("USERNAME", 27) + fit("USABLE", 7) + fit("UNUSABLE", 9)
                + fit("DELETED", 8) + fit("PENDING", 8) + "LAST SYNC\n"
            for s in summaries {
                let a = s.account
                out += fit(a.name + (a.archivedAt == nil ? "" : " (archived)"), 17) + fit(a.endpoint?.description ?? "-", 27)
                    + fit(a.username ?? "-", 27) + fit(String(s.usable), 7) + fit(String(s.unusable), 9)
                    + fit(String(s.deleted), 8) + fit(String(s.pending), 8) + (s.lastSuccessfulSync?.rfc3339 ?? "never") + "\n"
            }
            return out + "\(summaries.count) account\(summaries.count == 1 ? "" : "s")\n"
        case .json, .ndjson:
            var w = JSONWriter()
            for (n, s) in summaries.enumerated() {
                if format == .json { w.bytes.append(contentsOf: (n == 0 ? "\n  " : ",\n  ").utf8) }
                w.write(.object(jsonObject(s)))
                if format == .ndjson { w.bytes.append(0x0A) }
            }
            if format == .json { return "[" + w.string + (summaries.isEmpty ? "]\n" : "\n]\n") }
            return w.string
        case .csv:
            var w = CSVWriter()
            w.writeRow(csvHeader)
            for s in summaries { w.writeRow(csvRow(s)) }
            return w.string
        }
    }

    /// `account show`: every field on its own line.
    public static func detail(_ s: AccountSummary) -> String {
        let a = s.account
        var lines = [
            ("name", a.name),
            ("region", a.endpoint?.region ?? "-"),
            ("api url", a.endpoint?.apiURL ?? "-"),
            ("username", a.username ?? "- (the next API run fills it in)"),
            ("password from", a.passwordSource?.description ?? "- (the next API run fills it in)"),
            ("installers", "\(s.installers): \(s.usable) usable, \(s.unusable) unusable, \(s.deleted) deleted"),
            ("pending creations", String(s.pending)),
            ("last sync", s.lastSuccessfulSync?.rfc3339 ?? "never"),
            ("created", a.createdAt.rfc3339),
        ]
        if let archived = a.archivedAt { lines.append(("archived", archived.rfc3339)) }
        return lines.map { fit($0.0 + ":", 19) + $0.1 }.joined(separator: "\n") + "\n"
    }
}
