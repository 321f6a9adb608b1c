import Foundation
import Testing
@testable import ESETConnectSandbox
@testable import InstallerLedger

/// Input written by someone else: truncated JSON, wrong types, invalid UTF-8, deep nesting,
/// duplicate keys, NUL bytes, huge lines, timestamps out of range. `import` and
/// `create --from` refuse it with the file, line and what is wrong, and the ledger keeps
/// exactly what it held. The long seeded runs are `scripts/reliability fuzz`.
@Suite struct HostileInputTests {
    static func fixture(_ name: String) throws -> [UInt8] {
        let url = repositoryRoot.appendingPathComponent("Tests/InstallerLedgerTests/Fixtures/hostile/\(name)")
        return Array(try Data(contentsOf: url))
    }

    /// A ledger holding the shipped examples, and its content before the hostile run.
    static func ledgerWithExamples() throws -> (Ledger, String) {
        let ledger = try freshLedger()
        let examples = repositoryRoot.appendingPathComponent("examples/installers.ndjson")
        _ = try ledger.importAnswers([ImportInput(name: "installers.ndjson", bytes: Array(try Data(contentsOf: examples)))], at: Sample.now)
        return (ledger, try ledger.contentDump())
    }

    /// Imports bytes that must be refused; returns the message, checking nothing was written.
    static func refusal(_ bytes: [UInt8], name: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let (ledger, before) = try ledgerWithExamples()
        var message = ""
        do {
            _ = try ledger.importAnswers([ImportInput(name: name, bytes: bytes)], at: Sample.now)
            Issue.record("\(name) was imported", sourceLocation: sourceLocation)
        } catch let error as ImportError {
            if case .unreadable = error { Issue.record("\(name): \(error)", sourceLocation: sourceLocation) }
            message = error.description
        }
        #expect(try ledger.contentDump() == before, "\(name) changed the ledger", sourceLocation: sourceLocation)
        return message
    }

    // MARK: - The corpus

    @Test(arguments: [
        ("truncated.json", "truncated.json, line 1, column 64: unterminated string"),
        // NDJSON: a record cut short on line 3, a good one on line 4: the error is on line 3.
        ("truncated-record.ndjson", "truncated-record.ndjson, line 3, column 27: unexpected end of input inside an object"),
        ("wrong-type.ndjson", "wrong-type.ndjson, line 2 (record 2): operatingSystemFamilyId: expected an int64, found an array"),
        ("invalid-utf8.json", "invalid-utf8.json, line 1, column 65: invalid UTF-8 in a string"),
        ("duplicate-key.json", "duplicate-key.json, line 1, column 202: duplicate key \"usable\""),
        ("nul-byte.ndjson", "nul-byte.ndjson, line 2, column 67: control character byte 0x0 in a string"),
        ("timestamp-out-of-range.json", "line 1 (record 1): installers[1].expireTime: \"9999-12-31T23:59:59Z\" is a timestamp out of range"),
        ("impossible-date.json", "createTime: \"2026-02-30T00:00:00Z\" is a timestamp out of range"),
        ("number-overflow.json", "operatingSystemFamilyId: expected an int64 (number or numeric string)"),
        ("control-character.json", "control character byte 0x7 in a string (must be escaped)"),
        ("lone-surrogate.json", "unpaired UTF-16 surrogate"),
        ("not-an-object.json", "not-an-object.json, line 1 (record 1): [0]: expected an installer answer object, found a number"),
    ])
    func corpusIsRefusedPreciselyAndWritesNothing(file: String, expected: String) throws {
        let message = try Self.refusal(try Self.fixture(file), name: file)
        #expect(message.contains(expected), "\(message)")
        #expect(message.hasSuffix("run import again"))
        #expect(!message.contains("\n"))
    }

