import Foundation
import GRDB
import Testing
@testable import InstallerLedger

@Suite struct MigrationTests {
    @Test(.sqliteOnly) func migratesAnEmptyFileAndRecordsChecksums() throws {
        let folder = TemporaryFolder()
        let path = folder.file("sub/dir/ledger.sqlite")
        let ledger = try Ledger.open(path: path)
        #expect(try ledger.appliedMigrations() == ["0001_initial", "0002_pending_creations_and_runs", "0003_reports", "0004_successions", "0005_accounts",
                                                     "0006_readable_views", "0007_coverage_index", "0008_plan_claims"])
        // A new ledger starts without accounts: the first API run or `account add` makes one.
        #expect(try ledger.accounts().isEmpty)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let folderAttributes = try FileManager.default.attributesOfItem(atPath: folder.file("sub/dir"))
        #expect((folderAttributes[.posixPermissions] as? Int) == 0o700)
        let mode = try ledger.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
        #expect(mode == "wal")
        let fk = try ledger.read { db in try Int.fetchOne(db, sql: "PRAGMA foreign_keys") }
        #expect(fk == 1)
        // Reopening a current ledger works.
        _ = try Ledger.open(path: path)
    }

    /// Tamper with a closed ledger through a plain connection.
    func tamper(_ path: String, _ sql: String) throws {
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in try db.execute(sql: sql) }
        try queue.close()
    }

    func checkpointed(_ path: String) throws {
        let ledger = try Ledger.open(path: path)
        _ = try ledger.record([Sample.received(Sample.installer(uuid: "keep"))], source: .import, at: Sample.now)
        try ledger.writeDatabaseWithoutTransaction { db in _ = try db.checkpoint(.truncate) }
    }

    func fileDigest(_ path: String) throws -> String {
        SHA256.hex([UInt8](try Data(contentsOf: URL(fileURLWithPath: path))))
    }

    @Test(.sqliteOnly) func refusesAnEditedShippedMigrationAndLeavesTheFileUntouched() throws {
        let folder = TemporaryFolder()
        let path = folder.file("ledger.sqlite")
        try checkpointed(path)
        try tamper(path, "UPDATE ledger_migration_checksums SET sha256 = 'edited' WHERE identifier = '0001_initial'")
        let before = try fileDigest(path)
        #expect(throws: LedgerError.editedMigration(path: path, identifier: "0001_initial")) { try Ledger.open(path: path) }
        #expect(try fileDigest(path) == before)
    }

    @Test(.sqliteOnly) func refusesALedgerFromANewerVersionUntouched() throws {
        let folder = TemporaryFolder()
        let path = folder.file("ledger.sqlite")
        try checkpointed(path)
        try tamper(path, "INSERT INTO grdb_migrations (identifier) VALUES ('0099_future')")
        let before = try fileDigest(path)
        #expect(throws: LedgerError.newerSchema(path: path, unknownMigrations: ["0099_future"])) { try Ledger.open(path: path) }
        #expect(try fileDigest(path) == before)
    }

    @Test(.sqliteOnly) func refusesAFileThatIsNotALedger() throws {
        let folder = TemporaryFolder()
        let path = folder.file("notes.txt")
        try Data("hello, not sqlite at all, just text that is long enough".utf8).write(to: URL(fileURLWithPath: path))
        #expect { try Ledger.open(path: path) } throws: { error in
            guard case LedgerError.cannotOpen = error else { return false }
            return true
        }
    }

    @Test func historyIsAppendOnly() throws {
        let ledger = try freshLedger()
        _ = try ledger.record([Sample.received(Sample.installer(uuid: "a"))], source: .import, at: Sample.now)
        for change in ["DELETE FROM events", "UPDATE events SET kind = 'deleted'"] {
            #expect { try ledger.write { db in try db.execute(sql: change) } } throws: { error in
                String(describing: error).contains("events are append-only")
            }
        }
    }
}

