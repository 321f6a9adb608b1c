
/// The one rule by which `--group`, `--product` and `--name` match text, in SQL and in Swift
/// alike, for every command (`list`, `export --as-of`, `rotate`, pending creations):
/// case-insensitive; text given in ASCII compares by folding ASCII letters only (SQLite's
/// NOCASE and LIKE, which keep their indexes), any other text by Unicode lower-casing, so
/// `zürich büro` finds `ZÜRICH BÜRO` everywhere.
public enum SelectionText {
    /// Whether `stored` equals `given` under the rule.
    public static func equal(_ stored: String, _ given: String) -> Bool {
        if isASCII(given) {
            return stored.utf8.count == given.utf8.count && zip(stored.utf8, given.utf8).allSatisfy { fold($0) == fold($1) }
        }
        return stored.lowercased() == given.lowercased()
    }

    /// Whether `stored` contains `given` under the rule (empty `given`: always).
    public static func contains(_ stored: String, _ given: String) -> Bool {
        guard !given.isEmpty else { return true }
        guard isASCII(given) else { return stored.lowercased().contains(given.lowercased()) }
        let h = Array(stored.utf8), n = Array(given.utf8)
        guard n.count <= h.count else { return false }
        outer: for start in 0...(h.count - n.count) {
            for k in 0..<n.count where fold(h[start + k]) != fold(n[k]) { continue outer }
            return true
        }
        return false
    }

    /// SQL for `column` of `table` equal to `given` under the rule, and its arguments.
    ///
    /// SQLite runs the rule itself (NOCASE, or the functions registered on each connection).
    /// PostgreSQL folds ASCII text as NOCASE does; its `lower()` of other text follows the
    /// server's locale, not Swift's, so there the column's distinct values are read and the
    /// rule picks among them in Swift: the same answer on either engine.
    static func equalSQL(_ db: any LedgerSQL, table: String, column: String, _ given: String) throws -> (String, SQLArguments) {
        switch (db.engine, isASCII(given)) {
        case (.sqlite, true): ("\(column) = ? COLLATE NOCASE", [given])
        case (.sqlite, false): ("ledger_equal_folded(\(column), ?)", [given])
        case (.postgresql, true): ("\(db.engine.asciiFolded(column)) = ?", [asciiFolded(given)])
        case (.postgresql, false): try valuesSQL(db, table: table, column: column) { equal($0, given) }
        }
    }

    /// SQL for `column` of `table` containing `given` under the rule, and its arguments.
    static func containsSQL(_ db: any LedgerSQL, table: String, column: String, _ given: String) throws -> (String, SQLArguments) {
        switch (db.engine, isASCII(given)) {
        case (.sqlite, true): ("\(column) LIKE ? ESCAPE '\\'", ["%" + LedgerQueries.likeEscaped(given) + "%"])
        case (.sqlite, false): ("ledger_contains_folded(\(column), ?)", [given])
        // PostgreSQL's LIKE keeps case; strpos on folded text says what SQLite's LIKE says.
        case (.postgresql, true): ("strpos(\(db.engine.asciiFolded(column)), ?) > 0", [asciiFolded(given)])
        case (.postgresql, false): try valuesSQL(db, table: table, column: column) { contains($0, given) }
        }
    }

    /// `column IN (the distinct values the rule accepts)`.
    private static func valuesSQL(_ db: any LedgerSQL, table: String, column: String,
                                  _ accepts: (String) -> Bool) throws -> (String, SQLArguments) {
        var chosen = [String]()
        try String.forEach(db, sql: "SELECT DISTINCT \(column) FROM \(table) WHERE \(column) IS NOT NULL") { value in
            if accepts(value) { chosen.append(value) }
        }
        guard !chosen.isEmpty else { return ("1 = 0", []) }
        return ("\(column) IN (\(sqlPlaceholders(count: chosen.count)))", SQLArguments(chosen))
    }

    /// ASCII letters folded to lower case, every other byte kept (SQLite's NOCASE).
    static func asciiFolded(_ s: String) -> String { String(decoding: s.utf8.map(fold), as: UTF8.self) }

    static func isASCII(_ s: String) -> Bool { s.utf8.allSatisfy { $0 < 0x80 } }

    static func fold(_ b: UInt8) -> UInt8 { b >= 0x41 && b <= 0x5A ? b + 32 : b }
}
