/// A one-line progress display on a terminal, redrawn in place.
public enum ProgressLine {
    /// Whether the terminal understands ANSI escapes: not with `TERM=dumb` (Emacs shells,
    /// some CI consoles) or no `TERM` at all.
    public static func supportsEscapes(environment: [String: String]) -> Bool {
        guard let term = environment["TERM"], !term.isEmpty else { return false }
        return term != "dumb"
    }

    /// The text that erases a line of `width` characters and returns to its start: `\r` and
    /// "erase to end of line" where escapes work, else spaces over it.
    public static func erase(width: Int, escapes: Bool) -> String {
        escapes ? "\r\u{1B}[K" : "\r" + String(repeating: " ", count: max(0, width)) + "\r"
    }
}
