
// MARK: - Recording

extension Ledger {
    /// Records installers in ONE transaction: `feed` is called with a function that records
    /// one installer; if `feed` (or recording) throws, nothing of the run is written.
    /// - Returns: how many were new, changed and unchanged.
    /// - Throws: whatever `feed` throws, or a database error.
    /// - Parameter account: whose installers they are; nil: the ledger's only account.
    public func record(
        source: EventSource, at now: Timestamp, touchLastSeen: Bool = false, account: Account? = nil,
        _ feed: (_ record: (ReceivedInstaller) throws -> Void) throws -> Void
    ) throws -> RecordSummary {
        try write { db in
            var recorder = InstallerRecorder(db: db, source: source, now: now, touchLastSeen: touchLastSeen,
                                             account: try AccountQueries.accountID(db, account, at: now))
            try feed { try recorder.record($0) }
            return recorder.summary
        }
    }

    /// Records a list of installers in one transaction.
    public func record(_ installers: [ReceivedInstaller], source: EventSource, at now: Timestamp,
                       account: Account? = nil) throws -> RecordSummary {
        try record(source: source, at: now, account: account) { record in
            for installer in installers { try record(installer) }
        }
    }
}

// MARK: - Reading

extension Ledger {
    /// One installer by full uuid or unique prefix, with products and components.
    /// - Throws: `LedgerError.installerNotFound` or `.ambiguousPrefix`.
    public func installer(_ idOrPrefix: String) throws -> LedgerInstaller {
        try read { db in
            let uuid = try LedgerQueries.resolve(db, idOrPrefix: idOrPrefix)
            guard let found = try LedgerQueries.installer(db, uuid: uuid) else { throw LedgerError.installerNotFound(idOrPrefix) }
            return found
        }
    }

    /// The full uuid for an id or unique prefix.
    public func resolve(_ idOrPrefix: String) throws -> String {
        try read { db in try LedgerQueries.resolve(db, idOrPrefix: idOrPrefix) }
    }

    /// The installers matching a filter, streamed in batches from one consistent snapshot.
    /// - Parameter withChildren: also load products and components (two queries a batch).
    public func forEachInstaller(
        matching filter: InstallerFilter, at now: Timestamp, withChildren: Bool = true, batchSize: Int = 500,
        _ body: ([LedgerInstaller]) throws -> Void
    ) throws {
        try read { db in
            let (sql, args) = try LedgerQueries.selectInstallers(db, filter, now: now)
            let cursor = try SQLRow.fetchStream(db, sql: sql, arguments: args)
            let names = try AccountQueries.accountNames(db)
            func attach(_ batch: inout [LedgerInstaller]) throws {
                if withChildren {
                    try LedgerQueries.attachChildren(db, to: &batch, accountNames: names)
                } else {
                    try LedgerQueries.attachAccounts(db, to: &batch, names: names)
                }
            }
            var batch = [LedgerInstaller]()
            batch.reserveCapacity(batchSize)
            while let row = try cursor.next() {
                batch.append(LedgerQueries.decode(row))
                if batch.count == batchSize {
                    try attach(&batch)
                    try body(batch)
                    batch.removeAll(keepingCapacity: true)
                }
            }
            if !batch.isEmpty {
                try attach(&batch)
                try body(batch)
            }
        }
    }

    /// The installers matching a filter, all at once (for small results and tests).
    public func installers(matching filter: InstallerFilter, at now: Timestamp) throws -> [LedgerInstaller] {
        var all = [LedgerInstaller]()
        try forEachInstaller(matching: filter, at: now) { all += $0 }
        return all
    }

    /// History events matching a filter, oldest first, streamed.
    public func forEachEvent(matching filter: EventFilter, _ body: (LedgerEvent) throws -> Void) throws {
        try read { db in
            let (sql, args) = LedgerQueries.selectEvents(filter, engine: db.engine)
            let cursor = try SQLRow.fetchStream(db, sql: sql, arguments: args)
            let names = try AccountQueries.accountNames(db)
            while let row = try cursor.next() { try body(LedgerQueries.decodeEvent(row, accountNames: names)) }
        }
    }

    /// History events matching a filter, oldest first.
    public func events(matching filter: EventFilter) throws -> [LedgerEvent] {
        var all = [LedgerEvent]()
        try forEachEvent(matching: filter) { all.append($0) }
        return all
    }

    /// The last raw answer kept for an installer.
    public func rawAnswer(uuid: String) throws -> String? {
        try read { db in try String.fetchOne(db, sql: "SELECT json FROM raw_answers JOIN installers ON installers.id = installer_id WHERE uuid = ?", arguments: [uuid]) }
    }

    /// A content dump of every table (rows in key order), for comparing a ledger before
    /// and after a run that must change nothing.
    public func contentDump() throws -> String {
        try read { db in
            var out = ""
            let tables = try String.fetchAll(db, sql: db.engine == .sqlite
                ? "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
                : "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename")
            for table in tables {
                out += "## \(table)\n"
                let rows = try SQLRow.fetchAll(db, sql: "SELECT * FROM \(table.quotedDatabaseIdentifier)")
                out += rows.map(\.description).sorted().joined(separator: "\n") + "\n"
            }
            return out
        }
    }
}
