import Foundation

/// The store seam: one connection of the ledger's database inside a transaction (or a read
/// snapshot), whichever engine holds it. The features' queries are written against this
/// protocol; `SQLiteSQL` (GRDB's connection, statements stepped through SQLite's C API) and
/// `PostgresSQL` (postgres-nio) are its two implementations.
///
/// SQL is written once, in the subset both engines share: `?` placeholders (or `?N`),
/// `x IS ?`, `INSERT OR FAIL INTO`, `INDEXED BY`; `PostgresSQL` translates those to
/// PostgreSQL's spelling. Where the engines differ in more than spelling (JSON paths, case
/// folding), the query asks `engine` for the expression.
protocol LedgerSQL: AnyObject {
    /// Which engine runs the SQL.
    var engine: LedgerEngine { get }
    /// Runs one statement that returns no rows.
    /// - Throws: the engine's database error (GRDB `DatabaseError`, `PostgresLedgerError`).
    func execute(sql: String, arguments: SQLArguments) throws
    /// Rows changed by the last `execute` (or statement run).
    var changesCount: Int { get }
    /// Runs a query and returns a cursor over its rows; a row is valid until the next step.
    /// PostgreSQL's holds the whole result: use it for results a query bounds.
    func cursor(sql: String, arguments: SQLArguments) throws -> any SQLCursor
    /// A cursor over a result of any size (an export, a scan of every installer) that holds
    /// a batch of rows at a time: SQLite's cursor, or a PostgreSQL server-side cursor.
    func stream(sql: String, arguments: SQLArguments) throws -> any SQLCursor
    /// A statement to bind and run many times in this transaction (the bulk paths).
    func prepare(sql: String) throws -> any SQLStatement
}

/// The engine holding a ledger.
public enum LedgerEngine: String, Sendable {
    case sqlite
    case postgresql

    /// `column`'s JSON text at `path` (object keys), as text; NULL when absent.
    func jsonText(_ column: String, _ path: String...) -> String {
        switch self {
        case .sqlite: "json_extract(\(column), '$.\(path.joined(separator: "."))')"
        case .postgresql: "(\(column)::jsonb #>> '{\(path.joined(separator: ","))}')"
        }
    }

    /// `column`'s JSON boolean at `key` as 1 or 0 (absent: 0).
    func jsonFlag(_ column: String, _ key: String) -> String {
        switch self {
        case .sqlite: "coalesce(json_extract(\(column), '$.\(key)'), 0)"
        case .postgresql: "(CASE WHEN (\(column)::jsonb ->> '\(key)') = 'true' THEN 1 ELSE 0 END)"
        }
    }

    /// Whether `column`'s JSON object has `key`.
    func jsonHas(_ column: String, _ key: String) -> String {
        switch self {
        case .sqlite: "json_type(\(column), '$.\(key)') IS NOT NULL"
        case .postgresql: "jsonb_exists(\(column)::jsonb, '\(key)')"
        }
    }

    /// RFC 3339 text (as the ledger writes it, UTC with up to nine fraction digits) to
    /// nanoseconds since 1970; NULL for NULL.
    func rfc3339Nanoseconds(_ text: String) -> String {
        switch self {
        case .sqlite: "ledger_rfc3339_ns(\(text))"
        case .postgresql: """
            (floor(extract(epoch FROM (\(text))::timestamptz))::bigint * 1000000000
             + coalesce(rpad(substring(\(text) FROM '\\.([0-9]{1,9})'), 9, '0')::bigint, 0))
            """
        }
    }

    /// `column` folded as SQLite's NOCASE folds (ASCII letters only), for ordering.
    func asciiFolded(_ column: String) -> String {
        switch self {
        case .sqlite: "\(column) COLLATE NOCASE"
        case .postgresql: "translate(\(column), 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')"
        }
    }
}

/// A forward-only cursor over a query's rows.
protocol SQLCursor: AnyObject {
    /// The next row, valid until the following call; nil at the end.
    func next() throws -> SQLRow?
}

/// A prepared statement bound by 1-based parameter index and run many times.
protocol SQLStatement: AnyObject {
    func bind(_ index: Int32, _ value: BulkValue)
    /// Runs a statement that returns no rows; the bindings stay for the next run.
    func run() throws
    /// Runs a query and hands each row to `body`.
    func forEachRow(_ body: (SQLRow) throws -> Void) throws
}

