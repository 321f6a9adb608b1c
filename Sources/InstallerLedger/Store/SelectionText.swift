
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

    /// SQL for `column` equal to one `?` argument under the rule, and that argument.
    static func equalSQL(_ column: String, _ given: String, _ engine: LedgerEngine) -> (String, any SQLBindable) {
        switch engine {
        case .sqlite:
            isASCII(given) ? ("\(column) = ? COLLATE NOCASE", given) : ("ledger_equal_folded(\(column), ?)", given)
        case .postgresql:
            isASCII(given) ? ("\(engine.asciiFolded(column)) = ?", asciiFolded(given)) : ("lower(\(column)) = lower(?)", given)
        }
    }

    /// SQL for `column` containing one `?` argument under the rule, and that argument.
    static func containsSQL(_ column: String, _ given: String, _ engine: LedgerEngine) -> (String, any SQLBindable) {
        switch engine {
        case .sqlite:
            isASCII(given) ? ("\(column) LIKE ? ESCAPE '\\'", "%" + LedgerQueries.likeEscaped(given) + "%")
                : ("ledger_contains_folded(\(column), ?)", given)
        case .postgresql:
            // PostgreSQL's LIKE keeps case; strpos on folded text says the same as SQLite's LIKE.
            isASCII(given) ? ("strpos(\(engine.asciiFolded(column)), ?) > 0", asciiFolded(given))
                : ("strpos(lower(\(column)), lower(?)) > 0", given)
        }
    }

    /// ASCII letters folded to lower case, every other byte kept (SQLite's NOCASE).
    static func asciiFolded(_ s: String) -> String { String(decoding: s.utf8.map(fold), as: UTF8.self) }

    static func isASCII(_ s: String) -> Bool { s.utf8.allSatisfy { $0 < 0x80 } }

    static func fold(_ b: UInt8) -> UInt8 { b >= 0x41 && b <= 0x5A ? b + 32 : b }
}
