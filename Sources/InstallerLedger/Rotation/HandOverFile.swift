import Foundation

/// One line of a hand-over file: an old installer and the new one whose download link
/// replaces it in deployment scripts.
public struct HandOverEntry: Sendable, Equatable {
    public var predecessor: Installer
    public var successor: Installer

    public init(predecessor: Installer, successor: Installer) {
        self.predecessor = predecessor
        self.successor = successor
    }
}

/// The formats of a hand-over file.
public enum HandOverFormat: String, Sendable, CaseIterable {
    case csv, json

    /// The format a file name asks for: `.json` is JSON, anything else CSV.
    public init(path: String) {
        self = path.lowercased().hasSuffix(".json") ? .json : .csv
    }
}

/// Why a hand-over file could not be written.
public struct HandOverError: Error, Sendable, Equatable, CustomStringConvertible {
    public var path: String
    public var reason: String

    public var description: String {
        "cannot write the hand-over file \(path): \(reason); the replacements are recorded, run rotate again with a writable --output to hand them over"
    }
}

/// The file `rotate --output` writes for whoever updates deployment scripts: old uuid, new
/// uuid, new download URL and new expiry. It holds secrets (download URLs), so it is created
/// mode 0600 and replaced atomically (a reader never sees half a file).
public enum HandOverFile {
    /// The CSV header; keep stable, scripts read it.
    public static let csvHeader = [
        "old_uuid", "old_display_name", "old_expire_time", "new_uuid", "new_display_name", "new_download_url",
        "new_expire_time", "group_display_name", "security_group_uuid",
    ]

    /// The file's content in a format.
    public static func render(_ entries: [HandOverEntry], format: HandOverFormat) -> String {
        switch format {
        case .csv:
            var w = CSVWriter()
            w.writeRow(csvHeader)
            for e in entries {
                let old = e.predecessor, new = e.successor
                w.writeRow([old.uuid, old.displayName, old.expireTime?.rfc3339 ?? "", new.uuid, new.displayName,
                            new.downloadUrl, new.expireTime?.rfc3339 ?? "", new.deviceEnrollment.groupDisplayName,
                            new.deviceEnrollment.securityGroupUuid])
            }
            return w.string
        case .json:
            let items = entries.map { e -> JSONValue in
                let old = e.predecessor, new = e.successor
                var o = JSONObject()
                o.append("oldUuid", .string(old.uuid))
                o.append("oldDisplayName", .string(old.displayName))
                o.append("oldExpireTime", .optionalString(old.expireTime?.rfc3339))
                o.append("newUuid", .string(new.uuid))
                o.append("newDisplayName", .string(new.displayName))
                o.append("newDownloadUrl", .string(new.downloadUrl))
                o.append("newExpireTime", .optionalString(new.expireTime?.rfc3339))
                o.append("groupDisplayName", .string(new.deviceEnrollment.groupDisplayName))
                o.append("securityGroupUuid", .string(new.deviceEnrollment.securityGroupUuid))
                return .object(o)
            }
            var w = JSONWriter()
            if items.isEmpty {
                w.bytes.append(contentsOf: "[]".utf8)
            } else {
                w.bytes.append(contentsOf: "[".utf8)
                for (n, item) in items.enumerated() {
                    w.bytes.append(contentsOf: (n == 0 ? "\n  " : ",\n  ").utf8)
                    w.write(item)
                }
                w.bytes.append(contentsOf: "\n]".utf8)
            }
            return w.string + "\n"
        }
    }

    /// Checks, before anything is created, that the file can be written where asked.
    /// - Throws: `HandOverError` naming the problem.
    public static func checkWritable(_ path: String) throws {
        let folder = folderOf(path)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw HandOverError(path: path, reason: "the folder \(folder) does not exist")
        }
        guard access(folder, W_OK) == 0 else {
            throw HandOverError(path: path, reason: "the folder \(folder) is not writable")
        }
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue {
            throw HandOverError(path: path, reason: "it is a folder")
        }
    }

    /// Writes the file atomically with mode 0600 (a temporary file in the same folder,
    /// flushed, then renamed over the target).
    /// - Throws: `HandOverError`.
    /// - Parameter willCreate: told the temporary path before it exists (for a signal handler).
    public static func write(_ entries: [HandOverEntry], to path: String, format: HandOverFormat,
                             willCreate: (String) -> Void = { _ in }) throws {
        do {
            // Whatever the umask, only the owner may read download URLs.
            let file = try AtomicOutputFile(path: path, mode: 0o600, willCreate: willCreate)
            try file.write(Array(render(entries, format: format).utf8))
            try file.commit()
        } catch {
            throw HandOverError(path: path, reason: error.reason)
        }
    }

    static func folderOf(_ path: String) -> String {
        let folder = (path as NSString).deletingLastPathComponent
        return folder.isEmpty ? "." : folder
    }
}
