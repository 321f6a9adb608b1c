import GRDB

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
    static func equalSQL(_ column: String, _ given: String) -> (String, DatabaseValueConvertible) {
        isASCII(given) ? ("\(column) = ? COLLATE NOCASE", given) : ("ledger_equal_folded(\(column), ?)", given)
    }

    /// SQL for `column` containing one `?` argument under the rule, and that argument.
    static func containsSQL(_ column: String, _ given: String) -> (String, DatabaseValueConvertible) {
        isASCII(given) ? ("\(column) LIKE ? ESCAPE '\\'", "%" + LedgerQueries.likeEscaped(given) + "%")
            : ("ledger_contains_folded(\(column), ?)", given)
    }

    static func isASCII(_ s: String) -> Bool { s.utf8.allSatisfy { $0 < 0x80 } }

    static func fold(_ b: UInt8) -> UInt8 { b >= 0x41 && b <= 0x5A ? b + 32 : b }

    /// The SQL functions of the rule, registered on every connection of the ledger.
    static let functions = [
        DatabaseFunction("ledger_equal_folded", argumentCount: 2, pure: true) { values in
            guard let a = String.fromDatabaseValue(values[0]), let b = String.fromDatabaseValue(values[1]) else { return false }
            return a.lowercased() == b.lowercased()
        },
        DatabaseFunction("ledger_contains_folded", argumentCount: 2, pure: true) { values in
            guard let a = String.fromDatabaseValue(values[0]), let b = String.fromDatabaseValue(values[1]) else { return false }
            return a.lowercased().contains(b.lowercased())
        },
    ]
}
