import GRDB
import GRDBSQLite

/// A prepared statement bound and stepped through SQLite's C API, for the bulk paths that
/// run the same statement hundreds of thousands of times in one transaction (import, sync),
/// or thousands of one-row seeks in one read (the coverage questions' loose index scan).
///
/// GRDB's `Statement.execute(arguments:)` builds an argument array of existentials and does
/// per-execution bookkeeping (authorizer, observation) that costs more than the INSERT
/// itself at that scale. Only use it inside a GRDB transaction or read, on its `Database`,
/// for statements that do not change the schema.
final class BulkStatement: SQLStatement {
    fileprivate let handle: OpaquePointer
    private let connection: OpaquePointer
    private let sql: String

    /// - Throws: `DatabaseError` when the SQL does not compile.
    init(_ db: Database, sql: String) throws {
        guard let connection = db.sqliteConnection else {
            throw DatabaseError(resultCode: .SQLITE_MISUSE, message: "the database connection is closed", sql: sql)
        }
        var handle: OpaquePointer?
        var more = false
        let code = sql.withCString { text in
            var tail: UnsafePointer<CChar>?
            let code = sqlite3_prepare_v3(connection, text, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &handle, &tail)
            more = tail.map { !String(cString: $0).allSatisfy { $0.isWhitespace || $0 == ";" } } ?? false
            return code
        }
        guard code == SQLITE_OK, let handle else {
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(connection)), sql: sql)
        }
        // One statement only: a second one would be silently dropped.
        if more {
            sqlite3_finalize(handle)
            throw DatabaseError(resultCode: .SQLITE_MISUSE, message: "more than one statement", sql: sql)
        }
        self.handle = handle
        self.connection = connection
        self.sql = sql
    }

    deinit { sqlite3_finalize(handle) }

    // MARK: - Binding (1-based parameter indexes)

    func bind(_ index: Int32, _ value: Int64) { sqlite3_bind_int64(handle, index, value) }
    func bind(_ index: Int32, _ value: Int) { sqlite3_bind_int64(handle, index, Int64(value)) }
    func bind(_ index: Int32, _ value: Bool) { sqlite3_bind_int64(handle, index, value ? 1 : 0) }
    func bind(_ index: Int32, _ value: Double) { sqlite3_bind_double(handle, index, value) }

    func bind(_ index: Int32, _ value: Int64?) {
        if let value { sqlite3_bind_int64(handle, index, value) } else { sqlite3_bind_null(handle, index) }
    }

    func bind(_ index: Int32, _ value: String) {
        var value = value
        value.withUTF8 { utf8 in
            if let base = utf8.baseAddress, !utf8.isEmpty {
                UnsafeRawPointer(base).withMemoryRebound(to: CChar.self, capacity: utf8.count) {
                    _ = sqlite3_bind_text(handle, index, $0, Int32(utf8.count), bulkTransient)
                }
            } else {
                // A nil pointer would bind NULL; an empty string is a value.
                sqlite3_bind_text(handle, index, "", 0, bulkTransient)
            }
        }
    }

    func bind(_ index: Int32, _ value: String?) {
        if let value { bind(index, value) } else { sqlite3_bind_null(handle, index) }
    }

    func bind(_ index: Int32, _ value: BulkValue) {
        switch value {
        case .int(let v): sqlite3_bind_int64(handle, index, v)
        case .text(let v): bind(index, v)
        case .null: sqlite3_bind_null(handle, index)
        }
    }

    // MARK: - Running

    /// Runs a statement that returns no rows, then resets it for the next bindings.
    /// - Throws: `DatabaseError` (e.g. a constraint violation).
    func run() throws {
        defer { sqlite3_reset(handle) }
        let code = sqlite3_step(handle)
        guard code == SQLITE_DONE || code == SQLITE_ROW else { throw error(code) }
    }

    /// Runs a query and hands each row to `body`.
    /// - Throws: `DatabaseError`, or what `body` throws.
    func forEachRow(_ body: (SQLRow) throws -> Void) throws {
        defer { sqlite3_reset(handle) }
        let row = SQLRow(storage: .live(BulkRow(statement: self)))
        while try step() { try body(row) }
    }

    /// Steps once: true with a row to read, false at the end (then reset).
    func step() throws -> Bool {
        let code = sqlite3_step(handle)
        if code == SQLITE_ROW { return true }
        sqlite3_reset(handle)
        guard code == SQLITE_DONE else { throw error(code) }
        return false
    }

    /// The current row (valid until the next step).
    var row: SQLRow { SQLRow(storage: .live(BulkRow(statement: self))) }

    /// Rows changed by the connection's last statement.
    var changes: Int { Int(sqlite3_changes(connection)) }

    private func error(_ code: Int32) -> DatabaseError {
        DatabaseError(resultCode: ResultCode(rawValue: sqlite3_extended_errcode(connection)),
                      message: String(cString: sqlite3_errmsg(connection)), sql: sql)
    }
}

/// The current row of a `BulkStatement` (0-based column indexes).
struct BulkRow: SQLLiveRow {
    /// Held, so that a row read after its cursor is released still has its statement.
    fileprivate let statement: BulkStatement
    private var handle: OpaquePointer { statement.handle }

    var columnCount: Int { Int(sqlite3_column_count(handle)) }
    func name(_ i: Int) -> String { String(cString: sqlite3_column_name(handle, Int32(i))) }
    func int64(_ i: Int) -> Int64 { sqlite3_column_int64(handle, Int32(i)) }
    func isNull(_ i: Int) -> Bool { sqlite3_column_type(handle, Int32(i)) == SQLITE_NULL }
    func text(_ i: Int) -> String {
        let column = Int32(i)
        guard let bytes = sqlite3_column_text(handle, column) else { return "" }
        return String(decoding: UnsafeBufferPointer(start: bytes, count: Int(sqlite3_column_bytes(handle, column))), as: UTF8.self)
    }
    func value(_ i: Int) -> SQLValue {
        switch sqlite3_column_type(handle, Int32(i)) {
        case SQLITE_NULL: .null
        case SQLITE_INTEGER: .int(int64(i))
        case SQLITE_FLOAT: .double(sqlite3_column_double(handle, Int32(i)))
        default: .text(text(i))
        }
    }
}

/// SQLite copies bound text before the call returns (`SQLITE_TRANSIENT`).
private let bulkTransient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)
