import Foundation

/// What can go wrong writing an export file.
public enum OutputFileError: Error, Equatable, CustomStringConvertible {
    /// The temporary file beside the destination could not be created.
    case cannotCreate(path: String, reason: String)
    /// Writing, flushing or renaming failed (disk full, file too large, permissions).
    case cannotWrite(path: String, reason: String)
    /// The destination is a folder.
    case destinationIsFolder(String)

    /// The cause alone, for callers that word the message themselves.
    public var reason: String {
        switch self {
        case .cannotCreate(_, let reason), .cannotWrite(_, let reason): reason
        case .destinationIsFolder: "it is a folder"
        }
    }

    public var description: String {
        switch self {
        case .cannotCreate(let path, let reason):
            "cannot create a file next to \(path): \(reason); check that the folder exists and is writable"
        case .cannotWrite(let path, let reason):
            "cannot write \(path): \(reason); nothing was left under that name, free some space or choose another --output"
        case .destinationIsFolder(let path):
            "\(path) is a folder; give --output a file name, e.g. \(path)/installers.csv"
        }
    }
}

/// A file written under a temporary name in its destination folder and renamed into place
/// only once complete and flushed to disk, so a reader sees the old file or the whole new
/// one, never a part. Dropped without `commit()`, the temporary file is removed.
public final class AtomicOutputFile {
    /// Where the file ends up.
    public let path: String
    /// Where it is written meanwhile: a hidden name in the same folder (a rename across
    /// file systems would not be atomic).
    public let temporaryPath: String
    private var descriptor: Int32
    private var committed = false

    /// Creates the temporary file: with `mode` when given (whatever the umask), else 0666
    /// less the umask.
    /// - Throws: `OutputFileError.cannotCreate` or `.destinationIsFolder`.
    /// - Parameter willCreate: told the temporary path just before the file is created, so a
    ///   signal handler knows it from the first moment the file can exist.
    public init(path: String, mode: mode_t? = nil, willCreate: (String) -> Void = { _ in }) throws(OutputFileError) {
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue {
            throw .destinationIsFolder(path)
        }
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().path
        let suffix = String(UInt64.random(in: 0...UInt64.max), radix: 36)
        let temporary = folder + "/." + url.lastPathComponent + ".partial-\(getpid())-" + suffix
        willCreate(temporary)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
        guard fd >= 0 else { throw .cannotCreate(path: path, reason: String(cString: strerror(errno))) }
        if let mode, fchmod(fd, mode) != 0 {
            let reason = String(cString: strerror(errno))
            close(fd)
            unlink(temporary)
            throw .cannotCreate(path: path, reason: reason)
        }
        self.path = path
        self.temporaryPath = temporary
        self.descriptor = fd
    }

    deinit { discard() }

    /// Appends bytes.
    /// - Throws: `OutputFileError.cannotWrite`.
    public func write(_ bytes: [UInt8]) throws(OutputFileError) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Foundation.write(descriptor, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .cannotWrite(path: path, reason: String(cString: strerror(errno)))
            }
            offset += n
        }
    }

    /// Flushes the data to disk and closes the temporary file; `commit()` then only renames.
    /// - Throws: `OutputFileError.cannotWrite`.
    public func finish() throws(OutputFileError) {
        guard descriptor >= 0 else { return }
        defer { close(descriptor); descriptor = -1 }
        guard fsync(descriptor) == 0 else { throw .cannotWrite(path: path, reason: String(cString: strerror(errno))) }
    }

    /// Renames the finished file into place and flushes the folder entry.
    /// - Throws: `OutputFileError.cannotWrite`.
    public func commit() throws(OutputFileError) {
        try finish()
        guard rename(temporaryPath, path) == 0 else { throw .cannotWrite(path: path, reason: String(cString: strerror(errno))) }
        committed = true
        let folder = open(URL(fileURLWithPath: path).deletingLastPathComponent().path, O_RDONLY | O_CLOEXEC)
        if folder >= 0 { _ = fsync(folder); close(folder) }
    }

    /// Removes the temporary file unless committed.
    public func discard() {
        if descriptor >= 0 { close(descriptor); descriptor = -1 }
        if !committed { unlink(temporaryPath); committed = true }
    }
}
