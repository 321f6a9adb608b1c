import Foundation
import Logging
import NIOCore
import PostgresNIO
import Synchronization

/// The store seam on PostgreSQL: one connection, used by one transaction at a time. The
/// features' queries are synchronous (they run inside `Ledger.read` and `Ledger.write`), so
/// each statement waits for postgres-nio's future on the calling thread; the connection's
/// work happens on its event loop, never on the caller's.
final class PostgresSQL: LedgerSQL {
    let ledger: PostgresLedger
    private(set) var changesCount = 0
    private var streams = 0

    init(_ ledger: PostgresLedger) { self.ledger = ledger }

    var engine: LedgerEngine { .postgresql }

    func execute(sql: String, arguments: SQLArguments) throws {
        changesCount = try ledger.queryBlocking(PostgresDialect.translate(sql, arguments.values), arguments.values).metadata.rows ?? 0
    }

    func cursor(sql: String, arguments: SQLArguments) throws -> any SQLCursor {
        PostgresCursor(try ledger.queryBlocking(PostgresDialect.translate(sql, arguments.values), arguments.values).rows)
    }

    /// A server-side cursor, declared in the transaction every statement runs in, read
    /// ``PostgresStream/batch`` rows at a time.
    func stream(sql: String, arguments: SQLArguments) throws -> any SQLCursor {
        streams += 1
        let name = "ledger_stream_\(streams)"
        _ = try ledger.queryBlocking("DECLARE \(name) NO SCROLL CURSOR FOR " + PostgresDialect.translate(sql, arguments.values),
                                     arguments.values)
        return PostgresStream(ledger, name: name)
    }

    func prepare(sql: String) throws -> any SQLStatement { PostgresStatement(self, sql: sql) }
}

/// The rows of a server-side cursor, a batch at a time (an export of a million installers
/// holds 2,000 of them, not a million); closed once read to its end, else with its transaction.
final class PostgresStream: SQLCursor {
    static let batch = 2000
    private let ledger: PostgresLedger
    private let name: String
    private var rows = [PostgresRow]()
    private var position = 0
    private var finished = false

    init(_ ledger: PostgresLedger, name: String) {
        self.ledger = ledger
        self.name = name
    }

    func next() throws -> SQLRow? {
        if position == rows.count {
            guard !finished else { return nil }
            rows = Array(try ledger.queryBlocking("FETCH FORWARD \(Self.batch) FROM \(name)", []).rows)
            position = 0
            if rows.count < Self.batch {
                finished = true
                _ = try ledger.queryBlocking("CLOSE \(name)", [])
            }
            guard !rows.isEmpty else { return nil }
        }
        defer { position += 1 }
        return SQLRow(storage: .live(PostgresLiveRow(row: PostgresRandomAccessRow(rows[position]))))
    }
}

/// A statement of the bulk paths: its bindings kept between runs, as SQLite's are.
final class PostgresStatement: SQLStatement {
    private let sql: PostgresSQL
    private let text: String
    private var values = [SQLValue]()

    init(_ sql: PostgresSQL, sql text: String) {
        self.sql = sql
        self.text = text
    }

    func bind(_ index: Int32, _ value: BulkValue) {
        let i = Int(index) - 1
        if values.count <= i { values += Array(repeating: .null, count: i + 1 - values.count) }
        switch value {
        case .int(let v): values[i] = .int(v)
        case .text(let v): values[i] = .text(v)
        case .null: values[i] = .null
        }
    }

    func run() throws { try sql.execute(sql: text, arguments: SQLArguments(values: values)) }

    func forEachRow(_ body: (SQLRow) throws -> Void) throws {
        let cursor = try sql.cursor(sql: text, arguments: SQLArguments(values: values))
        while let row = try cursor.next() { try body(row) }
    }
}

/// The rows of one query, decoded cell by cell as they are read.
final class PostgresCursor: SQLCursor {
    private let rows: [PostgresRow]
    private var position = 0

    init(_ rows: [PostgresRow]) { self.rows = rows }

    func next() throws -> SQLRow? {
        guard position < rows.count else { return nil }
        defer { position += 1 }
        return SQLRow(storage: .live(PostgresLiveRow(row: PostgresRandomAccessRow(rows[position]))))
    }
}

/// A PostgreSQL row read as the ledger's values: integers of any width and booleans as
/// integers, numerics as integers or doubles, everything else as text.
struct PostgresLiveRow: SQLLiveRow {
    let row: PostgresRandomAccessRow

    var columnCount: Int { row.count }
    func name(_ i: Int) -> String { row[i].columnName }
    func isNull(_ i: Int) -> Bool { row[i].bytes == nil }
    func int64(_ i: Int) -> Int64 {
        if case .int(let v) = value(i) { return v }
        return SQLRow(storage: .values([value(i)], names: [""])).int64(0)
    }
    func text(_ i: Int) -> String {
        if case .text(let v) = value(i) { return v }
        return SQLRow(storage: .values([value(i)], names: [""])).text(0)
    }

