
/// A value bound to a `any SQLStatement` parameter.
enum BulkValue {
    case int(Int64)
    case text(String)
    case null

    init(_ value: Int64?) { self = value.map { .int($0) } ?? .null }
    init(_ value: Int) { self = .int(Int64(value)) }
    init(_ value: Bool) { self = .int(value ? 1 : 0) }
    init(_ value: String?) { self = value.map { .text($0) } ?? .null }
}

/// Inserts rows into one table many at a time: `append` buffers rows, `flush` writes them
/// by INSERTs of up to `maxRows` VALUES rows each. Nothing is written before `flush`, so the
/// caller orders the tables' flushes to suit their foreign keys.
///
/// Each execution of a statement costs SQLite a fixed amount on top of the rows (opening a
/// cursor on the table and on each of its indexes, starting and ending the statement). With
/// the system library (built without lookaside memory, so each of these is a `malloc`) that
/// measured about 5 µs, more than a small row itself: 100,000 event rows took 0.84 s one per
/// statement and 0.36 s 64 per statement.
final class BatchInsert {
    private let db: any LedgerSQL
    private let prefix: String
    private let rowPlaceholders: String
    private let columns: Int
    private let maxRows: Int
    private var values = [BulkValue]()
    /// Prepared statements by number of rows: `maxRows` for full batches, others for the rest.
    private var statements = [Int: any SQLStatement]()

    /// - Parameters:
    ///   - table: the table, as SQL.
    ///   - columns: its columns in the order `append` receives them.
    init(_ db: any LedgerSQL, table: String, columns: [String], maxRows: Int = 64) {
        self.db = db
        self.prefix = "INSERT OR FAIL INTO \(table) (\(columns.joined(separator: ", "))) VALUES "
        self.rowPlaceholders = "(" + Array(repeating: "?", count: columns.count).joined(separator: ", ") + ")"
        self.columns = columns.count
        self.maxRows = maxRows
        values.reserveCapacity(columns.count * maxRows)
    }

    /// Buffers one row (one value per column).
    func append(_ row: BulkValue...) {
        precondition(row.count == columns, "a row of \(row.count) values for \(columns) columns")
        values.append(contentsOf: row)
    }

    /// Writes the buffered rows, and forgets them even when a statement fails.
    /// - Throws: `DatabaseError` (e.g. a constraint violation). With `OR FAIL`, the rows of
    ///   the failing statement before the bad one stay written: the caller rolls back its
    ///   transaction, as every writer of the ledger does on an error. In exchange SQLite
    ///   keeps no statement journal when foreign keys are off (see `importAnswers`).
    func flush() throws {
        defer { values.removeAll(keepingCapacity: true) }
        var start = 0
        while start < values.count {
            let rows = min(maxRows, (values.count - start) / columns)
            let statement = try self.statement(rows: rows)
            for i in 0..<(rows * columns) { statement.bind(Int32(i + 1), values[start + i]) }
            start += rows * columns
            try statement.run()
        }
    }

    private func statement(rows: Int) throws -> any SQLStatement {
        if let made = statements[rows] { return made }
        let sql = prefix + Array(repeating: rowPlaceholders, count: rows).joined(separator: ", ")
        let made = try db.prepare(sql: sql)
        statements[rows] = made
        return made
    }
}
