import Foundation

/// The `FILE.sha256` written beside an export: `sha256sum -c` checks it (run in the file's
/// folder); its `#` lines, which `sha256sum` skips, say what the file holds.
public struct ExportManifest: Sendable, Equatable {
    public var fileName: String
    public var summary: ExportSummary
    public var options: ExportOptions
    public var generatedAt: Timestamp

    public init(fileName: String, summary: ExportSummary, options: ExportOptions, generatedAt: Timestamp) {
        self.fileName = fileName
        self.summary = summary
        self.options = options
        self.generatedAt = generatedAt
    }

    /// The manifest's text.
    public var text: String {
        var lines = [
            "# installer-ledger export; check with: sha256sum -c \(Self.comment(fileName)).sha256",
            "# table: \(options.table.rawValue)",
            "# rows: \(summary.rows)",
            "# bytes: \(summary.bytes)",
        ]
        if let asOf = options.asOf { lines.append("# as-of: \(asOf.rfc3339)") }
        if let since = options.since { lines.append("# since: \(since.rfc3339)") }
        if let until = options.until { lines.append("# until: \(until.rfc3339)") }
        lines.append("# download-urls: \(options.includeDownloadUrls ? "included" : "redacted")")
        lines.append("# formulas: \(options.neutralisesFormulas ? "neutralised" : "raw")")
        lines.append("# generated: \(generatedAt.rfc3339)")
        // GNU's form for names holding a backslash or a newline: a leading `\`, both escaped.
        if fileName.contains("\\") || fileName.contains("\n") {
            let escaped = fileName.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n")
            lines.append("\\\(summary.sha256)  \(escaped)")
        } else {
            lines.append("\(summary.sha256)  \(fileName)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The name as it may appear inside a `#` line (one line, whatever it holds).
    static func comment(_ name: String) -> String {
        name.replacingOccurrences(of: "\n", with: "?").replacingOccurrences(of: "\r", with: "?")
    }
}

// MARK: - Writing to a file

extension Ledger {
    /// Writes an export to `path` through a temporary file renamed into place, and beside
    /// it the manifest `path.sha256` (SHA-256, row count, options). The data and the
    /// manifest are both complete on disk before either is renamed; on any failure neither
    /// temporary file is left behind and nothing appears under the output names.
    /// - Parameter onTemporaryFile: told each temporary path before it is created, so that a
    ///   signal handler can remove it if the process is interrupted.
    /// - Throws: `OutputFileError`, or a database error.
    public func exportCSV(_ options: ExportOptions, toFile path: String, generatedAt: Timestamp,
                          onTemporaryFile: (String) -> Void = { _ in }) throws -> ExportSummary {
        let data = try AtomicOutputFile(path: path, willCreate: onTemporaryFile)
        let summary = try exportCSV(options) { chunk in try data.write(chunk) }
        try data.finish()
        let manifest = try AtomicOutputFile(path: path + ".sha256", willCreate: onTemporaryFile)
        let name = URL(fileURLWithPath: path).lastPathComponent
        try manifest.write(Array(ExportManifest(fileName: name, summary: summary, options: options, generatedAt: generatedAt).text.utf8))
        try manifest.finish()
        try data.commit()
        try manifest.commit()
        return summary
    }
}
