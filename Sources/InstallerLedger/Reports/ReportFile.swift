import Foundation

/// Writes a report file atomically: a temporary file in the same folder, flushed to disk,
/// then renamed over the destination, so a reader (node_exporter, a mail script) never
/// sees half a report. A file being replaced keeps its permissions; a new one gets
/// 0644 less the process umask (installer-ledger runs with 077, so 0600).
public enum ReportFile {
    /// - Throws: `ReportError.cannotWriteOutput`.
    public static func write(_ text: String, to path: String) throws {
        var existing = stat()
        let mode: mode_t = stat(path, &existing) == 0 ? existing.st_mode & 0o7777 : 0o644 & ~currentUmask()
        do {
            let file = try AtomicOutputFile(path: path, mode: mode)
            try file.write(Array(text.utf8))
            try file.commit()
        } catch {
            throw ReportError.cannotWriteOutput(path: path, reason: error.reason)
        }
    }

    private static func currentUmask() -> mode_t {
        let mask = umask(0)
        umask(mask)
        return mask
    }
}
