import Foundation
import GRDB
import LedgerMigrations
import PostgresNIO
@testable import ESETConnectSandbox
import Testing
@testable import InstallerLedger

/// Issue 16: PostgreSQL URLs and passwords, without a server.
@Suite struct PostgresURLTests {
    @Test func urlsParseAsLibpqReadsThem() throws {
        let u = try PostgresURL(parsing: "postgresql://alice:s%40cret@db.example.com:6543/ledger?sslmode=verify-full&sslrootcert=/etc/ca.pem")
        #expect(u.user == "alice" && u.password == "s@cret" && u.host == "db.example.com" && u.port == 6543)
        #expect(u.database == "ledger" && u.sslMode == .verifyFull && u.sslRootCert == "/etc/ca.pem")
        #expect(u.redacted == "postgresql://alice@db.example.com:6543/ledger?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem")
        let short = try PostgresURL(parsing: "postgres://db/ledger")
        #expect(short.user == nil && short.port == 5432 && short.sslMode == .prefer && short.redacted == "postgresql://db:5432/ledger")
        let v6 = try PostgresURL(parsing: "postgresql://bob@[::1]:5433/l")
        #expect(v6.host == "::1" && v6.port == 5433 && v6.redacted == "postgresql://bob@[::1]:5433/l")
        #expect(PostgresURL.isPostgres("POSTGRESQL://x/y") && !PostgresURL.isPostgres("/var/lib/ledger.sqlite"))
    }

    @Test(arguments: [
        ("postgresql://alice:pw@db.example.com", "names no database"),
        ("postgresql://alice:pw@:5432/ledger", "names no host"),
        ("postgresql://alice:pw@db:99999/ledger", "is not a port"),
        ("postgresql://alice:pw@db/ledger?sslmode=verify-ca", "sslmode 'verify-ca'"),
        ("postgresql://alice:pw@db/ledger?connect_timeout=3", "unknown parameter"),
    ])
    func badURLsSayWhyAndNeverShowThePassword(text: String, why: String) {
        #expect(throws: PostgresLedgerError.self) { try PostgresURL(parsing: text) }
        do {
            _ = try PostgresURL(parsing: text)
        } catch {
            #expect(error.description.contains(why), "\(error)")
            #expect(!error.description.contains("pw@") && !error.description.contains(":pw"), "\(error)")
            #expect(error.exitClass == .usage)
        }
    }

