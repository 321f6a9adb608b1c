
/// The installers and products tables of the current state, straight from SQL to CSV
/// bytes: no intermediate installer values, no per-cell strings for numbers, flags and
/// timestamps. The bytes are the same as rendering `LedgerInstaller`s through
/// `InstallerColumns.csvRow` / `ExportColumns.writeProductRows` (a test compares the two;
/// the rebuilt states of `--as-of` take that slower path).
///
/// Products and components are keyed by installer uuid, so looking them up per installer is
/// one random b-tree descent each (measured ~12 µs here at a million installers: most of an
/// export's time). Instead the three tables are read in uuid order and merged: installers
/// sorted by SQLite, products and components by scanning their primary keys.
enum CurrentStateExport {
    /// How a selected installer column becomes a cell.
    enum Cell {
        case text, integer, timestamp, flag
        /// The OS word for the ESET id in this column.
        case osWord
    }

    /// The installer columns each table needs, before the product and component cells.
    static let installerColumns: [(String, Cell)] = [
        ("uuid", .text), ("display_name", .text), ("os_family_id", .osWord), ("os_family_id", .integer),
        ("language", .text), ("security_group_uuid", .text), ("group_display_name", .text),
        ("cloud_feedback", .flag), ("pua_detection", .flag), ("diagnostics", .flag),
        ("create_time", .timestamp), ("expire_time", .timestamp), ("api_usable", .flag), ("status", .text),
        ("status_reason", .text), ("status_changed_at", .timestamp), ("first_seen", .timestamp),
        ("last_seen", .timestamp), ("download_url", .text), ("account_id", .integer),
    ]

    /// Which of `installerColumns` start a `products` row, in `ExportColumns.products` order.
    static let productKeyColumns = [0, 1, 2, 3, 5, 6, 10, 11, 13, 14]

    /// One activated product as the merge reads it.
    struct Product {
        var installerUuid: String
        var position: Int64
        var productId: Int64
        var productDisplayName: String
        var poolUuid: String
        var poolDisplayName: String
        var subscriptionUuid: String
        var subscriptionSupportCode: String
    }

    /// Streams the table's rows into the export, in uuid order.
    static func write(_ db: any LedgerSQL, _ options: ExportOptions, to out: inout ExportStream) throws {
        var sql = "SELECT " + installerColumns.map(\.0).joined(separator: ", ") + " FROM installers"
        var conditions = [String]()
        var args = SQLArguments()
        if let since = options.since { conditions.append("create_time >= ?"); args += [since.nanoseconds] }
        if let until = options.until { conditions.append("create_time < ?"); args += [until.nanoseconds] }
        if let scoped = options.scope.sqlCondition() { conditions.append(scoped) }
        if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
        // Sorting the rows is cheaper than visiting them through the uuid index: that reads
        // a random table page per installer (measured 7.0 s against 5.6 s of CPU at 1M).
        sql = sql.replacingOccurrences(of: " FROM installers", with: " FROM installers NOT INDEXED") + " ORDER BY uuid"
        let installers = try SQLRow.fetchStream(db, sql: sql, arguments: args)
        var products = try MergedChildren(db, sql: """
            SELECT installer_uuid, position, product_id, product_display_name, pool_uuid, pool_display_name,
              subscription_uuid, subscription_support_code FROM activated_products ORDER BY installer_uuid, position
            """) { row in
            Product(installerUuid: row[0], position: row[1], productId: row[2], productDisplayName: row[3],
                    poolUuid: row[4], poolDisplayName: row[5], subscriptionUuid: row[6], subscriptionSupportCode: row[7])
        } uuid: { $0.installerUuid }
        var components = options.table == .products ? nil : try MergedChildren(db, sql: """
            SELECT installer_uuid, component_id FROM installed_components ORDER BY installer_uuid, position
            """) { row in (row[0] as String, row[1] as Int64) } uuid: { $0.0 }
        var ownProducts = [Product]()
        var ownComponents = [(String, Int64)]()
        var subscriptions = [String]()
        let accountNames = try AccountQueries.accountNames(db)
        func writeAccount(_ row: SQLRow) {
            out.writer.bytes.append(UInt8(ascii: ","))
            if let id = row[19] as Int64?, let name = accountNames[id] { out.writer.writeField(name) }
        }
        while let row = try installers.next() {
            let uuid: String = row[0]
            try products.take(uuid, into: &ownProducts)
            if options.table == .products {
                for p in ownProducts {
                    for (n, k) in productKeyColumns.enumerated() { write(row, k, separated: n > 0, to: &out.writer) }
                    out.writer.bytes.append(UInt8(ascii: ","))
                    out.writer.writeInteger(p.position)
                    out.writer.bytes.append(UInt8(ascii: ","))
                    out.writer.writeInteger(p.productId)
                    for text in [p.productDisplayName, p.poolUuid, p.poolDisplayName, p.subscriptionUuid, p.subscriptionSupportCode] {
                        out.writer.bytes.append(UInt8(ascii: ","))
                        out.writer.writeField(text)
                    }
                    writeAccount(row)
                    out.writer.endRow()
                    out.rows += 1
                }
            } else {
                try components?.take(uuid, into: &ownComponents)
                for k in 0..<18 { write(row, k, separated: k > 0, to: &out.writer) }
                out.writer.bytes.append(UInt8(ascii: ","))
                out.writer.writeIntegerList(ownProducts.map(\.productId))
                out.writer.bytes.append(UInt8(ascii: ","))
                out.writer.writeField(ownProducts.map(\.productDisplayName).joined(separator: "; "))
                out.writer.bytes.append(UInt8(ascii: ","))
                subscriptions.removeAll(keepingCapacity: true)
                for p in ownProducts where !p.subscriptionUuid.isEmpty && !subscriptions.contains(p.subscriptionUuid) {
                    subscriptions.append(p.subscriptionUuid)
                }
                out.writer.writeField(subscriptions.joined(separator: "; "))
                out.writer.bytes.append(UInt8(ascii: ","))
                out.writer.writeIntegerList(ownComponents.map(\.1))
                out.writer.bytes.append(UInt8(ascii: ","))
                if options.includeDownloadUrls {
                    out.writer.writeField(row[18] as String)
                } else {
                    out.writer.bytes.append(contentsOf: Redaction.placeholder.utf8)
                }
                writeAccount(row)
                out.writer.endRow()
                out.rows += 1
            }
            if out.writer.bytes.count >= out.chunkSize { try out.flush() }
        }
    }