extension SQLStatement {
    func bind(_ index: Int32, _ value: Int64) { bind(index, .int(value)) }
    func bind(_ index: Int32, _ value: Int) { bind(index, .int(Int64(value))) }
    func bind(_ index: Int32, _ value: Bool) { bind(index, .int(value ? 1 : 0)) }
    func bind(_ index: Int32, _ value: Int64?) { bind(index, BulkValue(value)) }
    func bind(_ index: Int32, _ value: String) { bind(index, .text(value)) }
    func bind(_ index: Int32, _ value: String?) { bind(index, BulkValue(value)) }
}

// MARK: - Values

/// A value bound to, or read from, SQL.
enum SQLValue: Sendable, Equatable {
    case null
    case int(Int64)
    case double(Double)
    case text(String)
}

/// What can be bound to a placeholder.
protocol SQLBindable {
    var sqlValue: SQLValue { get }
}

extension String: SQLBindable { var sqlValue: SQLValue { .text(self) } }
extension Substring: SQLBindable { var sqlValue: SQLValue { .text(String(self)) } }
extension Int64: SQLBindable { var sqlValue: SQLValue { .int(self) } }
extension Int: SQLBindable { var sqlValue: SQLValue { .int(Int64(self)) } }
extension Int32: SQLBindable { var sqlValue: SQLValue { .int(Int64(self)) } }
extension Bool: SQLBindable { var sqlValue: SQLValue { .int(self ? 1 : 0) } }
extension Double: SQLBindable { var sqlValue: SQLValue { .double(self) } }
extension SQLValue: SQLBindable { var sqlValue: SQLValue { self } }

/// A statement's arguments, in placeholder order.
struct SQLArguments: ExpressibleByArrayLiteral {
    var values: [SQLValue]

    init() { values = [] }
    init(arrayLiteral elements: (any SQLBindable)?...) { values = elements.map { $0?.sqlValue ?? .null } }
    init<S: Sequence>(_ sequence: S) where S.Element: SQLBindable { values = sequence.map(\.sqlValue) }
    init(values: [SQLValue]) { self.values = values }

    static func += (lhs: inout SQLArguments, rhs: SQLArguments) { lhs.values += rhs.values }
    static func + (lhs: SQLArguments, rhs: SQLArguments) -> SQLArguments { SQLArguments(values: lhs.values + rhs.values) }
}

// MARK: - Rows

/// One row of a query: a live view of the engine's current row (valid until its cursor
/// steps), or values copied out of it (`fetchAll`).
struct SQLRow {
    enum Storage {
        case live(any SQLLiveRow)
        case values([SQLValue], names: [String])
    }
    let storage: Storage

    var count: Int {
        switch storage {
        case .live(let row): row.columnCount
        case .values(let values, _): values.count
        }
    }

    func value(_ i: Int) -> SQLValue {
        switch storage {
        case .live(let row): row.value(i)
        case .values(let values, _): values[i]
        }
    }

    func isNull(_ i: Int) -> Bool {
        switch storage {
        case .live(let row): row.isNull(i)
        case .values(let values, _): values[i] == .null
        }
    }

    func int64(_ i: Int) -> Int64 {
        switch storage {
        case .live(let row): return row.int64(i)
        case .values(let values, _):
            switch values[i] {
            case .int(let v): return v
            case .double(let v): return Int64(v)
            case .text(let v): return Int64(v) ?? 0
            case .null: return 0
            }
        }
    }

    func text(_ i: Int) -> String {
        switch storage {
        case .live(let row): return row.text(i)
        case .values(let values, _):
            switch values[i] {
            case .text(let v): return v
            case .int(let v): return String(v)
            case .double(let v): return String(v)
            case .null: return ""
            }
        }
    }

    func double(_ i: Int) -> Double {
        switch value(i) {
        case .double(let v): v
        case .int(let v): Double(v)
        case .text(let v): Double(v) ?? 0
        case .null: 0
        }
    }

    func name(_ i: Int) -> String {
        switch storage {
        case .live(let row): row.name(i)
        case .values(_, let names): names[i]
        }
    }

    /// The row's values, copied, to keep beyond the cursor's next step.
    func copied() -> SQLRow {
        if case .values = storage { return self }
        return SQLRow(storage: .values((0..<count).map(value), names: (0..<count).map(name)))
    }

    subscript<T: SQLDecodable>(_ i: Int) -> T { T.decode(self, i) }

    subscript<T: SQLDecodable>(_ name: String) -> T {
        guard let i = (0..<count).first(where: { self.name($0) == name }) else {
            preconditionFailure("no column \(name) in the row")
        }
        return T.decode(self, i)
    }

