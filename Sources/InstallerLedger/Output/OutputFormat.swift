/// The formats `list` and `history` print.
public enum OutputFormat: String, Sendable, CaseIterable {
    case table, json, ndjson, csv
}

/// Renders a stream of rows in one format: a header, each batch, then a footer, so large
/// results go out in constant memory.
public protocol StreamRenderer {
    associatedtype Item
    /// Text before the first row.
    mutating func begin() -> String
    /// Text for a batch of rows.
    mutating func render(_ items: [Item]) -> String
    /// Text after the last row.
    mutating func end() -> String
}

/// Pads or truncates to a column width, keeping one space before the next column
/// (one column a character; `…` marks a cut; control characters shown as spaces).
func fit(_ s: String, _ width: Int) -> String {
    let cleaned = String(s.map { $0.isNewline || $0 == "\t" || ($0.asciiValue.map { $0 < 0x20 } ?? false) ? " " : $0 })
    if cleaned.count < width { return cleaned + String(repeating: " ", count: width - cleaned.count) }
    return String(cleaned.prefix(width - 2)) + "… "
}
