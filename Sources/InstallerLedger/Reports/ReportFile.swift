import Foundation

/// Writes a report file atomically: a temporary file in the same folder, flushed to disk,
/// then renamed over the destination, so a reader (node_exporter, a mail script) never
/// sees half a report. A file being replaced keeps its permissions; a new one gets
/// 0644 less the process umask (installer-ledger runs with 077, so 0600).
public enum ReportFile {
    /// - Throws: `ReportError.cannotWriteOutput`.
    public static func write(_ text: String, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().path
        let temporary = folder + "/." + url.lastPathComponent + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        func fail(_ what: String) -> ReportError {
            .cannotWriteOutput(path: path, reason: "\(what): \(String(cString: strerror(errno)))")
        }
        var existing = stat()
        let mode: mode_t = stat(path, &existing) == 0 ? existing.st_mode & 0o7777 : 0o644
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL, mode)
        guard fd >= 0 else { throw fail("cannot create a temporary file in \(folder)") }
        var ok = false
        defer {
            if !ok { unlink(temporary) }
        }
        if stat(path, &existing) == 0 { _ = fchmod(fd, mode) }
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                let error = fail("cannot write")
                close(fd)
                throw error
            }
            offset += n
        }
        guard fsync(fd) == 0 else { let error = fail("cannot flush"); close(fd); throw error }
        guard close(fd) == 0 else { throw fail("cannot close") }
        guard rename(temporary, path) == 0 else { throw fail("cannot rename the temporary file into place") }
        ok = true
    }
}
