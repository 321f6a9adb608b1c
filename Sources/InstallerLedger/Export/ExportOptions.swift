/// The tables `export` writes.
public enum ExportTable: String, Sendable, CaseIterable {
    /// One row per installer.
    case installers
    /// One row per installer × activated product, with the installer's key columns.
    case products
    /// The history, one row per event.
    case events
}

/// What an export selects and how it writes it.
public struct ExportOptions: Sendable, Equatable {
    public var table: ExportTable = .installers
    /// Installers and products created at or after this instant; events at or after it.
    public var since: Timestamp?
    /// Installers and products created before this instant; events before it.
    public var until: Timestamp?
    /// The state each installer had at this instant, rebuilt from the history; for the
    /// events table, the events up to and including it.
    public var asOf: Timestamp?
    /// Write the secret download URLs instead of `[redacted]`.
    public var includeDownloadUrls = false
    /// Prefix formula-like cells with `'` (off with `--raw`).
    public var neutralisesFormulas = true
    /// Start with a UTF-8 byte order mark, so Excel reads UTF-8.
    public var excelByteOrderMark = false
    /// Whose installers and history: every account by default.
    public var scope: AccountScope = .all

    public init() {}
}

/// What an export wrote.
public struct ExportSummary: Sendable, Equatable {
    /// Data rows, the header not counted.
    public var rows: Int
    /// Bytes written, byte order mark included.
    public var bytes: Int
    /// SHA-256 of the bytes written, lower-case hex.
    public var sha256: String

    public init(rows: Int, bytes: Int, sha256: String) {
        self.rows = rows
        self.bytes = bytes
        self.sha256 = sha256
    }
}
