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
    /// How many decoded installers `importAnswers` sorts and records at a time. The first
    /// chunk is smaller so that recording starts early instead of waiting for 16k decodes.
    static let importChunk = 16_384
    static let firstImportChunk = 1_024

    /// Records every installer in saved API answers (a create/get answer, a bare installer,
    /// a list answer, a JSON array of these, or NDJSON of these), all inputs in one
    /// transaction: any malformed record and nothing is written.
    ///
    /// Decoding runs on its own thread, a chunk ahead of the recording: parsing, decoding
    /// and hashing are about 40 % of an import's CPU time, which on two cores overlaps with
    /// SQLite's inserts.
    /// - Parameter account: whose saved answers they are; nil: the ledger's only account.
    /// - Throws: `ImportError` naming the file, line, record and field; `AccountError.ambiguous`.
    public func importAnswers(_ inputs: [ImportInput], source: EventSource = .import, at now: Timestamp,
                              account: Account? = nil) throws -> RecordSummary {
        try importAnswers(inputs, source: source, at: now, account: account, chunks: (Self.firstImportChunk, Self.importChunk))
    }

    /// - Parameter chunks: the sizes of the first and of the following chunks (tests use
    ///   small ones to cross many chunk boundaries).
    func importAnswers(_ inputs: [ImportInput], source: EventSource = .import, at now: Timestamp,
                       account: Account? = nil, chunks: (first: Int, then: Int)) throws -> RecordSummary {
        let pipe = ThreadQueue<[DecodedInstaller]>(capacity: 2)
        let decoded = DispatchSemaphore(value: 0)
        let decoder = Thread {
            pipe.finish(Result { try Self.decode(inputs, chunks: chunks, into: pipe) })
            decoded.signal()
        }
        decoder.name = "import-decoder"
        decoder.start()
        defer {
            // A failed recording stops the decoder; either way it ends before we return.
            pipe.cancel()
            decoded.wait()
        }
        // With foreign keys enforced, SQLite copies every page a multi-row INSERT into a child
        // table touches into a statement journal (so that a violation could undo just that
        // statement): 700,000 extra page writes for 100k installers. The recorder writes an
        // installer's children only with or after the installer itself, so the import's rows
        // satisfy the keys by construction (tested with `PRAGMA foreign_key_check`), and a
        // failed import rolls back as a whole anyway.
        return try writeWithoutForeignKeyChecks { db in
            var recorder = InstallerRecorder(db: db, source: source, now: now, account: try AccountQueries.accountID(db, account, at: now))
            while let chunk = try pipe.take() {
                try recorder.record(chunk)
                // Freed by the decoding thread, which has time to spare.
                pipe.giveBack(chunk)
            }
            return recorder.summary
        }
    }

    /// Parses and decodes every input, handing over chunks of installers in uuid order.
    ///
    /// Each chunk is sorted by uuid: every uuid-keyed b-tree (installers, products,
    /// components, events) then takes its inserts in key order, which measured a quarter
    /// less CPU on 100k than input order. Equal uuids keep their input order, so a later
    /// line still wins.
    /// - Throws: `ImportError`, or `CancellationError` when the recording stopped first.
    static func decode(_ inputs: [ImportInput], chunks: (first: Int, then: Int), into pipe: ThreadQueue<[DecodedInstaller]>) throws {
        var chunk = [DecodedInstaller]()
        chunk.reserveCapacity(chunks.then)
        var chunkSize = chunks.first
        func flush() throws {
            guard !chunk.isEmpty else { return }
            let order = chunk.indices.sorted { a, b in
                chunk[a].received.installer.uuid != chunk[b].received.installer.uuid
                    ? chunk[a].received.installer.uuid < chunk[b].received.installer.uuid : a < b
            }
            try pipe.put(order.map { chunk[$0] })
            chunk.removeAll(keepingCapacity: true)
            chunkSize = chunks.then
        }
        for input in inputs {
            var recordNumber = 0
            do {
                try input.bytes.withUnsafeBufferPointer { buffer in
                    try JSONParser.forEachValue(in: input.bytes) { value, line in
                        recordNumber += 1
                        do {
                            try InstallerAnswer.forEachInstaller(in: value, source: buffer) {
                                chunk.append(DecodedInstaller($0))
                                if chunk.count == chunkSize { try flush() }
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

/// A bounded queue between one producing and one consuming thread: `put` waits while it is
/// full, `take` while it is empty. The producer ends it with `finish` (the error it failed
/// with, if any); the consumer stops the producer with `cancel`, and can hand items it is
/// done with back with `giveBack`, so that the producer's thread pays for freeing them.
final class ThreadQueue<Element: Sendable>: @unchecked Sendable {
    private let condition = NSCondition()
    private let capacity: Int
    private var items = [Element]()
    private var spent = [Element]()
    private var end: Result<Void, any Error>?
    private var cancelled = false

    init(capacity: Int) { self.capacity = capacity }

    /// - Throws: `CancellationError` once the consumer has cancelled.
    func put(_ item: Element) throws {
        var freed = [Element]()
        condition.lock()
        defer {
            condition.unlock()
            freed.removeAll()
        }
        while items.count >= capacity && !cancelled { condition.wait() }
        if cancelled { throw CancellationError() }
        items.append(item)
        swap(&freed, &spent)
        condition.broadcast()
    }

    func giveBack(_ item: Element) {
        condition.lock()
        spent.append(item)
        condition.unlock()
    }

    func finish(_ result: Result<Void, any Error>) {
        condition.lock()
        end = result
        condition.broadcast()
        condition.unlock()
    }

    /// The next item, or nil once the producer finished and everything was taken.
    /// - Throws: the error the producer finished with.
    func take() throws -> Element? {
        condition.lock()
        defer { condition.unlock() }
        while items.isEmpty {
            if let end {
                try end.get()
                return nil
            }
            condition.wait()
        }
        condition.broadcast()
        return items.removeFirst()
    }

    func cancel() {
        condition.lock()
        cancelled = true
        condition.broadcast()
        condition.unlock()
    }
}
