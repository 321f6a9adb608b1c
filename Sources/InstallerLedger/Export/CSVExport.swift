import Dispatch

// MARK: - Streaming an export

extension Ledger {
    /// Streams an export as RFC 4180 CSV: `write` receives the bytes in chunks of about
    /// `chunkSize`, in order; memory stays constant whatever the ledger's size.
    /// - Returns: the rows, bytes and SHA-256 of everything passed to `write`.
    /// - Throws: a database error, or whatever `write` throws (the export stops there).
    public func exportCSV(_ options: ExportOptions, chunkSize: Int = 1 << 18,
                          _ write: ([UInt8]) throws -> Void) throws -> ExportSummary {
        try withoutActuallyEscaping(write) { sink in try export(options, chunkSize: chunkSize, sink) }
    }

    private func export(_ options: ExportOptions, chunkSize: Int, _ sink: @escaping ([UInt8]) throws -> Void) throws -> ExportSummary {
        var out = ExportStream(options: options, chunkSize: chunkSize, sink: sink)
        try out.begin()
        try read { db in
            // Exports read each page once: a small page cache keeps memory low (the ledger's
            // connections otherwise keep 64 MiB for bulk imports).
            let cacheSize = db.engine == .sqlite ? try Int.fetchOne(db, sql: "PRAGMA cache_size") : nil
            if cacheSize != nil { try db.execute(sql: "PRAGMA cache_size = -8192") }
            defer { if let cacheSize { try? db.execute(sql: "PRAGMA cache_size = \(cacheSize)") } }
            switch options.table {
            case .installers, .products:
                guard let instant = options.asOf else { return try CurrentStateExport.write(db, options, to: &out) }
                var filter = InstallerFilter()
                filter.createdAfter = options.since
                filter.createdBefore = options.until
                filter.scope = options.scope
                try Self.forEachInstaller(db, asOf: instant, matching: filter, withChildren: true, batchSize: 500,
                                          byUuid: true) { batch in try out.installers(batch) }
            case .events:
                var filter = EventFilter()
                filter.since = options.since
                filter.until = options.until
                filter.scope = options.scope
                if let instant = options.asOf {
                    // Events at the instant count, as in the rebuilt states.
                    let end = instant.adding(.init(nanoseconds: 1))
                    filter.until = min(filter.until ?? end, end)
                }
                let (sql, args) = LedgerQueries.selectEvents(filter, engine: db.engine)
                let cursor = try SQLRow.fetchStream(db, sql: sql, arguments: args)
                let names = try AccountQueries.accountNames(db)
                while let row = try cursor.next() { try out.event(LedgerQueries.decodeEvent(row, accountNames: names)) }
            }
        }
        return try out.finish()
    }
}

/// Renders rows into a CSV buffer, hands full chunks to the sink and hashes what it hands.
struct ExportStream {
    let options: ExportOptions
    let chunkSize: Int
    let sink: ([UInt8]) throws -> Void
    var writer: CSVWriter
    let hash = BackgroundHasher()
    var rows = 0
    var bytes = 0

    init(options: ExportOptions, chunkSize: Int, sink: @escaping ([UInt8]) throws -> Void) {
        self.options = options
        self.chunkSize = max(chunkSize, 1)
        self.sink = sink
        writer = CSVWriter(neutralisesFormulas: options.neutralisesFormulas)
        writer.bytes.reserveCapacity(self.chunkSize + (1 << 12))
    }

    mutating func begin() throws {
        if options.excelByteOrderMark { writer.bytes.append(contentsOf: [0xEF, 0xBB, 0xBF]) }
        // The header's cells are plain names: never neutralised, never quoted.
        writer.writeRow(ExportColumns.header(options.table))
    }

    mutating func installers(_ batch: [LedgerInstaller]) throws {
        for e in batch {
            switch options.table {
            case .products:
                rows += ExportColumns.writeProductRows(e, to: &writer)
            default:
                writer.writeRow(InstallerColumns.csvRow(e, includeDownloadUrl: options.includeDownloadUrls))
                rows += 1
            }
            if writer.bytes.count >= chunkSize { try flush() }
        }
    }

    mutating func event(_ e: LedgerEvent) throws {
        writer.writeRow(EventColumns.csvRow(e))
        rows += 1
        if writer.bytes.count >= chunkSize { try flush() }
    }

    mutating func flush() throws {
        guard !writer.bytes.isEmpty else { return }
        hash.update(writer.bytes)
        bytes += writer.bytes.count
        try sink(writer.bytes)
        writer.bytes.removeAll(keepingCapacity: true)
    }

    mutating func finish() throws -> ExportSummary {
        try flush()
        return ExportSummary(rows: rows, bytes: bytes, sha256: hash.finalizeHex())
    }
}

/// Hashes chunks on a background queue while the export formats the next ones: hashing is
/// about a sixth of an export's work, and even a small server has a second core. At most
/// four chunks wait, so memory stays bounded.
final class BackgroundHasher: @unchecked Sendable {
    private let queue = DispatchQueue(label: "installer-ledger.export.sha256")
    private let slots = DispatchSemaphore(value: 4)
    /// Touched only on `queue`.
    private var hash = SHA256()

    func update(_ chunk: [UInt8]) {
        slots.wait()
        queue.async {
            self.hash.update(chunk)
            self.slots.signal()
        }
    }

    /// The digest of every chunk, once the queue has hashed them all.
    func finalizeHex() -> String { queue.sync { hash.finalizeHex() } }
}