    @Test func deepNestingIsRefusedWithoutExhaustingTheStack() throws {
        let deep = [UInt8](repeating: UInt8(ascii: "["), count: 1_000_000)
        let message = try Self.refusal(deep, name: "deep.json")
        #expect(message.contains("deep.json, line 1, column 65: nesting deeper than 64 levels"), "\(message)")
        let objects = Array(String(repeating: #"{"installer":"#, count: 100).utf8)
        #expect(try Self.refusal(objects, name: "objects.json").contains("nesting deeper than 64 levels"))
    }

    @Test func aTenMegabyteSingleLineIsRefusedAtItsEnd() throws {
        // A 10 MB display name, the closing braces cut off.
        var line = Array(#"{"uuid": "0b7f3c1e-5a2d-4c8e-9f10-2a3b4c5d6e7f", "displayName": ""#.utf8)
        line += [UInt8](repeating: UInt8(ascii: "N"), count: 10 << 20)
        line += Array(#"", "usable": true"#.utf8)
        let message = try Self.refusal(line, name: "huge.ndjson")
        #expect(message.contains("huge.ndjson, line 1, column"), "\(message.prefix(200))")
        #expect(message.contains("truncated JSON"))
        #expect(message.utf8.count < 400, "the message quotes the huge input")
    }

    @Test func aHugeFieldOfTheWrongKindIsNotEchoedWhole() throws {
        let big = String(repeating: "u", count: 1 << 20)
        let text = #"{"uuid": "0b7f3c1e-5a2d-4c8e-9f10-2a3b4c5d6e7f", "operatingSystemFamilyId": "\#(big)"}"#
        let message = try Self.refusal(Array(text.utf8), name: "big.json")
        #expect(message.contains("big.json, line 1 (record 1): operatingSystemFamilyId"), "\(message.prefix(200))")
        #expect(message.utf8.count < 2000, "the message quotes a 1 MiB value whole")
    }

    @Test func aBadRecordAfterManyGoodOnesWritesNoneOfThem() throws {
        var text = ""
        for i in 0..<500 { text += Sample.answer(Sample.installer(uuid: String(format: "00000000-0000-4000-8000-%012d", i))) + "\n" }
        text += #"{"installer": {"uuid": "00000000-0000-4000-8000-999999999999", "usable": "yes"}}"# + "\n"
        let message = try Self.refusal(Array(text.utf8), name: "many.ndjson")
        #expect(message.contains("many.ndjson, line 501 (record 501): installer.usable"), "\(message)")
    }

    // MARK: - A seeded generator

    @Test func seededMutationsAreEitherRecordedWholeOrRefusedWithAPlace() throws {
        // The sandbox's SplitMix64: the same seed, the same inputs, on every platform.
        var rng = SeededGenerator(seed: 7)
        let valid = Array(Sample.answer(Sample.installer(uuid: "0b7f3c1e-5a2d-4c8e-9f10-2a3b4c5d6e7f")).utf8)
        let (ledger, _) = try Self.ledgerWithExamples()
        var refused = 0
        for trial in 0..<400 {
            var bytes = valid
            switch trial % 5 {
            case 0: bytes = Array(bytes.prefix(Int.random(in: 0..<bytes.count, using: &rng)))
            case 1: for _ in 0..<3 { bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng) }
            case 2: bytes.insert(contentsOf: [0xFF, 0x00, 0xC3], at: Int.random(in: 0..<bytes.count, using: &rng))
            case 3: bytes.removeSubrange(Int.random(in: 0..<(bytes.count / 2), using: &rng)..<Int.random(in: (bytes.count / 2)..<bytes.count, using: &rng))
            default: bytes = Array(repeating: UInt8(ascii: "["), count: Int.random(in: 1...500, using: &rng)) + bytes
            }
            let before = try ledger.contentDump()
            do {
                _ = try ledger.importAnswers([ImportInput(name: "fuzz.json", bytes: bytes)], at: Sample.now)
            } catch let error as ImportError {
                refused += 1
                #expect(error.description.hasPrefix("fuzz.json, line "), "trial \(trial): \(error)")
                #expect(try ledger.contentDump() == before, "trial \(trial) changed the ledger")
            }
        }
        #expect(refused > 300)
    }

    // MARK: - create --from

    @Test(arguments: [
        ("plan-invalid-utf8.csv", "plan-invalid-utf8.csv, line 2: invalid UTF-8"),
        ("plan-nul.ndjson", "plan-nul.ndjson, line 2: column 14: control character byte 0x0"),
        ("plan-wrong-type.ndjson", "plan-wrong-type.ndjson, line 2: field name is an array, not a string"),
        ("plan-truncated.ndjson", "plan-truncated.ndjson, line 2:"),
        ("plan-duplicate-key.ndjson", "plan-duplicate-key.ndjson, line 1: column 19: duplicate key \"name\""),
        ("plan-unbalanced-quote.csv", "plan-unbalanced-quote.csv, line 2: a quoted value is not closed"),
    ])
    func hostilePlansAreRefusedWithTheirLine(file: String, expected: String) throws {
        let bytes = try Self.fixture(file)
        do {
            _ = try CreationPlan.parse(bytes, source: file)
            Issue.record("\(file) was accepted")
        } catch {
            #expect(error.description.contains(expected), "\(error.description)")
            #expect(error.description.hasSuffix("nothing was sent, fix the plan and run create --from again"))
        }
    }

    /// Regression: a plan with an invalid byte on line 3 was reported at "line 1".
    @Test func invalidUTF8InAPlanNamesItsLine() {
        let plan: [UInt8] = Array("name,os\nKiosk,windows\nBranch ".utf8) + [0xC3, 0x28] + Array(" PCs,windows\n".utf8)
        #expect(throws: CreationPlanError.syntax(file: "plan.csv", line: 3, message: "invalid UTF-8 (the plan must be UTF-8 text)")) {
            try CreationPlan.parse(plan, source: "plan.csv")
        }
    }

    @Test func aTenMegabytePlanLineIsRefused() {
        let plan = Array("name,os\n".utf8) + [UInt8](repeating: UInt8(ascii: "x"), count: 10 << 20) + Array(",windows\n".utf8)
        do {
            _ = try CreationPlan.parse(plan, source: "big.csv")
            Issue.record("a 10 MB name was accepted")
        } catch {
            #expect(error.description.hasPrefix("big.csv, line 2: field name is longer than 1024 bytes"), "\(error.description.prefix(200))")
        }
    }

    // MARK: - The built binary

    @Test func theBinaryExits65OnEveryHostileFileAndTheLedgerIsUnchanged() throws {
        let folder = TemporaryFolder()
        let db = folder.ledger()
        let examples = repositoryRoot.appendingPathComponent("examples/installers.ndjson").path
        #expect(try runProduct("installer-ledger", ["import", examples, "--db", db]).status == 0)
        let before = try Ledger.open(path: db).contentDump()
        let hostile = repositoryRoot.appendingPathComponent("Tests/InstallerLedgerTests/Fixtures/hostile").path
        let files = try FileManager.default.contentsOfDirectory(atPath: hostile).sorted()
        #expect(files.count >= 17)
        for file in files {
            let path = hostile + "/" + file
            // create --from never reaches the network for a bad plan: port 9 (discard) is never called.
            let args = file.hasPrefix("plan-")
                ? ["create", "--from", path, "--db", db, "--api-url", "http://127.0.0.1:9"]
                : ["import", path, "--db", db]
            let r = try runProduct("installer-ledger", args, environment: ["ESET_CONNECT_USERNAME": "api@example.com", "ESET_CONNECT_PASSWORD": "sandbox"])
            #expect(r.status == 65, "\(file): \(r.stderr)")
            #expect(r.stderr.hasPrefix("installer-ledger: error: \(path), line "), "\(file): \(r.stderr)")
            #expect(r.stderr.split(separator: "\n").count == 1, "\(file)")
            #expect(r.stdout.isEmpty, "\(file)")
        }
        #expect(try Ledger.open(path: db).contentDump() == before)
    }
}

/// Objects with very many keys: every duplicate still found, in linear time (measured in the
/// closing note of the hardening issue, not asserted here).
@Suite struct ManyKeyObjectTests {
    static func object(keys: Int, duplicate: Int? = nil) -> [UInt8] {
        var text = "{"
        for k in 0..<keys { text += (k == 0 ? "" : ",") + "\"k\(k)\":\(k)" }
        if let duplicate { text += ",\"k\(duplicate)\":true" }
        return Array((text + "}").utf8)
    }

    @Test func aDuplicateIsFoundWhereverItIs() throws {
        for keys in [3, 15, 16, 17, 20_000] {
            guard case .object(let o) = try JSONParser.parse(Self.object(keys: keys)) else { Issue.record("not an object"); continue }
            #expect(o.keys.count == keys)
            for duplicate in Set([0, keys / 2, keys - 1]) {
                #expect(throws: JSONSyntaxError.self, "\(keys) keys, duplicate of k\(duplicate)") {
                    try JSONParser.parse(Self.object(keys: keys, duplicate: duplicate))
                }
                do {
                    _ = try JSONParser.parse(Self.object(keys: keys, duplicate: duplicate))
                } catch {
                    #expect("\(error)".hasSuffix("duplicate key \"k\(duplicate)\""))
                }
            }
        }
    }
}

/// The line an NDJSON error names is the line where the bad record began.
@Suite struct NDJSONLineTests {
    @Test func aCutRecordIsReportedOnItsOwnLine() {
        let good = #"{"a": 1}"#
        for (text, line) in [("\(good)\n{\"a\": \n\(good)\n", 2), ("{\"a\": [1,\n\(good)\n", 1), ("\(good)\r\n\(good)\r\n{\"a\"\r\n\(good)\r\n", 3)] {
            do {
                try JSONParser.forEachValue(in: Array(text.utf8)) { _, _ in }
                Issue.record("\(text) must fail")
            } catch let error as JSONSyntaxError {
                #expect(error.line == line, "\(text): \(error)")
            } catch {
                Issue.record("\(error)")
            }
        }
        // A pretty-printed document cut short stays an error at its end.
        do {
            try JSONParser.forEachValue(in: Array("{\n  \"a\": 1,\n  \"b\": [\n".utf8)) { _, _ in }
        } catch let error as JSONSyntaxError {
            #expect(error.line == 4 && error.message.contains("unexpected end"), "\(error)")
        } catch {
            Issue.record("\(error)")
        }
    }
}