    @Test func aPasswordComesFromTheURLThenPGPASSWORDThenThePasswordFile() throws {
        let folder = TemporaryFolder()
        let file = folder.file("pgpass")
        try "# comment\ndb.example.com:5432:other:alice:no\ndb.example.com:*:ledger:alice:fr\\:om-file\n*:*:*:*:fallback\n"
            .write(toFile: file, atomically: true, encoding: .utf8)
        chmod(file, 0o600)
        let url = try PostgresURL(parsing: "postgresql://alice@db.example.com/ledger")
        #expect(try PostgresPassword.resolve(for: url, user: "alice", environment: ["PGPASSFILE": file]) == "fr:om-file")
        #expect(try PostgresPassword.resolve(for: url, user: "bob", environment: ["PGPASSFILE": file]) == "fallback")
        #expect(try PostgresPassword.resolve(for: url, user: "alice", environment: ["PGPASSFILE": file, "PGPASSWORD": "env"]) == "env")
        let inURL = try PostgresURL(parsing: "postgresql://alice:url@db.example.com/ledger")
        #expect(try PostgresPassword.resolve(for: inURL, user: "alice", environment: ["PGPASSWORD": "env"]) == "url")
        #expect(try PostgresPassword.resolve(for: url, user: "alice", environment: ["HOME": folder.path]) == nil)
        // Readable by others: refused, as libpq warns, naming the fix.
        chmod(file, 0o640)
        #expect(throws: PostgresLedgerError.passwordFileReadable(path: file, mode: "640")) {
            try PostgresPassword.resolve(for: url, user: "alice", environment: ["PGPASSFILE": file])
        }
    }

    @Test func theDialectSpellsSharedSQLAsPostgreSQLDoes() {
        let cases: [(String, String)] = [
            ("SELECT a FROM t WHERE b = ? AND c IS ? AND d IS NOT ?", "SELECT a FROM t WHERE b = $1 AND c IS NOT DISTINCT FROM $2 AND d IS DISTINCT FROM $3"),
            ("SELECT ?2, ?1", "SELECT $2, $1"),
            ("UPDATE OR ROLLBACK installers SET a = ?", "UPDATE installers SET a = $1"),
            ("INSERT OR FAIL INTO t (a) VALUES (?)", "INSERT INTO t (a) VALUES ( $1)"),
            ("INSERT OR ROLLBACK INTO events (a)\n SELECT ?", "INSERT INTO events (a)\n SELECT $1"),
            ("SELECT x FROM installers INDEXED BY installers_by_subject WHERE y = '?'", "SELECT x FROM installers  WHERE y = '?'"),
            ("SELECT x FROM installers NOT INDEXED ORDER BY uuid", "SELECT x FROM installers  ORDER BY uuid"),
            ("SELECT 'it''s ?' || ?", "SELECT 'it''s ?' || $1"),
        ]
        for (sqlite, postgres) in cases { #expect(PostgresDialect.rewrite(sqlite) == postgres) }
        // `x IS ?` with a value: an equality, which an index serves.
        let seek = "SELECT a FROM t WHERE account_id IS ?1 AND b = ?2 AND c IS ?1 AND e IS ?3"
        #expect(PostgresDialect.translate(seek, [.int(7), .text("x"), .null])
            == "SELECT a FROM t WHERE account_id = $1 AND b = $2 AND c = $1 AND e IS NOT DISTINCT FROM $3")
        #expect(PostgresDialect.translate(seek, [.null, .text("x"), .int(1)])
            == "SELECT a FROM t WHERE account_id IS NOT DISTINCT FROM $1 AND b = $2 AND c IS NOT DISTINCT FROM $1 AND e = $3")
    }

    @Test func aServerThatCannotBeReachedIsAnIOErrorWithoutThePassword() throws {
        for open in [{ try Ledger.open(path: $0) }, { try Ledger.openExisting(path: $0) }] as [(String) throws -> Ledger] {
            do {
                _ = try open("postgresql://alice:secret@db.invalid/ledger")
                Issue.record("connected to db.invalid")
            } catch let error as PostgresLedgerError {
                guard case .cannotConnect(let url, _) = error else { Issue.record("\(error)"); continue }
                #expect(url == "postgresql://alice@db.invalid:5432/ledger")
                #expect(error.exitClass == .ioError)
                #expect(!error.description.contains("secret"))
            }
        }
    }

    @Test func theBinaryNeverEchoesAPasswordFromTheURL() throws {
        // Made up at run time: no password-like text is written into the repository.
        let secret = "x" + UUID().uuidString.prefix(8).lowercased()
        for arguments in [["list"], ["report"], ["history"], ["import", "/dev/null"], ["account", "list"]] {
            let r = try runProduct("installer-ledger", arguments + ["--db", "postgresql://alice:\(secret)@db.invalid/ledger"])
            #expect(r.status == (arguments == ["report"] ? 3 : 74), "\(arguments): \(r.status) \(r.stderr)")
            #expect(!(r.stdout + r.stderr).contains(secret), "\(arguments)")
            #expect((r.stdout + r.stderr).contains("postgresql://alice@db.invalid:5432/ledger"), "\(arguments): \(r.stdout) \(r.stderr)")
        }
        let bad = try runProduct("installer-ledger", ["copy", "--db", "/nonexistent/ledger.sqlite", "--to", "postgresql://alice:\(secret)@db.invalid"])
        #expect(bad.status == 64 && bad.stderr.contains("names no database") && !bad.stderr.contains(secret), "\(bad.stderr)")
    }

    @Test func copyToAFileRefusesAFullOneAndSaysWhyItCannotMakeOne() async throws {
        let folder = TemporaryFolder()
        let ledger = try Ledger.open(path: folder.file("ledger.sqlite"))
        _ = try ledger.record([Sample.received(Sample.installer())], source: .import, at: Sample.now)
        let summary = try await LedgerCopy.copy(ledger, to: .sqlite(path: folder.file("copy.sqlite")))
        #expect(summary.rows["installers"] == 1 && summary.rows["events"] == 1)
        do {
            _ = try await LedgerCopy.copy(ledger, to: .sqlite(path: folder.file("copy.sqlite")))
            Issue.record("copied over a ledger")
        } catch let error as PostgresLedgerError {
            #expect(error.description.hasPrefix("\(folder.file("copy.sqlite")) is not empty (a file of "), "\(error)")
            #expect(error.exitClass == .usage)
        }
        let r = try runProduct("installer-ledger", ["copy", "--db", folder.file("ledger.sqlite"), "--to", folder.file("missing/copy.sqlite")])
        #expect(r.status == 74 && r.stderr.contains("cannot create \(folder.file("missing/copy.sqlite")): No such file or directory"), "\(r.stderr)")
    }

    @Test func migrationFilesSplitIntoStatements() {
        let sql = """
            -- a comment; with a semicolon
            CREATE TABLE t (a TEXT DEFAULT 'x;y');
            CREATE FUNCTION f() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'no; never'; END; $$ LANGUAGE plpgsql;
            CREATE TRIGGER g BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION f()
            """
        let statements = PostgresLedger.statements(sql)
        #expect(statements.count == 3, "\(statements)")
        #expect(statements[1].hasSuffix("$$ LANGUAGE plpgsql"))
        #expect(PostgresLedger.shipped.map(\.identifier) == LedgerMigrationFiles.all.map(\.identifier))
    }
}