@Suite struct ImportTests {
    @Test func secondImportChangesNothing() throws {
        let ledger = try freshLedger()
        let text = [Sample.answer(Sample.installer(uuid: "a")), Sample.answer(Sample.installer(uuid: "b"))].joined(separator: "\n")
        #expect(try ledger.importAnswers([Sample.input(text)], at: Sample.now) == RecordSummary(new: 2))
        let dump = try ledger.contentDump()
        #expect(try ledger.importAnswers([Sample.input(text)], at: Sample.now.adding(.days(1))) == RecordSummary(unchanged: 2))
        #expect(try ledger.contentDump() == dump)
        #expect(try ledger.events(matching: EventFilter()).map(\.kind) == [.recorded, .recorded])
    }

    @Test func aLaterLineForTheSameUuidWinsWhateverTheOrder() throws {
        // Import records a chunk in uuid order; equal uuids must keep their input order.
        let ledger = try freshLedger()
        let lines = [
            Sample.answer(Sample.installer(uuid: "c", name: "First")),
            Sample.answer(Sample.installer(uuid: "a")),
            Sample.answer(Sample.installer(uuid: "c", name: "Second")),
            Sample.answer(Sample.installer(uuid: "b")),
            Sample.answer(Sample.installer(uuid: "c", name: "Third")),
        ]
        #expect(try ledger.importAnswers([Sample.input(lines.joined(separator: "\n"))], at: Sample.now)
                == RecordSummary(new: 3, changed: 2))
        #expect(try ledger.installer("c").installer.displayName == "Third")
        var filter = EventFilter()
        filter.installerUuid = "c"
        let names = try ledger.events(matching: filter).compactMap(\.details)
        #expect(names.count == 3)
        #expect(names[1].contains("\"old\":\"First\"") && names[2].contains("\"new\":\"Third\""))
    }

    @Test func aChangedFieldIsAnEventWithOldAndNewValues() throws {
        let ledger = try freshLedger()
        var i = Sample.installer(uuid: "a", name: "Old name")
        _ = try ledger.record([Sample.received(i)], source: .import, at: Sample.now)
        i.displayName = "New name"
        i.activatedProducts.append(Sample.complete)
        i.downloadUrl = "https://download.example.invalid/rotated-secret"
        let later = Sample.now.adding(.hours(1))
        #expect(try ledger.record([Sample.received(i)], source: .import, at: later) == RecordSummary(changed: 1))
        let events = try ledger.events(matching: EventFilter())
        #expect(events.map(\.kind) == [.recorded, .changed])
        let details = try #require(events[1].details)
        guard case .object(let diff) = try JSONParser.parse(Array(details.utf8)) else { Issue.record("not an object"); return }
        #expect(diff.keys == ["displayName", "downloadUrl", "activatedProducts"])
        #expect(diff["displayName"] == .object(JSONObject(keys: ["old", "new"], values: [.string("Old name"), .string("New name")])))
        #expect(!details.contains("rotated-secret"))
        let stored = try ledger.installer("a")
        #expect(stored.installer == i)
        #expect(stored.lastSeen == later)
    }

    @Test func usableFalseFromTheAPIMakesItUnusable() throws {
        let ledger = try freshLedger()
        var i = Sample.installer(uuid: "a")
        _ = try ledger.record([Sample.received(i)], source: .import, at: Sample.now)
        i.usable = false
        _ = try ledger.record([Sample.received(i)], source: .import, at: Sample.now)
        let stored = try ledger.installer("a")
        #expect(stored.status == .unusable)
        #expect(stored.statusReason == "api")
        #expect(try ledger.events(matching: EventFilter()).map(\.kind) == [.recorded, .changed, .becameUnusable])
    }

    @Test func aBadRecordInTheMiddleWritesNothing() throws {
        let ledger = try freshLedger()
        _ = try ledger.importAnswers([Sample.input(Sample.answer(Sample.installer(uuid: "existing", name: "Before")))], at: Sample.now)
        let before = try ledger.contentDump()
        let good = Sample.answer(Sample.installer(uuid: "new-1"))
        let changed = Sample.answer(Sample.installer(uuid: "existing", name: "After"))
        let bad = #"{"installer": {"uuid": "new-2", "expireTime": "string"}}"#
        let text = [good, changed, bad, Sample.answer(Sample.installer(uuid: "new-3"))].joined(separator: "\n")
        #expect {
            try ledger.importAnswers([Sample.input(Sample.answer(Sample.installer(uuid: "other-file"))), Sample.input(text, name: "batch.ndjson")], at: Sample.now)
        } throws: { error in
            "\(error)".hasPrefix("batch.ndjson, line 3 (record 3): installer.expireTime: \"string\" is not an RFC 3339 timestamp")
        }
        #expect(try ledger.contentDump() == before)
    }

    @Test func rawAnswerIsStoredAndRefreshedWithoutAnEvent() throws {
        let ledger = try freshLedger()
        let base = #"{"uuid": "a", "displayName": "x", "usable": true"#
        _ = try ledger.importAnswers([Sample.input(base + "}")], at: Sample.now)
        #expect(try ledger.rawAnswer(uuid: "a") == base + "}")
        let summary = try ledger.importAnswers([Sample.input(base + #", "newField": 1}"#)], at: Sample.now)
        #expect(summary == RecordSummary(unchanged: 1))
        #expect(try ledger.rawAnswer(uuid: "a") == base + #", "newField": 1}"#)
        #expect(try ledger.events(matching: EventFilter()).count == 1)
    }
}

@Suite struct ListFilterTests {
    let ledger: Ledger
    let now = Sample.now  // 2026-11-29T12:00:00Z

    init() throws {
        ledger = try freshLedger()
        let vienna = ("g-vienna", "Branch Vienna"), hq = ("g-hq", "Head Office")
        let installers = [
            Sample.installer(uuid: "a-soon", name: "Vienna PCs", group: vienna, created: "2026-06-05T08:00:00Z"),    // expires 12-05
            Sample.installer(uuid: "b-month", name: "HQ Macs", os: 3, group: hq, created: "2026-06-25T08:00:00Z",
                             products: [Sample.complete]),                                                          // expires 12-25
            Sample.installer(uuid: "c-gone", name: "Linz 100% scanners", group: hq, created: "2026-05-01T08:00:00Z", usable: false),
            Sample.installer(uuid: "d-fresh", name: "Zürich Kiosk", group: vienna, created: "2026-11-20T08:00:00Z",
                             products: [Sample.entry, Sample.complete]),
        ]
        _ = try ledger.record(installers.map(Sample.received), source: .import, at: now)
    }

    func uuids(_ configure: (inout InstallerFilter) throws -> Void) throws -> [String] {
        var f = InstallerFilter()
        try configure(&f)
        return try ledger.installers(matching: f, at: now).map(\.installer.uuid)
    }

    @Test func everyFilter() throws {
        #expect(try uuids { _ in } == ["c-gone", "a-soon", "b-month", "d-fresh"])
        #expect(try uuids { $0.status = .usable } == ["a-soon", "b-month", "d-fresh"])
        #expect(try uuids { $0.status = .unusable } == ["c-gone"])
        #expect(try uuids { $0.expiringWithin = .days(7) } == ["a-soon"])
        #expect(try uuids { $0.expiringWithin = .days(30) } == ["a-soon", "b-month"])
        #expect(try uuids { $0.expired = true } == ["c-gone"])
        #expect(try uuids { $0.operatingSystemFamilyId = 3 } == ["b-month"])
        #expect(try uuids { $0.group = "g-vienna" } == ["a-soon", "d-fresh"])
        #expect(try uuids { $0.group = "head office" } == ["c-gone", "b-month"])
        #expect(try uuids { $0.product = "12" } == ["b-month", "d-fresh"])
        #expect(try uuids { $0.product = "eset protect entry" } == ["c-gone", "a-soon", "d-fresh"])
        #expect(try uuids { $0.subscriptionUuid = Sample.complete.subscriptionUuid } == ["b-month", "d-fresh"])
        #expect(try uuids { $0.createdAfter = try Timestamp(commandLine: "2026-06-25T08:00:00Z") } == ["b-month", "d-fresh"])
        #expect(try uuids { $0.createdBefore = try Timestamp(commandLine: "2026-06-25") } == ["c-gone", "a-soon"])
        #expect(try uuids { $0.nameContains = "vienna" } == ["a-soon"])
        #expect(try uuids { $0.nameContains = "100%" } == ["c-gone"])
        #expect(try uuids { $0.nameContains = "_" } == [])
        #expect(try uuids { $0.nameContains = "ZÜRICH" } == ["d-fresh"])
        #expect(try uuids { $0.group = "head office"; $0.status = .usable } == ["b-month"])
    }

    @Test func sortAndLimit() throws {
        #expect(try uuids { $0.sort = .name } == ["b-month", "c-gone", "a-soon", "d-fresh"])
        #expect(try uuids { $0.sort = .expires; $0.limit = 2 } == ["c-gone", "a-soon"])
        #expect(try uuids { $0.limit = 0 } == [])
    }

    @Test func prefixResolution() throws {
        #expect(try ledger.installer("d-").installer.uuid == "d-fresh")
        #expect(throws: LedgerError.installerNotFound("zz")) { try ledger.resolve("zz") }
        _ = try ledger.record([Sample.received(Sample.installer(uuid: "b-other"))], source: .import, at: now)
        #expect(throws: LedgerError.ambiguousPrefix("b-", candidates: ["b-month", "b-other"])) { try ledger.resolve("b-") }
        #expect(try ledger.resolve("b-month") == "b-month")
    }
}

/// The views for people who open the ledger in sqlite3, Datasette or DB Browser.
@Suite struct ReadableViewTests {
    @Test func installersReadableHasRFC3339TimesWordsProductsAndNoDownloadURL() throws {
        let ledger = try freshLedger()
        let i = Sample.installer(uuid: "0b7f3c1e-5a2d-4c8e-9f10-2a3b4c5d6e7f", name: "Vienna PCs", os: 3,
                                 created: "2026-09-01T08:00:00Z", products: [Sample.entry, Sample.complete])
        _ = try ledger.record([Sample.received(i)], source: .import, at: Sample.now)
        try ledger.read { db in
            let row = try #require(try SQLRow.fetchOne(db, sql: "SELECT * FROM installers_readable"))
            #expect(row["uuid"] as String == i.uuid && row["account"] as String == "default")
            #expect(row["os"] as String == "macos" && row["create_time"] as String == "2026-09-01T08:00:00Z")
            #expect(row["expire_time"] as String == "2027-03-01T08:00:00Z")
            #expect(row["products"] as String == "ESET PROTECT Entry; ESET PROTECT Complete")
            #expect(row["component_ids"] as String == "13; 27" && row["status"] as String == "usable")
            #expect(!(0..<row.count).contains { row.name($0).contains("download") })
            #expect(!(0..<row.count).contains { row.text($0).contains("secret-part") })
            let event = try #require(try SQLRow.fetchOne(db, sql: "SELECT * FROM events_readable"))
            #expect(event["kind"] as String == "recorded" && event["at"] as String == "2026-11-29T12:00:00Z")
            #expect(event["account"] as String == "default")
            let account = try #require(try SQLRow.fetchOne(db, sql: "SELECT * FROM accounts_readable"))
            #expect(account["name"] as String == "default" && account["installers"] as Int == 1)
        }
    }
}
