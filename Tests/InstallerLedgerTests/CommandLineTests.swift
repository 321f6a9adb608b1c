import Foundation
import Testing
@testable import InstallerLedger

/// End-to-end runs of the built `installer-ledger` binary: stdout, stderr, exit code and
/// the database afterwards.
@Suite struct CommandLineTests {
    let folder = TemporaryFolder()
    var db: String { folder.ledger() }
    let examples = repositoryRoot.appendingPathComponent("examples").path
    let now = "2026-11-29T12:00:00Z"

    func run(_ args: [String], stdin: String? = nil) throws -> ProcessResult {
        try runProduct("installer-ledger", args, environment: ["INSTALLER_LEDGER_DB": db], stdin: stdin)
    }

    func importExamples() throws {
        let r = try run(["import", "\(examples)/create-answer.json", "\(examples)/list-page-1.json",
                         "\(examples)/list-page-2.json", "\(examples)/installers.ndjson"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout == "10 new, 0 changed, 0 unchanged\n")
    }

    @Test func importListShowHistory() throws {
        try importExamples()
        let again = try run(["import", "\(examples)/list-page-1.json"])
        #expect(again.stdout == "0 new, 0 changed, 4 unchanged\n")

        let table = try run(["list", "--now", now])
        #expect(table.status == 0)
        let expected = try String(contentsOf: repositoryRoot.appendingPathComponent("Tests/InstallerLedgerTests/Fixtures/list-examples.txt"), encoding: .utf8)
        #expect(table.stdout == expected)
        #expect(table.stdout.split(separator: "\n").allSatisfy { $0.count <= 100 })

        let json = try run(["list", "--now", now, "--expiring-within", "30d", "--format", "json"])
        let parsed = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]]
        #expect(parsed?.map { $0["displayName"] as? String } == ["Head office Windows", "Lost & found fallback", "Head office Macs"])
        #expect(parsed?.first?["status"] as? String == "usable")
        #expect(parsed?.first?["downloadUrl"] as? String == "[redacted]")
        #expect((parsed?.first?["activatedProducts"] as? [[String: Any]])?.first?["productId"] as? Int == 12)

        let ndjson = try run(["list", "--now", now, "--os", "macos", "--format", "ndjson"])
        #expect(ndjson.stdout.split(separator: "\n").count == 3)

        let csv = try run(["list", "--now", now, "--group", "head office", "--format", "csv"])
        #expect(csv.stdout.hasPrefix("uuid,display_name,os,"))
        #expect(csv.stdout.components(separatedBy: "\r\n").count == 5)  // header + 3 rows + final empty
        #expect(!csv.stdout.contains("download.example.invalid"))

        let empty = try run(["list", "--name", "nothing-like-this", "--format", "json"])
        #expect(empty.status == 0 && empty.stdout == "[]\n")

        let show = try run(["show", "8a6a63ec", "--now", now])
        #expect(show.status == 0)
        #expect(show.stdout.contains("download URL:           https://download.example.invalid/installers/8a6a63ec"))
        #expect(show.stdout.contains("ESET PROTECT Complete (product 12)"))
        #expect(show.stdout.contains("recorded by import"))
        let showJSON = try run(["show", "8a6a63ec-24ed-46a4-ab4c-b2424a23d596", "--format", "json"])
        let object = try JSONSerialization.jsonObject(with: Data(showJSON.stdout.utf8)) as? [String: Any]
        #expect((object?["history"] as? [[String: Any]])?.count == 1)

        let history = try run(["history", "--kind", "recorded", "--format", "csv"])
        #expect(history.stdout.components(separatedBy: "\r\n").count == 12)
        let one = try run(["history", "8a6a", "--format", "ndjson"])
        #expect(one.stdout.split(separator: "\n").count == 1)
    }

    @Test func malformedFileExits65AndLeavesTheLedgerUntouched() throws {
        try importExamples()
        let before = try Ledger.open(path: db).contentDump()
        let bad = folder.file("bad.ndjson")
        try """
            {"uuid": "11111111-1111-4111-8111-111111111111", "displayName": "fine"}
            {"uuid": "22222222-2222-4222-8222-222222222222", "createTime": "string"}
            """.write(toFile: bad, atomically: true, encoding: .utf8)
        let r = try run(["import", bad])
        #expect(r.status == 65)
        #expect(r.stderr.contains("bad.ndjson, line 2 (record 2): createTime: \"string\" is not an RFC 3339 timestamp"))
        #expect(r.stderr.split(separator: "\n").count == 1)
        #expect(try Ledger.open(path: db).contentDump() == before)

        let truncated = try run(["import", "-"], stdin: #"{"installer": {"uuid": "x""#)
        #expect(truncated.status == 65)
        #expect(truncated.stderr.contains("stdin, line 1"))
    }

    @Test func usageErrorsExit64WithWhatIsAccepted() throws {
        let r = try run(["list", "--expiring-within", "30 days"])
        #expect(r.status == 64)
        #expect(r.stderr.contains("90m, 12h, 30d, 2w"))
        let date = try run(["list", "--created-after", "31.03.2026"])
        #expect(date.status == 64)
        #expect(date.stderr.contains("2026-05-01"))
        let format = try run(["list", "--format", "xml"])
        #expect(format.status == 64)
        // A read never creates a ledger: 66 says there is none and how to make one.
        // (On PostgreSQL: a database without the ledger's tables.)
        let noLedger = TestEngine.isPostgres
            ? try runProduct("installer-ledger", ["show", "nope", "--db", TestEngine.newPostgresDatabase()]) : try run(["show", "nope"])
        #expect(noLedger.status == 66 && noLedger.stderr.contains("there is no ledger at"))
        #expect(!FileManager.default.fileExists(atPath: folder.file("ledger.sqlite")))
        #expect(try run(["import", repositoryRoot.appendingPathComponent("examples/installers.ndjson").path]).status == 0)
        let missing = try run(["show", "nope"])
        #expect(missing.status == 64)
        #expect(missing.stderr.contains("no installer in the ledger matches 'nope'"))
        let noFile = try run(["import", folder.file("missing.json")])
        #expect(noFile.status == 74)
    }

    @Test func refusedLedgerExits74() throws {
        let path = folder.file("not-a-ledger.sqlite")
        try Data(repeating: 0x41, count: 4096).write(to: URL(fileURLWithPath: path))
        let r = try runProduct("installer-ledger", ["list", "--db", path])
        #expect(r.status == 74)
        #expect(r.stderr.contains("cannot open the ledger"))
    }
}