/// The server the PostgreSQL suites run against: `.ci/run` starts a throw-away cluster and
/// sets INSTALLER_LEDGER_TEST_POSTGRES_URL (with PGPASSFILE); without it they are skipped.
enum PostgresTestServer {
    static let url: String? = {
        let url = ProcessInfo.processInfo.environment["INSTALLER_LEDGER_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }
        if url == nil {
            print("PostgreSQL suites skipped: INSTALLER_LEDGER_TEST_POSTGRES_URL is not set (bash .ci/run starts a server and sets it)")
        }
        return url
    }()

    /// A new, empty database for one test; dropped by `drop`.
    static func freshDatabase() async throws -> PostgresURL {
        var admin = try PostgresURL(parsing: url!)
        admin.database = try TestEngine.createDatabase(template: "template0")
        return admin
    }

    static func drop(_ database: PostgresURL) async {
        guard let admin = try? PostgresURL(parsing: url!), let connection = try? await PostgresLedger.connect(admin) else { return }
        _ = try? await connection.run("DROP DATABASE IF EXISTS \(database.database) WITH (FORCE)")
        await connection.close()
    }
}

/// Issue 16 against a real server: the schema under an advisory lock, a newer schema
/// refused untouched, and `copy --to` with every table and the history.
@Suite(.serialized, .enabled(if: PostgresTestServer.url != nil)) struct PostgresServerTests {
    // MARK: - Many machines at once (processes on this machine against one server)

    /// A plan of `lines` distinct lines (two Kiosks lines make two installers: the key is the
    /// line's content and its occurrence).
    static func plan(lines: Int) -> String {
        "name,os,language,group,cloud_feedback,pua_detection,diagnostics,components\n"
            + (0..<lines).map { "Branch \($0) PCs,windows,,,,,,13;27" }.joined(separator: "\n") + "\n"
    }

    /// The summary line of a `create --from` run: created, skipped, in progress elsewhere,
    /// uncertain (a line another run had just written pending when this one looked).
    static func counts(_ stdout: String) -> (created: Int, skipped: Int, elsewhere: Int, uncertain: Int) {
        let line = stdout.split(separator: "\n").last { $0.contains(" created, ") }.map(String.init) ?? ""
        func number(before word: String) -> Int {
            guard let range = line.range(of: " \(word)") else { return 0 }
            return Int(line[..<range.lowerBound].split(whereSeparator: { $0 == " " || $0 == "," }).last ?? "") ?? 0
        }
        return (number(before: "created"), number(before: "skipped"), number(before: "in progress elsewhere"), number(before: "uncertain"))
    }

    @Test func concurrentCreateFromOfOnePlanCreatesEachLineOnce() async throws {
        let db = try await PostgresTestServer.freshDatabase()
        defer { Task { await PostgresTestServer.drop(db) } }
        let sandbox = SandboxServer(configuration: SandboxConfiguration())
        let api = try await sandbox.start().absoluteString
        let folder = TemporaryFolder()
        let lines = 24, runs = 5
        let plan = folder.file("plan.csv")
        try Self.plan(lines: lines).write(toFile: plan, atomically: true, encoding: .utf8)
        let environment = ["ESET_CONNECT_USERNAME": "api@example.com", "ESET_CONNECT_PASSWORD": "sandbox",
                           "ESET_CONNECT_API_URL": "", "ESET_CONNECT_REGION": ""]
        // Every run starts at once on an empty database: the schema, the account and every
        // line are raced for.
        let results = try await withThrowingTaskGroup(of: ProcessResult.self) { group in
            for _ in 0..<runs {
                group.addTask {
                    try await runProductAsync("installer-ledger", ["create", "--from", plan, "--db", db.redacted, "--api-url", api],
                                              environment: environment).redacted
                }
            }
            return try await group.reduce(into: [ProcessResult]()) { $0.append($1) }
        }
        for r in results { #expect(r.status == 0 || r.status == 75, "\(r.status): \(r.stderr)") }
        let counts = results.map { Self.counts($0.stdout) }
        #expect(counts.map(\.created).reduce(0, +) == lines, "\(counts)")
        #expect(counts.allSatisfy { $0.created + $0.skipped + $0.elsewhere + $0.uncertain == lines }, "\(counts)")
        // 0 duplicates, 0 lost: ESET has each line once, and so does the ledger.
        let atESET = await sandbox.installers()
        #expect(atESET.count == lines)
        #expect(Set(atESET.map(\.displayName)).count == lines)
        let ledger = try Ledger.open(path: db.redacted)
        #expect(try ledger.accounts().count == 1)
        let creations = try ledger.pendingCreations()
        #expect(creations.count == lines && creations.allSatisfy { $0.state == .resolved })
        #expect(Set(creations.compactMap(\.planKey)).count == lines)
        #expect(try ledger.installers(matching: InstallerFilter(), at: .now()).count == lines)
        // A run after them all skips every line.
        let again = try await runProductAsync("installer-ledger", ["create", "--from", plan, "--db", db.redacted, "--api-url", api],
                                              environment: environment)
        #expect(again.status == 0 && Self.counts(again.stdout).skipped == lines, "\(again.stderr)")
        await sandbox.stop()
    }

    @Test func importsAndReadersAtOnceConvergeAndNeverFail() async throws {
        let db = try await PostgresTestServer.freshDatabase()
        defer { Task { await PostgresTestServer.drop(db) } }
        let folder = TemporaryFolder()
        // Four files of 300 installers, overlapping by half: 750 distinct uuids.
        var files = [String]()
        for f in 0..<4 {
            let text = (f * 150..<(f * 150 + 300)).map { n in
                Sample.answer(Sample.installer(uuid: String(format: "%08x-0000-4000-8000-000000000000", n), name: "PCs \(n)"))
            }.joined(separator: "\n")
            let path = folder.file("part\(f).ndjson")
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            files.append(path)
        }
        _ = try Ledger.open(path: db.redacted)  // the schema, so that readers have a ledger to read
        let results = try await withThrowingTaskGroup(of: (String, ProcessResult).self) { group in
            for file in files + files {
                group.addTask { ("import", try await runProductAsync("installer-ledger", ["import", file, "--db", db.redacted])) }
            }
            for reader in [["list"], ["export", "--table", "installers"], ["report", "--max-sync-age", "off"], ["history"]] {
                group.addTask { (reader[0], try await runProductAsync("installer-ledger", reader + ["--db", db.redacted])) }
            }
            return try await group.reduce(into: [(String, ProcessResult)]()) { $0.append($1) }
        }
        for (command, r) in results where command != "report" { #expect(r.status == 0, "\(command): \(r.stderr)") }
        for (command, r) in results where command == "report" { #expect([0, 1, 2].contains(r.status), "\(r.stderr)") }
        let ledger = try Ledger.open(path: db.redacted)
        let all = try ledger.installers(matching: InstallerFilter(), at: Sample.now)
        #expect(all.count == 750 && Set(all.map(\.installer.uuid)).count == 750, "\(all.count) installers")
        var filter = EventFilter()
        filter.kinds = [.recorded]
        #expect(try ledger.events(matching: filter).count == 750)
    }

    // MARK: - The auditor's role, and a lost connection

    @Test func aReadOnlyRoleReadsAndIsToldWhatNeedsWrites() async throws {
        let db = try await PostgresTestServer.freshDatabase()
        defer { Task { await PostgresTestServer.drop(db) } }
        let ledger = try Ledger.open(path: db.redacted)
        _ = try ledger.record([Sample.received(Sample.installer(uuid: "0b7f3c1e-5a2d-4c8e-9f10-2a3b4c5d6e7f"))], source: .import, at: Sample.now)
        // README's GRANTs for the auditor role (made by scripts/pg-cluster, like the ledger role).
        let admin = try PostgresLedger.open(db)
        for statement in ["GRANT USAGE ON SCHEMA public TO auditor", "GRANT SELECT ON ALL TABLES IN SCHEMA public TO auditor"] {
            try admin.run(statement)
        }
        admin.closeBlocking()
        var auditor = db
        auditor.user = "auditor"
        let url = auditor.redacted
        for command in [["list"], ["show", "0b7f"], ["history"], ["export", "--table", "events"], ["gaps"], ["account", "list"]] {
            let r = try runProduct("installer-ledger", command + ["--db", url])
            #expect(r.status == 0, "\(command): \(r.stderr)")
        }
        let report = try runProduct("installer-ledger", ["report", "--max-sync-age", "off", "--db", url])
        #expect([0, 1, 2].contains(report.status), "\(report.stderr)")
        let write = try runProduct("installer-ledger", ["import", repositoryRoot.appendingPathComponent("examples/installers.ndjson").path, "--db", url])
        #expect(write.status == 77, "\(write.stderr)")
        #expect(write.stderr.contains("the PostgreSQL role cannot change the ledger") && write.stderr.contains("only read"), "\(write.stderr)")
        #expect(try ledger.installers(matching: InstallerFilter(), at: Sample.now).count == 1)
    }

    @Test func aLostConnectionIsTemporaryAndWritesNothing() async throws {
        let db = try await PostgresTestServer.freshDatabase()
        defer { Task { await PostgresTestServer.drop(db) } }
        let ledger = try Ledger.open(path: db.redacted)
        let admin = try PostgresLedger.open(db)
        defer { admin.closeBlocking() }
        do {
            _ = try ledger.record(source: .import, at: Sample.now) { record in
                try record(Sample.received(Sample.installer(uuid: "first")))
                // The server ends this connection in the middle of the transaction (only the
                // ledger's: an autovacuum worker there is the superuser's, not ours to end).
                try admin.run("""
                    SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()
                      AND backend_type = 'client backend' AND usename = current_user
                    """, [.text(db.database)])
                try record(Sample.received(Sample.installer(uuid: "second")))
            }
            Issue.record("the transaction survived its connection")
        } catch let error as PostgresLedgerError {
            #expect(error.exitClass == .temporary, "\(error)")
            #expect(!String(describing: error).isEmpty)
        }
        let reopened = try Ledger.open(path: db.redacted)
        #expect(try reopened.installers(matching: InstallerFilter(), at: Sample.now).isEmpty)
    }

    /// The cluster's certificate (scripts/pg-cluster makes one when openssl is there).
    static var serverCertificate: String? {
        guard let passfile = ProcessInfo.processInfo.environment["PGPASSFILE"] else { return nil }
        let path = (passfile as NSString).deletingLastPathComponent + "/server.crt"
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }

    @Test(.enabled(if: serverCertificate != nil, "the test cluster has no TLS certificate"))
    func tlsEncryptsAndVerifyFullChecksTheServersCertificate() throws {
        let plain = try #require(PostgresTestServer.url)
        func with(_ mode: String) -> String { plain.replacingOccurrences(of: "sslmode=disable", with: mode) }
        // require: encrypted; verify-full with the cluster's root: encrypted and checked.
        for mode in ["sslmode=require", "sslmode=verify-full&sslrootcert=\(Self.serverCertificate!)"] {
            let connection = try PostgresLedger.open(try PostgresURL(parsing: with(mode)))
            let ssl = try connection.run("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            #expect(try ssl.first?.decode(Bool.self) == true, "\(mode)")
            connection.closeBlocking()
        }
        // verify-full against the system's roots: a self-signed certificate is refused (74).
        #expect { try PostgresLedger.open(try PostgresURL(parsing: with("sslmode=verify-full"))) } throws: { error in
            guard let failure = error as? PostgresLedgerError, case .cannotConnect = failure else { return false }
            return failure.exitClass == .ioError
        }
    }

    @Test func migrationsApplyOnceEvenWhenTwoRunsRace() async throws {
        let db = try await PostgresTestServer.freshDatabase()
        defer { Task { await PostgresTestServer.drop(db) } }
        let a = try await PostgresLedger.connect(db), b = try await PostgresLedger.connect(db)
        async let first = a.migrate()
        async let second = b.migrate()
        let (x, y) = try await (first, second)
        #expect((x + y).sorted() == LedgerMigrationFiles.all.map(\.identifier), "\(x) \(y)")
        #expect(try await a.migrate().isEmpty)
        #expect(try await a.appliedMigrations().count == PostgresLedger.shipped.count)
        // History is append-only there too.
        try await a.run("INSERT INTO events (kind, at, source) VALUES ('recorded', 1, 'import')")
        await #expect(throws: PostgresLedgerError.self) { try await a.run("UPDATE events SET at = 2") }
        await #expect(throws: PostgresLedgerError.self) { try await a.run("DELETE FROM events") }
        await a.close()
        await b.close()
    }

    @Test func aDatabaseFromANewerVersionIsRefusedUntouched() async throws {
        let db = try await PostgresTestServer.freshDatabase()
        defer { Task { await PostgresTestServer.drop(db) } }
        let p = try await PostgresLedger.connect(db)
        try await p.migrate()
        try await p.run("INSERT INTO ledger_migration_checksums (identifier, sha256) VALUES ('0099_future', 'x')")
        await #expect(throws: PostgresLedgerError.newerSchema(url: db.redacted, unknownMigrations: ["0099_future"])) { try await p.migrate() }
        await p.close()
    }

    @Test func copyCarriesEveryTableAndRefusesAFullDestination() async throws {
        let folder = TemporaryFolder()
        let ledger = try Ledger.open(path: folder.file("ledger.sqlite"))
        let acme = try ledger.addAccount(name: "acme", endpoint: .region("eu"), username: "a@x", passwordSource: .environment("A"), at: Sample.now)
        let installers = (0..<1_200).map { n in
            Sample.installer(uuid: String(format: "%08x-0000-4000-8000-%012d", n * 7919, n), name: "PCs \(n)",
                             products: n % 2 == 0 ? [Sample.entry, Sample.complete] : [Sample.entry])
        }
        _ = try ledger.record(installers.map(Sample.received), source: .import, at: Sample.now, account: acme)
        try ledger.markDeleted(uuid: installers[3].uuid, source: .delete, at: Sample.now)
        let db = try await PostgresTestServer.freshDatabase()
        defer { Task { await PostgresTestServer.drop(db) } }
        let summary = try await LedgerCopy.copy(ledger, to: .postgres(db))
        let expected = try ledger.readDatabase { db in try LedgerCopy.counts(db) }
        #expect(summary == expected && summary.rows["installers"] == 1_200 && summary.rows["activated_products"] == 1_800)
        let p = try await PostgresLedger.connect(db)
        for (table, n) in expected.rows {
            #expect(try await p.run("SELECT count(*) FROM \(table)").first?.decode(Int64.self) == Int64(n), "\(table)")
        }
        // The same rows: a deleted installer, products in order, the history's kinds.
        let row = try await p.run("SELECT status, product_ids FROM installers WHERE uuid = '\(installers[3].uuid)'").first
        let decoded = try #require(try row?.decode((String, String).self))
        #expect(decoded.0 == "deleted" && decoded.1 == "3")
        let both = try await p.run("SELECT product_ids FROM installers WHERE uuid = '\(installers[4].uuid)'").first
        #expect(try both?.decode(String.self) == "3,12")  // ascending as numbers, as SQLite wrote it
        let kinds = try await p.run("SELECT kind, count(*) FROM events GROUP BY kind ORDER BY kind").map { try $0.decode((String, Int64).self) }
        #expect(kinds.map(\.0) == ["deleted", "recorded"] && kinds.map(\.1) == [1, 1_200])
        // New rows get ids after the copied ones.
        try await p.run("INSERT INTO events (kind, at, source) VALUES ('recorded', 1, 'import')")
        #expect(try await p.run("SELECT max(id) FROM events").first?.decode(Int64.self) == 1_202)
        await p.close()
        // Not empty any more: refused, untouched.
        await #expect(throws: PostgresLedgerError.self) { try await LedgerCopy.copy(ledger, to: .postgres(db)) }
        // And to an empty SQLite file: the same counts.
        let sqlite = try await LedgerCopy.copy(ledger, to: .sqlite(path: folder.file("copy.sqlite")))
        #expect(sqlite == expected)
        await #expect(throws: PostgresLedgerError.self) { try await LedgerCopy.copy(ledger, to: .sqlite(path: folder.file("copy.sqlite"))) }
    }

    @Test func copyThroughTheBinaryWithAPasswordInTheURL() async throws {
        let folder = TemporaryFolder()
        let path = folder.file("ledger.sqlite")
        let ledger = try Ledger.open(path: path)
        _ = try ledger.record([Sample.received(Sample.installer())], source: .import, at: Sample.now)
        let db = try await PostgresTestServer.freshDatabase()
        defer { Task { await PostgresTestServer.drop(db) } }
        // The password the test server gave the role, written into the URL this time.
        let passfile = try String(contentsOfFile: ProcessInfo.processInfo.environment["PGPASSFILE"] ?? "", encoding: .utf8)
        let password = try #require(PostgresPassword.match(passfile, host: db.host, port: db.port, database: db.database, user: db.user ?? ""))
        var withPassword = db
        withPassword.password = password
        let url = "postgresql://\(db.user!):\(password.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)@\(db.host):\(db.port)/\(db.database)?sslmode=disable"
        let environment = ["PGPASSFILE": "/nonexistent", "PGPASSWORD": ""]
        let r = try runProduct("installer-ledger", ["copy", "--db", path, "--to", url], environment: environment)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.hasPrefix("copied ") && r.stdout.contains(db.redacted) && r.stdout.contains("1 installers"), "\(r.stdout)")
        #expect(!(r.stdout + r.stderr).contains(password))
        let again = try runProduct("installer-ledger", ["copy", "--db", path, "--to", url], environment: environment)
        #expect(again.status == 64 && again.stderr.contains("is not empty") && !again.stderr.contains(password), "\(again.stderr)")
        let notIt = "x" + UUID().uuidString.prefix(8).lowercased()
        let wrong = url.replacingOccurrences(of: ":\(password.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)@", with: ":\(notIt)@")
        let refused = try runProduct("installer-ledger", ["copy", "--db", path, "--to", wrong], environment: environment)
        #expect(refused.status == 77 && !refused.stderr.contains(notIt), "\(refused.status) \(refused.stderr)")
    }

    /// SQLite to PostgreSQL and back: every export of the copy is byte for byte the original's,
    /// the past (`--as-of`) included.
    /// More installers than a PostgreSQL stream's batch, so that every export reads several.
    @Test func aRoundTripThroughPostgreSQLKeepsEveryExportByteForByte() async throws {
        let folder = TemporaryFolder()
        let ledger = try Ledger.open(path: folder.file("ledger.sqlite"))
        let acme = try ledger.addAccount(name: "acme", endpoint: .region("eu"), username: "a@x", passwordSource: .environment("A"), at: Sample.now)
        let globex = try ledger.addAccount(name: "globex", endpoint: .region("us"), username: "g@x", passwordSource: .environment("G"), at: Sample.now)
        let count = PostgresStream.batch + 700, inAcme = PostgresStream.batch + 300
        var installers = (0..<count).map { n in
            Sample.installer(uuid: String(format: "%08x-0000-4000-8000-%012d", n * 104_729, n), name: "Büro \"\(n)\", Zürich",
                             usable: n % 9 != 0, products: n % 3 == 0 ? [Sample.complete, Sample.entry] : [Sample.entry])
        }
        _ = try ledger.record(installers.prefix(inAcme).map(Sample.received), source: .import, at: Sample.now, account: acme)
        _ = try ledger.record(installers.suffix(count - inAcme).map(Sample.received), source: .import, at: Sample.now, account: globex)
        for n in stride(from: 0, to: inAcme, by: 7) { installers[n].displayName += " (renamed)" }
        _ = try ledger.record(installers.prefix(inAcme).map(Sample.received), source: .import, at: Sample.now.adding(.days(3)), account: acme)
        for n in stride(from: 1, to: count, by: 25) { try ledger.markDeleted(uuid: installers[n].uuid, source: .delete, at: Sample.now.adding(.days(5))) }

        let db = try await PostgresTestServer.freshDatabase()
        defer { Task { await PostgresTestServer.drop(db) } }
        _ = try await LedgerCopy.copy(ledger, to: .postgres(db))
        let back = folder.file("back.sqlite")
        let summary = try await LedgerCopy.copy(from: db, to: .sqlite(path: back))
        #expect(summary == (try ledger.readDatabase { db in try LedgerCopy.counts(db) }))
        let restored = try Ledger.open(path: back)
        func export(_ l: Ledger, _ table: ExportTable, asOf: Timestamp? = nil) throws -> [UInt8] {
            var options = ExportOptions()
            options.table = table
            options.asOf = asOf
            options.includeDownloadUrls = true
            var bytes = [UInt8]()
            _ = try l.exportCSV(options) { bytes += $0 }
            return bytes
        }
        // Booleans: a failing #expect prints the values it compared, and these hold download URLs.
        let onServer = try Ledger.open(path: db.redacted)
        for table in [ExportTable.installers, .products, .events] {
            let original = try export(ledger, table)
            let copied = try export(restored, table) == original, served = try export(onServer, table) == original
            #expect(!original.isEmpty && copied, "\(table)")
            #expect(served, "\(table) exported from PostgreSQL")
        }
        let asOf = Sample.now.adding(.days(1))
        let then = try export(ledger, .installers, asOf: asOf)
        let copiedThen = try export(restored, .installers, asOf: asOf) == then, servedThen = try export(onServer, .installers, asOf: asOf) == then
        #expect(copiedThen && servedThen)
        let listed = try onServer.installers(matching: InstallerFilter(), at: Sample.now).map(\.installer.uuid)
        let listedHere = try ledger.installers(matching: InstallerFilter(), at: Sample.now).map(\.installer.uuid)
        #expect(listed.count > PostgresStream.batch && listed == listedHere)
        #expect(try restored.accounts().map(\.name) == ["acme", "globex"])
        // PostgreSQL to PostgreSQL is pg_dump's job; a ledger file at the destination is refused.
        await #expect(throws: PostgresLedgerError.self) { try await LedgerCopy.copy(from: db, to: .postgres(db)) }
        await #expect(throws: PostgresLedgerError.self) { try await LedgerCopy.copy(from: db, to: .sqlite(path: back)) }
    }

    /// Two machines copy into one new database at the same moment: one copy lands, the other
    /// is refused as not empty; nothing is there twice.
    @Test func twoCopiesAtOnceLandOnce() async throws {
        let folder = TemporaryFolder()
        let ledger = try Ledger.open(path: folder.file("ledger.sqlite"))
        _ = try ledger.record((0..<500).map { Sample.received(Sample.installer(uuid: String(format: "%08x-0000-4000-8000-%012d", $0 * 31, $0))) },
                              source: .import, at: Sample.now)
        let db = try await PostgresTestServer.freshDatabase()
        defer { Task { await PostgresTestServer.drop(db) } }
        async let a: Result<LedgerCopy.Summary, any Error> = { do { return .success(try await LedgerCopy.copy(ledger, to: .postgres(db))) } catch { return .failure(error) } }()
        async let b: Result<LedgerCopy.Summary, any Error> = { do { return .success(try await LedgerCopy.copy(ledger, to: .postgres(db))) } catch { return .failure(error) } }()
        let results = await [a, b]
        let landed = results.filter { if case .success = $0 { true } else { false } }
        #expect(landed.count == 1, "\(results)")
        for case .failure(let error) in results {
            guard case PostgresLedgerError.destinationNotEmpty = error else { Issue.record("\(error)"); continue }
        }
        let p = try await PostgresLedger.connect(db)
        #expect(try await p.run("SELECT count(*) FROM installers").first?.decode(Int64.self) == 500)
        await p.close()
    }

    @Test func aWrongPasswordIsRefusedWithoutShowingIt() async throws {
        var url = try PostgresURL(parsing: PostgresTestServer.url!)
        let notIt = "x" + UUID().uuidString.prefix(8).lowercased()  // made up at run time
        url.password = notIt
        do {
            _ = try await PostgresLedger.connect(url, environment: [:])
            Issue.record("connected with a wrong password")
        } catch let error as PostgresLedgerError {
            #expect(error.exitClass == .notAllowed, "\(error)")
            #expect(!error.description.contains(notIt), "\(error)")
        }
    }
}
