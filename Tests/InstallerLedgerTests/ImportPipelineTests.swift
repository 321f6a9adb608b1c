import Foundation
import GRDB
import Testing
@testable import InstallerLedger

/// The bulk import path: decoding on its own thread, chunks in uuid order, batches of
/// installers written by multi-row statements with foreign keys off for the transaction.
@Suite struct ImportPipelineTests {
    /// 300 installers over 3 products and 2 groups, uuids in no particular order.
    static func installers(_ count: Int = 300, name: String = "Branch PCs") -> [Installer] {
        let vienna = ("5e0c3c43-0000-4000-8000-000000000001", "Vienna")
        let brno = ("5e0c3c43-0000-4000-8000-000000000002", "Brno")
        return (0..<count).map { (n: Int) -> Installer in
            let scrambled: Int = (n &* 2_654_435_761) & 0xffff_ffff
            let uuid = String(format: "%08x-0000-4000-8000-%012d", scrambled, n)
            let products: [ActivatedProduct] = n % 3 == 0 ? [Sample.entry, Sample.complete] : [Sample.entry]
            let components: [InstalledComponent] = n % 5 == 0 ? [Sample.agent] : [Sample.agent, Sample.endpoint]
            return Sample.installer(uuid: uuid, name: "\(name) \(n)", group: n % 2 == 0 ? vienna : brno,
                                    products: products, components: components)
        }
    }

    static func ndjson(_ installers: [Installer]) -> ImportInput {
        Sample.input(installers.map(Sample.answer).joined(separator: "\n"), name: "bulk.ndjson")
    }

    /// Everything the ledger holds about each installer, keyed by uuid (row ids and event
    /// ids differ with the order of recording; nothing else may).
    static func state(_ ledger: Ledger, _ uuids: [String]) throws -> [String] {
        try uuids.sorted().map { uuid in
            let found = try ledger.installer(uuid)
            var filter = EventFilter()
            filter.installerUuid = uuid
            let events = try ledger.events(matching: filter).map { "\($0.kind) \($0.at) \($0.source) \($0.reason ?? "-") \($0.details ?? "-")" }
            return "\(found) raw=\(try ledger.rawAnswer(uuid: uuid) ?? "none") events=\(events)"
        }
    }

    static func foreignKeyViolations(_ ledger: Ledger) throws -> Int {
        // PostgreSQL enforces its foreign keys on every write: nothing to check afterwards.
        guard !TestEngine.isPostgres else { return 0 }
        return try ledger.readDatabase { db in try Row.fetchAll(db, sql: "PRAGMA foreign_key_check").count }
    }

    @Test func aBulkImportRecordsExactlyWhatRecordingOneByOneDoes() throws {
        let all = Self.installers()
        let earlier = Array(all[0..<120])
        // The import: 60 known and unchanged, 60 known with changes (name, products,
        // components, usable), 180 new, and 20 uuids that come again later in the file.
        var input = Array(all[0..<60])
        for var i in all[60..<120] {
            i.displayName += " (renamed)"
            i.activatedProducts = [Sample.complete]
            i.installedComponents = [Sample.endpoint]
            i.usable = i.uuid.hasPrefix("0") ? false : i.usable
            input.append(i)
        }
        input += all[120...]
        for var i in all[100..<120] + all[200..<210] {
            i.displayName = "Second line for \(i.uuid)"
            input.append(i)
        }
        let later = Sample.now.adding(.hours(2))

        let bulk = try freshLedger()
        _ = try bulk.record(earlier.map(Sample.received), source: .import, at: Sample.now)
        let bulkSummary = try bulk.importAnswers([Self.ndjson(input)], at: later, chunks: (first: 7, then: 50))

        let oneByOne = try freshLedger()
        _ = try oneByOne.record(earlier.map(Sample.received), source: .import, at: Sample.now)
        let expected = try oneByOne.record(source: .import, at: later) { record in
            for i in input { try record(Sample.received(i)) }
        }

        #expect(bulkSummary == expected)
        #expect(bulkSummary == RecordSummary(new: 180, changed: 90, unchanged: 60))
        let uuids = all.map(\.uuid)
        #expect(try Self.state(bulk, uuids) == Self.state(oneByOne, uuids))
        #expect(try Self.foreignKeyViolations(bulk) == 0)
        #expect(try bulk.installer(all[205].uuid).installer.displayName == "Second line for \(all[205].uuid)")
    }

    @Test(.sqliteOnly) func foreignKeysAreEnforcedAgainAfterAnImportWhetherItSucceedsOrFails() throws {
        let folder = TemporaryFolder()
        let ledger = try Ledger.open(path: folder.ledger())
        let orphan = "INSERT INTO activated_products (installer_uuid, position) VALUES ('no-such-installer', 0)"
        _ = try ledger.importAnswers([Self.ndjson(Self.installers(10))], at: Sample.now)
        #expect(throws: DatabaseError.self) { try ledger.write { try $0.execute(sql: orphan) } }
        #expect(throws: ImportError.self) { try ledger.importAnswers([Sample.input("{\"installer\": 1}")], at: Sample.now) }
        #expect(throws: DatabaseError.self) { try ledger.write { try $0.execute(sql: orphan) } }
        #expect(try Self.foreignKeyViolations(ledger) == 0)
    }

    @Test func aBadRecordAfterManyRecordedChunksWritesNothing() throws {
        let ledger = try freshLedger()
        _ = try ledger.importAnswers([Self.ndjson(Self.installers(30))], at: Sample.now)
        let before = try ledger.contentDump()
        var lines = Self.installers(200, name: "Changed").map(Sample.answer)
        lines.insert(#"{"installer": {"uuid": "bad", "createTime": 17}}"#, at: 150)
        #expect {
            try ledger.importAnswers([Sample.input(lines.joined(separator: "\n"), name: "big.ndjson")], at: Sample.now,
                                     chunks: (first: 3, then: 16))
        } throws: { error in
            "\(error)".hasPrefix("big.ndjson, line 151 (record 151): installer.createTime:")
        }
        #expect(try ledger.contentDump() == before)
    }

    @Test(.sqliteOnly) func aFailedRecordingStopsTheDecoderAndWritesNothing() throws {
        let ledger = try freshLedger()
        try ledger.writeDatabaseWithoutTransaction { db in
            try db.execute(sql: """
                CREATE TEMP TRIGGER refuse BEFORE INSERT ON installers WHEN NEW.display_name = 'Branch PCs 40'
                BEGIN SELECT RAISE(ABORT, 'refused by the test'); END
                """)
        }
        let before = try ledger.contentDump()
        // The decoder is chunks ahead and waits on the full hand-over when recording fails.
        #expect {
            try ledger.importAnswers([Self.ndjson(Self.installers(2_000))], at: Sample.now, chunks: (first: 2, then: 4))
        } throws: { error in
            "\(error)".contains("refused by the test")
        }
        #expect(try ledger.contentDump() == before)
    }
}
