import GRDB

/// The store seam on SQLite: GRDB's connection inside one of its reads or writes, with
/// statements prepared once per transaction and stepped through SQLite's C API
/// (`BulkStatement`), so a query costs what it costs SQLite and no more.
final class SQLiteSQL: LedgerSQL {
    let db: Database
    private var statements = [String: BulkStatement]()
    private(set) var changesCount = 0

    init(_ db: Database) { self.db = db }

    var engine: LedgerEngine { .sqlite }

    func execute(sql: String, arguments: SQLArguments) throws {
        let statement = try cached(sql)
        bind(statement, arguments)
        try statement.run()
        changesCount = statement.changes
    }

    func cursor(sql: String, arguments: SQLArguments) throws -> any SQLCursor {
        // A statement of its own: two cursors of one SQL may be open at once.
        let statement = try BulkStatement(db, sql: sql)
        bind(statement, arguments)
        return SQLiteCursor(statement: statement)
    }

    /// SQLite steps through a result without holding it.
    func stream(sql: String, arguments: SQLArguments) throws -> any SQLCursor { try cursor(sql: sql, arguments: arguments) }

    func prepare(sql: String) throws -> any SQLStatement { try BulkStatement(db, sql: sql) }

    private func cached(_ sql: String) throws -> BulkStatement {
        if let made = statements[sql] { return made }
        let made = try BulkStatement(db, sql: sql)
        statements[sql] = made
        return made
    }

    private func bind(_ statement: BulkStatement, _ arguments: SQLArguments) {
        for (i, value) in arguments.values.enumerated() {
            let index = Int32(i + 1)
            switch value {
            case .null: statement.bind(index, .null)
            case .int(let v): statement.bind(index, .int(v))
            case .text(let v): statement.bind(index, .text(v))
            case .double(let v): statement.bind(index, v)
            }
        }
    }
}

/// Steps a `BulkStatement`; finalised with the cursor.
final class SQLiteCursor: SQLCursor {
    private let statement: BulkStatement
    private var done = false

    init(statement: BulkStatement) { self.statement = statement }

    func next() throws -> SQLRow? {
        guard !done else { return nil }
        if try statement.step() { return statement.row }
        done = true
        return nil
    }
}