    /// The row as text, for content dumps: `[name:value ...]`.
    var description: String {
        "[" + (0..<count).map { i in
            let v: String
            switch value(i) {
            case .null: v = "NULL"
            case .int(let n): v = String(n)
            case .double(let d): v = String(d)
            case .text(let t): v = "\"\(t)\""
            }
            return "\(name(i)):\(v)"
        }.joined(separator: " ") + "]"
    }
}

/// An engine's current row, read in place.
protocol SQLLiveRow {
    var columnCount: Int { get }
    func name(_ i: Int) -> String
    func isNull(_ i: Int) -> Bool
    func int64(_ i: Int) -> Int64
    func text(_ i: Int) -> String
    func value(_ i: Int) -> SQLValue
}

/// What a row's column decodes to (`row[0]` as in GRDB).
protocol SQLDecodable {
    static func decode(_ row: SQLRow, _ i: Int) -> Self
}

extension String: SQLDecodable { static func decode(_ row: SQLRow, _ i: Int) -> String { row.text(i) } }
extension Int64: SQLDecodable { static func decode(_ row: SQLRow, _ i: Int) -> Int64 { row.int64(i) } }
extension Int: SQLDecodable { static func decode(_ row: SQLRow, _ i: Int) -> Int { Int(row.int64(i)) } }
extension Bool: SQLDecodable { static func decode(_ row: SQLRow, _ i: Int) -> Bool { row.int64(i) != 0 } }
extension Double: SQLDecodable { static func decode(_ row: SQLRow, _ i: Int) -> Double { row.double(i) } }
extension SQLValue: SQLDecodable { static func decode(_ row: SQLRow, _ i: Int) -> SQLValue { row.value(i) } }
extension Optional: SQLDecodable where Wrapped: SQLDecodable {
    static func decode(_ row: SQLRow, _ i: Int) -> Wrapped? { row.isNull(i) ? nil : Wrapped.decode(row, i) }
}

// MARK: - Fetching (GRDB's spelling, so a query reads the same on either engine)

extension LedgerSQL {
    func execute(sql: String) throws { try execute(sql: sql, arguments: []) }

    func cursor(sql: String) throws -> any SQLCursor { try cursor(sql: sql, arguments: []) }
}

extension SQLRow {
    static func fetchCursor(_ db: any LedgerSQL, sql: String, arguments: SQLArguments = []) throws -> any SQLCursor {
        try db.cursor(sql: sql, arguments: arguments)
    }

    /// A cursor over a result of any size (``LedgerSQL/stream(sql:arguments:)``).
    static func fetchStream(_ db: any LedgerSQL, sql: String, arguments: SQLArguments = []) throws -> any SQLCursor {
        try db.stream(sql: sql, arguments: arguments)
    }

    static func fetchAll(_ db: any LedgerSQL, sql: String, arguments: SQLArguments = []) throws -> [SQLRow] {
        let cursor = try db.cursor(sql: sql, arguments: arguments)
        var rows = [SQLRow]()
        while let row = try cursor.next() { rows.append(row.copied()) }
        return rows
    }

    static func fetchOne(_ db: any LedgerSQL, sql: String, arguments: SQLArguments = []) throws -> SQLRow? {
        try db.cursor(sql: sql, arguments: arguments).next()?.copied()
    }
}

extension SQLDecodable {
    /// The first column of every row.
    static func fetchAll(_ db: any LedgerSQL, sql: String, arguments: SQLArguments = []) throws -> [Self] {
        let cursor = try db.cursor(sql: sql, arguments: arguments)
        var values = [Self]()
        while let row = try cursor.next() { values.append(decode(row, 0)) }
        return values
    }

    /// The first column of the first row; nil when there is no row or it is NULL.
    static func fetchOne(_ db: any LedgerSQL, sql: String, arguments: SQLArguments = []) throws -> Self? {
        guard let row = try db.cursor(sql: sql, arguments: arguments).next(), !row.isNull(0) else { return nil }
        return decode(row, 0)
    }

    /// The first column of each row, streamed.
    static func forEach(_ db: any LedgerSQL, sql: String, arguments: SQLArguments = [], _ body: (Self) throws -> Void) throws {
        let cursor = try db.stream(sql: sql, arguments: arguments)
        while let row = try cursor.next() { try body(decode(row, 0)) }
    }
}

/// `?, ?, ?` for `count` placeholders.
func sqlPlaceholders(count: Int) -> String {
    Array(repeating: "?", count: count).joined(separator: ", ")
}
