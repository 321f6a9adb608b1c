import Foundation
import GRDB
import Testing
@testable import InstallerLedger
import LedgerMigrations

/// A ledger written by every earlier schema version (the first K shipped migrations applied,
/// as that release did, with data in every table it had) opens with this build, upgrades,
/// and keeps every row; a ledger from a newer version is refused with its files untouched.
@Suite struct MigrationUpgradeTests {
    static let uuid = "0b7f3c1e-5a2d-4c8e-9f10-2a3b4c5d6e7f"
    static let successor = "1c8a4d2f-6b3e-4d9f-8a21-3b4c5d6e7f80"

    /// Applies the first `count` shipped migrations exactly as `Ledger.migrator` registers them.
    static func migrator(first count: Int) -> DatabaseMigrator {
        var migrator = DatabaseMigrator()
        for (identifier, sql) in LedgerMigrationFiles.all.prefix(count) {
            migrator.registerMigration(identifier) { db in
                try db.execute(sql: sql)
                try db.execute(sql: "INSERT INTO ledger_migration_checksums (identifier, sha256) VALUES (?, ?)",
                               arguments: [identifier, SHA256.hex(Array(sql.utf8))])
            }
        }
        return migrator
    }

    /// Rows in every table of schema version 1, written with its columns.
    static func insertData(_ db: Database) throws {
        let ns: Int64 = 1_790_000_000_000_000_000
        for (uuid, name) in [(uuid, "Vienna PCs – ü ' \"quoted\""), (successor, "Vienna PCs (replacement)")] {
            try db.execute(sql: """
                INSERT INTO installers (uuid, display_name, os_family_id, language, security_group_uuid, group_display_name,
                    cloud_feedback, pua_detection, diagnostics, download_url, create_time, expire_time, api_usable, status,
                    status_reason, status_changed_at, first_seen, last_seen, content_hash)
                VALUES (?, ?, 1, 'de-at', '6513270e-269e-4d37-b2a7-4de452e6b438', 'Branch Vienna', 1, 1, 0,
                    'https://download.example.invalid/installers/x/secret', ?, ?, 1, 'usable', NULL, ?, ?, ?, 42)
                """, arguments: [uuid, name, ns, ns + 15_552_000_000_000_000, ns, ns, ns])
            let id = db.lastInsertedRowID
            try db.execute(sql: "INSERT INTO raw_answers (installer_id, json, received_at) VALUES (?, ?, ?)",
                           arguments: [id, #"{"uuid": "\#(uuid)", "futureField": [1, 2]}"#, ns])
            try db.execute(sql: """
                INSERT INTO activated_products VALUES (?, 0, 'aa000000-0000-4000-8000-000000000001', 'MSP pool', 3,
                    'ESET PROTECT Entry', 'bb000000-0000-4000-8000-000000000001', '3AB-4CD-5EF')
                """, arguments: [uuid])
            try db.execute(sql: "INSERT INTO installed_components VALUES (?, 0, 13, 'agent', 'ESET Management Agent')", arguments: [uuid])
            try db.execute(sql: "INSERT INTO events (installer_uuid, kind, at, source, reason, details) VALUES (?, 'recorded', ?, 'import', NULL, ?)",
                           arguments: [uuid, ns, #"{"displayName": "x", "status": "usable"}"#])
        }
        try db.execute(sql: "INSERT INTO events (installer_uuid, kind, at, source, reason, details) VALUES (?, 'changed', ?, 'sync', NULL, ?)",
                       arguments: [uuid, ns + 1, #"{"displayName": {"old": "Vienna", "new": "Vienna PCs"}}"#])
    }

    /// Every row of every table, by table, as text (columns in declaration order).
    static func rows(_ db: Database) throws -> [String: [String]] {
        var out = [String: [String]]()
        for table in try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'") {
            out[table] = try Row.fetchAll(db, sql: "SELECT * FROM \(table.quotedDatabaseIdentifier)").map(\.description).sorted()
        }
        return out
    }

    /// Builds a ledger file as schema version `count` left it.
    static func earlierLedger(_ path: String, version count: Int) throws -> [String: [String]] {
        let queue = try DatabaseQueue(path: path)
        try migrator(first: 1).migrate(queue)
        try queue.write { db in try insertData(db) }
        try migrator(first: count).migrate(queue)
        if count >= 2 {
            // Data of the later tables, written once they exist.
            try queue.write { db in
                let tables = Set(try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'"))
                if tables.contains("pending_creations") {
                    try db.execute(sql: """
                        INSERT INTO pending_creations (local_id, request_json, display_name, os_family_id, security_group_uuid,
                            requested_at, state, installer_uuid, resolved_at, message, plan_key)
                        VALUES ('c0ffee00-0000-4000-8000-000000000001', '{"installer": {}}', 'Vienna PCs (replacement)', 1, '', 1,
                            'resolved', ?, 2, NULL, 'plan-key-1'),
                               ('c0ffee00-0000-4000-8000-000000000002', '{"installer": {}}', 'Kiosk', 1, '', 3, 'pending', NULL, NULL, NULL, NULL)
                        """, arguments: [successor])
                    try db.execute(sql: "INSERT INTO runs (kind, started_at, finished_at, succeeded, counts, message) VALUES ('sync', 1, 2, 1, '{\"seen\": 2}', NULL)")
                }
                if tables.contains("report_runs") {
                    try db.execute(sql: "INSERT INTO report_runs (format, generated_at, window_start, status, counts) VALUES ('text', 5, 1, 'warning', '{\"warning\": 1}')")
                }
                if tables.contains("accounts") {
                    // Since 0005 every writer names the account of its rows.
                    for table in ["pending_creations", "runs", "report_runs"] {
                        try db.execute(sql: "UPDATE \(table) SET account_id = 1 WHERE account_id IS NULL")
                    }
                }
                if tables.contains("successions") {
                    try db.execute(sql: "INSERT INTO successions (predecessor_uuid, successor_uuid, linked_at, source, creation_local_id, handed_over_at) VALUES (?, ?, 4, 'rotate', 'c0ffee00-0000-4000-8000-000000000001', NULL)",
                                   arguments: [uuid, successor])
                }
            }
        }
        let before = try queue.read { db in try rows(db) }
        try queue.close()
        return before
    }

    /// 0008: of a plan line's creations that have not failed (a ledger of version 7 may hold
    /// two, from two runs at once), the first keeps the claim; after, the database refuses a
    /// second claim of a line.
    @Test(.sqliteOnly) func planClaimsUpgradeWithTheFirstOfALinesCreationsHoldingIt() throws {
        let folder = TemporaryFolder()
        let path = folder.file("ledger-v7.sqlite")
        _ = try Self.earlierLedger(path, version: 7)
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in
            for (n, (key, state)) in [("line-1", "failed"), ("line-1", "resolved"), ("line-1", "pending"), ("line-2", "pending")].enumerated() {
                try db.execute(sql: """
                    INSERT INTO pending_creations (local_id, request_json, display_name, os_family_id, requested_at, state, plan_key, account_id)
                    VALUES (?, '{}', 'Vienna', 1, ?, ?, ?, 1)
                    """, arguments: ["c\(n)", n, state, key])
            }
        }
        try queue.close()
        let ledger = try Ledger.open(path: path)
        let claims = try ledger.readDatabase { db in
            try Row.fetchAll(db, sql: "SELECT local_id, plan_claim FROM pending_creations WHERE local_id LIKE 'c_' ORDER BY id")
                .map { "\($0["local_id"] as String)=\(($0["plan_claim"] as String?) ?? "-")" }
        }
        #expect(claims == ["c0=-", "c1=line-1", "c2=-", "c3=line-2"])
        #expect(throws: DatabaseError.self) {
            try ledger.writeDatabase { db in
                try db.execute(sql: """
                    INSERT INTO pending_creations (local_id, request_json, display_name, os_family_id, requested_at, state, plan_key, plan_claim, account_id)
                    VALUES ('c4', '{}', 'Vienna', 1, 9, 'pending', 'line-2', 'line-2', 1)
                    """)
            }
        }
        // The line whose first creation holds the claim stays taken for create --from.
        #expect(throws: PlanLineTaken.self) {
            try ledger.addPending(CreateInstallerRequest(displayName: "Vienna", operatingSystemFamilyId: 1), planKey: "line-1", at: Sample.now)
        }
    }

    @Test(.sqliteOnly, arguments: 1..<LedgerMigrationFiles.all.count)
    func everyEarlierVersionUpgradesWithItsDataIntact(version: Int) throws {
        let folder = TemporaryFolder()
        let path = folder.file("ledger-v\(version).sqlite")
        let before = try Self.earlierLedger(path, version: version)
        #expect(before["installers"]?.count == 2)

        let ledger = try Ledger.open(path: path)
        #expect(try ledger.appliedMigrations() == LedgerMigrationFiles.all.map(\.identifier))
        let after = try ledger.readDatabase { db in try Self.rows(db) }
        for (table, oldRows) in before where table != "grdb_migrations" && table != "ledger_migration_checksums" {
            // Every old row is still there, with the same values in the same leading columns
            // (a later migration may only add columns).
            let newRows = after[table] ?? []
            #expect(newRows.count == oldRows.count, "\(table): \(oldRows.count) rows before, \(newRows.count) after")
            for (old, new) in zip(oldRows, newRows) {
                #expect(new.hasPrefix(String(old.dropLast())), "\(table) row changed: \(old) -> \(new)")
            }
        }
        // Every row ESET owns now belongs to the account `default`, its identity unknown
        // until the next API run; the events keep their ids and stay append-only.
        #expect(try ledger.accounts().map(\.name) == ["default"])
        #expect(try ledger.accounts().first?.username == nil)
        try ledger.readDatabase { db in
            for table in ["installers", "pending_creations", "runs", "report_runs"] where try db.tableExists(table) {
                #expect(try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table) WHERE account_id IS NOT 1") == 0, "\(table)")
            }
            #expect(try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'events' ORDER BY name")
                    == ["events_are_append_only_delete", "events_are_append_only_update"])
        }
        #expect(throws: DatabaseError.self) { try ledger.write { db in try db.execute(sql: "DELETE FROM events") } }
        // The upgraded ledger answers the usual queries with the old data.
        let installer = try ledger.installer(Self.uuid)
        #expect(installer.account == "default")
        #expect(installer.installer.displayName == "Vienna PCs – ü ' \"quoted\"")
        #expect(installer.installer.activatedProducts.map(\.productId) == [3])
        var filter = EventFilter()
        filter.installerUuid = Self.uuid
        #expect(try ledger.events(matching: filter).map(\.kind) == [.recorded, .changed])
        #expect(try ledger.rawAnswer(uuid: Self.uuid)?.contains("futureField") == true)
        // And it takes new data.
        _ = try ledger.importAnswers([Sample.input(Sample.answer(Sample.installer(uuid: "2d9b5e3a-7c4f-4e1a-9b32-4c5d6e7f8091")))], at: Sample.now)
        #expect(try ledger.installers(matching: InstallerFilter(), at: Sample.now).count == 3)
    }

    @Test(.sqliteOnly) func aLedgerFromANewerVersionIsRefusedByEveryCommandWithItsFilesUntouched() throws {
        let folder = TemporaryFolder()
        let db = folder.file("ledger.sqlite")
        let examples = repositoryRoot.appendingPathComponent("examples/installers.ndjson").path
        #expect(try runProduct("installer-ledger", ["import", examples, "--db", db]).status == 0)
        // A newer build added a migration (and left its WAL un-checkpointed).
        let queue = try DatabaseQueue(path: db)
        try queue.write { db in
            try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('0099_future')")
            try db.execute(sql: "CREATE TABLE future_things (id INTEGER PRIMARY KEY)")
        }
        try queue.close()
        func digest(_ suffix: String) -> String {
            FileManager.default.contents(atPath: db + suffix).map { SHA256.hex([UInt8]($0)) } ?? "absent"
        }
        let emptyWAL = SHA256.hex([])
        let before = digest("")
        #expect(digest("-wal") == "absent")
        for args in [["list"], ["import", examples], ["history"], ["show", "8a6a"], ["gaps"]] {
            let r = try runProduct("installer-ledger", args + ["--db", db])
            #expect(r.status == 74, "\(args): \(r.stderr)")
            #expect(r.stderr.contains("written by a newer installer-ledger (unknown migrations: 0099_future)"), "\(args): \(r.stderr)")
            // Reading a WAL database makes SQLite create its -wal and -shm side files; nothing
            // may be written: the file is identical and the -wal holds no frame.
            #expect(digest("") == before, "\(args) touched the ledger file")
            #expect(["absent", emptyWAL].contains(digest("-wal")), "\(args) wrote to the WAL")
        }
    }
}
