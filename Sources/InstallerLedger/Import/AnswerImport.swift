import Foundation

/// One input of `import`: saved API answers from a file or standard input.
public struct ImportInput: Sendable {
    /// The file name as given, or `-` / `stdin`, for messages.
    public var name: String
    public var bytes: [UInt8]

    public init(name: String, bytes: [UInt8]) {
        self.name = name
        self.bytes = bytes
    }

    /// Reads a whole file (or standard input for `-`).
    /// - Throws: `ImportError.unreadable`.
    public static func read(path: String) throws -> ImportInput {
        if path == "-" { return ImportInput(name: "stdin", bytes: try readAll(fd: 0, name: "stdin")) }
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw ImportError.unreadable(file: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        return ImportInput(name: path, bytes: try readAll(fd: fd, name: path))
    }

    static func readAll(fd: Int32, name: String) throws -> [UInt8] {
        var out = [UInt8]()
        var st = stat()
        if fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG { out.reserveCapacity(Int(st.st_size)) }
        if (st.st_mode & S_IFMT) == S_IFDIR { throw ImportError.unreadable(file: name, reason: "is a directory") }
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = chunk.withUnsafeMutableBytes { Foundation.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw ImportError.unreadable(file: name, reason: String(cString: strerror(errno)))
            }
            if n == 0 { return out }
            out.append(contentsOf: chunk[0..<n])
        }
    }
}

/// Why `import` refused its input. Nothing of the run was written.
public enum ImportError: Error, Equatable {
    /// The file could not be read.
    case unreadable(file: String, reason: String)
    /// The text is not JSON (or NDJSON).
    case syntax(file: String, JSONSyntaxError)
    /// A record is JSON but not a valid installer answer.
    case invalid(file: String, line: Int, record: Int, InvalidInstallerJSON)
}

extension ImportError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .unreadable(let file, let reason):
            "cannot read \(file): \(reason)"
        case .syntax(let file, let e):
            "\(file), line \(e.line), column \(e.column): \(e.message); nothing was imported, fix the file and run import again"
        case .invalid(let file, let line, let record, let e):
            "\(file), line \(line) (record \(record)): \(e); nothing was imported, fix the record and run import again"
        }
    }
}

extension Ledger {
    /// How many decoded installers `importAnswers` sorts and records at a time.
    static let importChunk = 16_384

    /// Records every installer in saved API answers (a create/get answer, a bare installer,
    /// a list answer, a JSON array of these, or NDJSON of these), all inputs in one
    /// transaction: any malformed record and nothing is written.
    /// - Throws: `ImportError` naming the file, line, record and field.
    public func importAnswers(_ inputs: [ImportInput], source: EventSource = .import, at now: Timestamp) throws -> RecordSummary {
        try record(source: source, at: now) { record in
            // Installers are recorded in uuid order, a chunk at a time: every uuid-keyed
            // b-tree (installers, products, components, events) then takes its inserts in
            // key order, which measured a quarter less CPU on 100k than input order.
            // Equal uuids keep their input order, so a later line still wins.
            var chunk = [ReceivedInstaller]()
            chunk.reserveCapacity(Self.importChunk)
            func flush() throws {
                let order = chunk.indices.sorted { a, b in
                    chunk[a].installer.uuid != chunk[b].installer.uuid
                        ? chunk[a].installer.uuid < chunk[b].installer.uuid : a < b
                }
                for i in order { try record(chunk[i]) }
                chunk.removeAll(keepingCapacity: true)
            }
            for input in inputs {
                var recordNumber = 0
                do {
                    try input.bytes.withUnsafeBufferPointer { buffer in
                        try JSONParser.forEachValue(in: input.bytes) { value, line in
                            recordNumber += 1
                            do {
                                try InstallerAnswer.forEachInstaller(in: value, source: buffer) {
                                    chunk.append($0)
                                    if chunk.count == Self.importChunk { try flush() }
                                }
                            } catch let e as InvalidInstallerJSON {
                                throw ImportError.invalid(file: input.name, line: line, record: recordNumber, e)
                            }
                        }
                    }
                } catch let e as JSONSyntaxError {
                    throw ImportError.syntax(file: input.name, e)
                }
            }
            try flush()
        }
    }
}
