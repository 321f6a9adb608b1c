import GRDB

/// The installers and products tables of the current state, straight from one SQL query to
/// CSV bytes: no intermediate installer values, no per-cell strings for numbers, flags and
/// timestamps. The bytes are the same as rendering `LedgerInstaller`s through
/// `InstallerColumns.csvRow` / `ExportColumns.writeProductRows` (tests compare the two);
/// the rebuilt states of `--as-of` take that slower path.
enum CurrentStateExport {
    /// How a selected column becomes a cell.
    enum Cell {
        case text, integer, timestamp, flag
        /// The OS word for the ESET id in this column.
        case osWord
        /// `[redacted]` whatever the column holds (the column is not even selected).
        case redacted
    }

    /// The installers table: the columns of `InstallerColumns.csvHeader`, in order. Lists
    /// are aggregated by SQLite in position order (the primary key order of the child
    /// tables); subscriptions once each, in order of first appearance.
    static func installers(includeDownloadUrls: Bool) -> [(String, Cell)] {
        [
            ("i.uuid", .text), ("i.display_name", .text), ("i.os_family_id", .osWord), ("i.os_family_id", .integer),
            ("i.language", .text), ("i.security_group_uuid", .text), ("i.group_display_name", .text),
            ("i.cloud_feedback", .flag), ("i.pua_detection", .flag), ("i.diagnostics", .flag),
            ("i.create_time", .timestamp), ("i.expire_time", .timestamp), ("i.api_usable", .flag), ("i.status", .text),
            ("i.status_reason", .text), ("i.status_changed_at", .timestamp), ("i.first_seen", .timestamp),
            ("i.last_seen", .timestamp),
            ("(SELECT group_concat(product_id, '; ') FROM activated_products WHERE installer_uuid = i.uuid)", .text),
            ("(SELECT group_concat(product_display_name, '; ') FROM activated_products WHERE installer_uuid = i.uuid)", .text),
            ("""
             (SELECT group_concat(subscription_uuid, '; ') FROM (SELECT subscription_uuid FROM activated_products \
             WHERE installer_uuid = i.uuid AND subscription_uuid <> '' GROUP BY subscription_uuid ORDER BY min(position)))
             """, .text),
            ("(SELECT group_concat(component_id, '; ') FROM installed_components WHERE installer_uuid = i.uuid)", .text),
            includeDownloadUrls ? ("i.download_url", .text) : ("NULL", .redacted),
        ]
    }

    /// The products table: `ExportColumns.products`, one row per installer × product.
    static let products: [(String, Cell)] = [
        ("i.uuid", .text), ("i.display_name", .text), ("i.os_family_id", .osWord), ("i.os_family_id", .integer),
        ("i.security_group_uuid", .text), ("i.group_display_name", .text), ("i.create_time", .timestamp),
        ("i.expire_time", .timestamp), ("i.status", .text), ("i.status_reason", .text), ("p.position", .integer),
        ("p.product_id", .integer), ("p.product_display_name", .text), ("p.pool_uuid", .text),
        ("p.pool_display_name", .text), ("p.subscription_uuid", .text), ("p.subscription_support_code", .text),
    ]

    /// The SELECT for a table, in the order `list` uses (creation time, then uuid).
    static func select(_ options: ExportOptions) -> (String, [Cell], StatementArguments) {
        let columns = options.table == .products ? products : installers(includeDownloadUrls: options.includeDownloadUrls)
        var sql = "SELECT " + columns.map(\.0).joined(separator: ", ") + " FROM installers i"
        if options.table == .products { sql += " JOIN activated_products p ON p.installer_uuid = i.uuid" }
        var conditions = [String]()
        var args = StatementArguments()
        if let since = options.since { conditions.append("i.create_time >= ?"); args += [since.nanoseconds] }
        if let until = options.until { conditions.append("i.create_time < ?"); args += [until.nanoseconds] }
        if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
        sql += " ORDER BY i.create_time, i.uuid" + (options.table == .products ? ", p.position" : "")
        return (sql, columns.map(\.1), args)
    }

    /// Streams the table's rows into the export.
    static func write(_ db: Database, _ options: ExportOptions, to out: inout ExportStream) throws {
        let (sql, cells, args) = select(options)
        let cursor = try Row.fetchCursor(db, sql: sql, arguments: args)
        while let row = try cursor.next() {
            for (k, cell) in cells.enumerated() {
                if k > 0 { out.writer.bytes.append(UInt8(ascii: ",")) }
                switch cell {
                case .text:
                    if let s = row[k] as String? { out.writer.writeField(s) }
                case .integer:
                    out.writer.writeInteger(row[k] as Int64)
                case .timestamp:
                    if let ns = row[k] as Int64? { Timestamp(nanoseconds: ns).appendRFC3339(to: &out.writer.bytes) }
                case .flag:
                    out.writer.bytes.append(contentsOf: (row[k] as Bool) ? "true".utf8 : "false".utf8)
                case .osWord:
                    out.writer.writeField(OperatingSystemFamily.word(forId: row[k]))
                case .redacted:
                    out.writer.bytes.append(contentsOf: Redaction.placeholder.utf8)
                }
            }
            out.writer.bytes.append(0x0D)
            out.writer.bytes.append(0x0A)
            out.rows += 1
            if out.writer.bytes.count >= out.chunkSize { try out.flush() }
        }
    }
}

extension CSVWriter {
    /// Appends an integer cell without making a string (negative ones go through the
    /// formula check like any cell starting with `-`).
    mutating func writeInteger(_ v: Int64) {
        guard v >= 0 else { return writeField(String(v)) }
        if v < 10 { return bytes.append(UInt8(truncatingIfNeeded: 0x30 &+ v)) }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        var x = v
        withUnsafeMutableBytes(of: &digits) { buffer in
            while x > 0 { buffer[19 - count] = UInt8(truncatingIfNeeded: 0x30 &+ x % 10); x /= 10; count += 1 }
            bytes.append(contentsOf: buffer[(20 - count)...])
        }
    }
}