/// Commands that only read never create a ledger (or its folder): 66 with how to make one.
@Suite struct ReadOnlyCommandTests {
    @Test(arguments: [["list"], ["show", "8a6a"], ["history"], ["gaps"], ["export"], ["export", "--table", "events"],
                      ["reconcile", "--offline", "--dry-run"], ["account", "list"], ["account", "show", "acme"]])
    func aReadNeverCreatesALedger(_ command: [String]) throws {
        let folder = TemporaryFolder()
        let db = folder.file("no/such/dir/ledger.sqlite")
        let r = try runProduct("installer-ledger", command + ["--db", db])
        #expect(r.status == 66, "\(command): \(r.stderr)")
        #expect(r.stderr.contains("there is no ledger at \(db)") && r.stderr.contains("import"), "\(r.stderr)")
        #expect(r.stdout.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: folder.file("no")), "\(command) created a folder")
    }
}

/// `--db` and `-v` are global: accepted before the subcommand as well as after it.
@Suite struct GlobalOptionTests {
    @Test func globalOptionsBeforeTheSubcommand() throws {
        let folder = TemporaryFolder()
        let db = folder.ledger()
        let examples = repositoryRoot.appendingPathComponent("examples/installers.ndjson").path
        let imported = try runProduct("installer-ledger", ["--db", db, "import", examples])
        #expect(imported.status == 0, "\(imported.stderr)")
        let listed = try runProduct("installer-ledger", ["-v", "--db=\(db)", "list", "--format", "csv"])
        #expect(listed.status == 0 && listed.stdout.hasPrefix("uuid,"), "\(listed.stderr)")
        // -v before the subcommand logs (to stderr) like -v after it.
        #expect(listed.stderr.contains("opened ledger"), "\(listed.stderr)")
        let nested = try runProduct("installer-ledger", ["--db", db, "account", "list", "--format", "csv"])
        #expect(nested.status == 0 && nested.stdout.contains("default"), "\(nested.stderr)")
        // After `--` nothing is an option: a file named -v is imported, not taken for --verbose.
        let dash = try runProduct("installer-ledger", ["--db", db, "import", "--", "-v"])
        #expect(dash.status == 74 && dash.stderr.contains("-v"), "\(dash.stderr)")
    }
}

/// The progress line of `create --from` on a dumb terminal: no escape sequences.
@Suite struct ProgressLineTests {
    @Test func noEscapesOnADumbTerminal() {
        #expect(!ProgressLine.supportsEscapes(environment: ["TERM": "dumb"]))
        #expect(!ProgressLine.supportsEscapes(environment: [:]))
        #expect(ProgressLine.supportsEscapes(environment: ["TERM": "xterm-256color"]))
        let plain = ProgressLine.erase(width: 5, escapes: false)
        #expect(plain == "\r     \r" && !plain.contains("\u{1B}"))
        #expect(ProgressLine.erase(width: 5, escapes: true) == "\r\u{1B}[K")
    }
}

/// Shell completions complete values and file names.
@Suite struct CompletionTests {
    @Test func completionsListValuesAndFiles() throws {
        let fish = try runProduct("installer-ledger", ["--generate-completion-script", "fish"])
        #expect(fish.status == 0)
        let lines = fish.stdout.split(separator: "\n")
        func line(_ command: String, _ option: String) -> String {
            lines.first { $0.contains("\"installer-ledger \(command)\"") && $0.contains("-l '\(option)'") }.map(String.init) ?? ""
        }
        #expect(line("list", "format").contains("'table json ndjson csv'"))
        #expect(line("list", "status").contains("usable unusable deleted pending all"))
        #expect(line("list", "os").contains("windows macos linux"))
        #expect(line("export", "table").contains("'installers products events'"))
        #expect(line("history", "kind").contains("recorded changed became_unusable deleted superseded pending resolved restored conflict"))
        #expect(line("sync", "region").contains("'eu de us jpn ca'"))
        #expect(line("report", "format").contains("text json csv markdown prometheus"))
        for (command, option) in [("list", "db"), ("export", "output"), ("create", "from"), ("sync", "password-file")] {
            #expect(line(command, option).hasSuffix("-rF") || line(command, option).contains("__fish_complete"), "\(command) --\(option)")
        }
        for shell in ["bash", "zsh"] {
            let script = try runProduct("installer-ledger", ["--generate-completion-script", shell])
            #expect(script.status == 0 && script.stdout.contains("installers") && script.stdout.contains("prometheus"), "\(shell)")
        }
    }
}