    /// Writes one installer column as a cell.
    @inline(__always)
    static func write(_ row: SQLRow, _ k: Int, separated: Bool, to w: inout CSVWriter) {
        if separated { w.bytes.append(UInt8(ascii: ",")) }
        switch installerColumns[k].1 {
        case .text:
            if let s = row[k] as String? { w.writeField(s) }
        case .integer:
            w.writeInteger(row[k] as Int64)
        case .timestamp:
            if let ns = row[k] as Int64? { Timestamp(nanoseconds: ns).appendRFC3339(to: &w.bytes) }
        case .flag:
            w.bytes.append(contentsOf: (row[k] as Bool) ? "true".utf8 : "false".utf8)
        case .osWord:
            w.writeField(OperatingSystemFamily.word(forId: row[k]))
        }
    }
}

/// A child table read in installer-uuid order alongside the installers, also in uuid order.
struct MergedChildren<Child> {
    let cursor: any SQLCursor
    let decode: (SQLRow) -> Child
    let uuid: (Child) -> String
    /// The first child not yet handed out.
    var next: Child?

    init(_ db: any LedgerSQL, sql: String, decode: @escaping (SQLRow) -> Child, uuid: @escaping (Child) -> String) throws {
        cursor = try SQLRow.fetchStream(db, sql: sql)
        self.decode = decode
        self.uuid = uuid
        next = try cursor.next().map(decode)
    }

    /// Replaces `children` with those of `installer`, skipping those of installers before it
    /// (filtered out, or orphans). Uuids compare as SQLite's BINARY collation does.
    mutating func take(_ installer: String, into children: inout [Child]) throws {
        children.removeAll(keepingCapacity: true)
        while let child = next {
            let owner = uuid(child)
            if owner == installer {
                children.append(child)
            } else if !owner.utf8.lexicographicallyPrecedes(installer.utf8) {
                return
            }
            next = try cursor.next().map(decode)
        }
    }
}

extension CSVWriter {
    /// Ends a record.
    mutating func endRow() {
        bytes.append(0x0D)
        bytes.append(0x0A)
    }

    /// Appends integers joined with `; ` as one cell.
    mutating func writeIntegerList(_ values: [Int64]) {
        guard values.allSatisfy({ $0 >= 0 }) else {
            return writeField(values.map(String.init).joined(separator: "; "))
        }
        for (n, v) in values.enumerated() {
            if n > 0 { bytes.append(contentsOf: "; ".utf8) }
            writeInteger(v)
        }
    }

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