    func value(_ i: Int) -> SQLValue {
        let cell = row[i]
        guard cell.bytes != nil else { return .null }
        switch cell.dataType {
        case .int2, .int4, .int8: return (try? cell.decode(Int64.self)).map(SQLValue.int) ?? .null
        case .bool: return (try? cell.decode(Bool.self)).map { .int($0 ? 1 : 0) } ?? .null
        case .float4, .float8: return (try? cell.decode(Double.self)).map(SQLValue.double) ?? .null
        case .numeric:
            guard let d = try? cell.decode(Decimal.self) else { return .null }
            if d == d.rounded(), let n = Int64(exactly: NSDecimalNumber(decimal: d).int64Value), Decimal(n) == d { return .int(n) }
            return .double(NSDecimalNumber(decimal: d).doubleValue)
        default: return (try? cell.decode(String.self)).map(SQLValue.text) ?? .null
        }
    }
}

private extension Decimal {
    func rounded() -> Decimal {
        var value = self, result = Decimal()
        NSDecimalRound(&result, &value, 0, .plain)
        return result
    }
}

// MARK: - The dialect

/// SQL written for both engines, in PostgreSQL's spelling: `?` and `?N` become `$N`,
/// `x IS ?` becomes `x = $N` when the value bound is not NULL and `x IS NOT DISTINCT FROM $N`
/// when it is (PostgreSQL's IS takes only NULL, TRUE or FALSE, and no index serves IS NOT
/// DISTINCT FROM: a seek on `account_id IS ?` read the whole table), `INSERT OR
/// FAIL|ROLLBACK|ABORT INTO` becomes `INSERT INTO` (and `UPDATE OR …` `UPDATE`) (PostgreSQL
/// rolls the statement back either way, and the ledger's writers roll back the transaction),
/// and SQLite's `INDEXED BY` hints are dropped. Quoted text is left alone. Each text is
/// parsed once per process. `x IS ?` appears only in WHERE clauses, where NULL and false
/// are the same.
enum PostgresDialect {
    /// A translated text: `segments` with, between each two, the `x IS ?` parameter
    /// `equalities[i]` (whose spelling depends on the value bound to it).
    struct Translation: Sendable {
        var segments: [String]
        var equalities: [Int]

        func text(_ values: [SQLValue]) -> String {
            guard !equalities.isEmpty else { return segments[0] }
            var out = segments[0]
            for (i, number) in equalities.enumerated() {
                let bound = number <= values.count ? values[number - 1] : .null
                out += bound == .null ? " IS NOT DISTINCT FROM $\(number)" : " = $\(number)"
                out += segments[i + 1]
            }
            return out
        }
    }

    private static let cache = Mutex([String: Translation]())

    static func translate(_ sql: String, _ values: [SQLValue]) -> String {
        if let done = cache.withLock({ $0[sql] }) { return done.text(values) }
        let done = parse(sql)
        cache.withLock { $0[sql] = done }
        return done.text(values)
    }

    /// `sql` translated as if every value bound were NULL.
    static func rewrite(_ sql: String) -> String { parse(sql).text([]) }

    static func parse(_ sql: String) -> Translation {
        var translation = Translation(segments: [], equalities: [])
        var out = ""
        out.reserveCapacity(sql.utf8.count + 16)
        let chars = Array(sql)
        var i = 0, next = 1
        var quote: Character?
        while i < chars.count {
            let c = chars[i]
            if let q = quote {
                out.append(c)
                if c == q { quote = nil }
                i += 1
                continue
            }
            if c == "'" || c == "\"" {
                quote = c
                out.append(c)
                i += 1
                continue
            }
            if c == "?" {
                var j = i + 1
                var digits = ""
                while j < chars.count, chars[j].isNumber { digits.append(chars[j]); j += 1 }
                let number = Int(digits) ?? next
                if digits.isEmpty { next += 1 }
                // `x IS ?` / `x IS NOT ?`: PostgreSQL's IS only takes NULL, TRUE or FALSE.
                while out.last == " " { out.removeLast() }
                let tail = out.suffix(7).uppercased()
                if tail.hasSuffix(" IS NOT") {
                    out.removeLast(4)
                    out += " DISTINCT FROM $\(number)"
                } else if tail.hasSuffix(" IS") {
                    out.removeLast(3)
                    translation.segments.append(out)
                    translation.equalities.append(number)
                    out = ""
                } else {
                    out += " $\(number)"
                }
                i = j
                continue
            }
            if c.isLetter, i == 0 || !(chars[i - 1].isLetter || chars[i - 1].isNumber || chars[i - 1] == "_") {
                var j = i
                while j < chars.count, chars[j].isLetter || chars[j].isNumber || chars[j] == "_" { j += 1 }
                let word = String(chars[i..<j]).uppercased()
                if word == "NOT", let k = skipWord("INDEXED", chars, from: j) {
                    // Drop `NOT INDEXED`.
                    i = k
                    continue
                }
                if word == "INDEXED", let k = skipWord("BY", chars, from: j) {
                    // Drop `INDEXED BY name`.
                    var m = k
                    while m < chars.count, chars[m] == " " { m += 1 }
                    while m < chars.count, chars[m].isLetter || chars[m].isNumber || chars[m] == "_" { m += 1 }
                    i = m
                    continue
                }
                if word == "OR", out.uppercased().hasSuffix("INSERT ") || out.uppercased().hasSuffix("UPDATE "),
                   let (k, conflict) = nextWord(chars, from: j), ["FAIL", "ROLLBACK", "ABORT"].contains(conflict) {
                    // `INSERT OR FAIL INTO` → `INSERT INTO`.
                    out.removeLast()
                    i = k
                    continue
                }
                out += String(chars[i..<j])
                i = j
                continue
            }
            out.append(c)
            i += 1
        }
        translation.segments.append(out)
        return translation
    }

    private static func nextWord(_ chars: [Character], from start: Int) -> (Int, String)? {
        var k = start
        while k < chars.count, chars[k] == " " || chars[k] == "\n" { k += 1 }
        var e = k
        while e < chars.count, chars[e].isLetter { e += 1 }
        guard e > k else { return nil }
        return (e, String(chars[k..<e]).uppercased())
    }

    private static func skipWord(_ word: String, _ chars: [Character], from start: Int) -> Int? {
        guard let (end, found) = nextWord(chars, from: start), found == word else { return nil }
        return end
    }
}

// MARK: - Blocking access for the seam

/// The connection closed before a statement's answer came.
struct PostgresConnectionClosed: Error {}

/// The statements a connection waits on, each failed as a lost connection when the
/// connection closes first. postgres-nio writes a query to its channel without a promise:
/// on a connection the server has just ended, the write fails and the query's own future is
/// never completed, so a blocking wait on it alone would wait for ever. One callback on the
/// connection's close serves them all: a callback a statement (as there was) stays until the
/// connection closes and keeps that statement's whole result alive with it.
final class StatementWatch: @unchecked Sendable {
    private let lock = NSLock()
    private var closed = false
    private var next = 0
    private var waiting = [Int: EventLoopPromise<PostgresQueryResult>]()

    init(_ connection: PostgresConnection) {
        connection.closeFuture.whenComplete { [weak self] _ in self?.connectionClosed() }
    }

    private func connectionClosed() {
        let promises = lock.withLock {
            closed = true
            defer { waiting = [:] }
            return Array(waiting.values)
        }
        for promise in promises { promise.fail(PostgresConnectionClosed()) }
    }

    /// `query`'s result, or `PostgresConnectionClosed` when the connection closes first.
    func watch(_ query: EventLoopFuture<PostgresQueryResult>) -> EventLoopFuture<PostgresQueryResult> {
        let promise = query.eventLoop.makePromise(of: PostgresQueryResult.self)
        let id: Int? = lock.withLock {
            guard !closed else { return nil }
            next += 1
            waiting[next] = promise
            return next
        }
        guard let id else {
            promise.fail(PostgresConnectionClosed())
            return promise.futureResult
        }
        query.whenComplete { result in
            // Whoever takes the promise out completes it: the answer, or the close.
            if self.lock.withLock({ self.waiting.removeValue(forKey: id) }) != nil { promise.completeWith(result) }
        }
        return promise.futureResult
    }
}

extension PostgresLedger {
    /// The advisory lock the writers take turns under (any constant every build agrees on).
    static let writerLock: Int64 = 0x1ed6_e7_2017
    /// How long a writer waits for the one before it, in seconds, before it gives up (75).
    static let writerWait = 120

    /// Runs `begin`, then `setUp`, then `body`, then COMMIT; rolls back when anything throws.
    func transaction<T>(_ begin: String, then setUp: [String] = [], _ body: () throws -> T) throws -> T {
        try run(begin)
        do {
            for statement in setUp { try run(statement) }
            let result = try body()
            try run("COMMIT")
            return result
        } catch {
            _ = try? run("ROLLBACK")
            throw error
        }
    }

    /// Runs one statement and waits for all its rows. Never call it on an event loop.
    func queryBlocking(_ sql: String, _ values: [SQLValue]) throws -> PostgresQueryResult {
        var binds = PostgresBindings(capacity: values.count)
        for value in values {
            switch value {
            case .null: binds.appendNull()
            case .int(let v): binds.append(v)
            case .double(let v): binds.append(v)
            case .text(let v): binds.append(v)
            }
        }
        do {
            return try statements.watch(connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger)).wait()
        } catch let error as PSQLError {
            throw Self.describe(error, url: url)
        } catch is PostgresConnectionClosed {
            throw PostgresLedgerError.connectionLost(url: url.redacted, reason: "the server closed the connection")
        }
    }
}
