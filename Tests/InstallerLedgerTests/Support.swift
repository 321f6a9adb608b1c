import Foundation
import Synchronization
import Testing
@testable import InstallerLedger

/// Builders for realistic installers and answers used across suites.
enum Sample {
    static let now = try! Timestamp(rfc3339: "2026-11-29T12:00:00Z")

    static func installer(
        uuid: String = UUID().uuidString.lowercased(), name: String = "Branch PCs", os: Int64 = 1,
        group: (String, String) = ("5e0c3c43-0000-4000-8000-000000000001", "Branch Vienna"),
        created: String = "2026-09-01T08:00:00Z", usable: Bool = true,
        products: [ActivatedProduct] = [entry], components: [InstalledComponent] = [agent, endpoint]
    ) -> Installer {
        let createTime = try! Timestamp(rfc3339: created)
        return Installer(
            uuid: uuid, displayName: name, operatingSystemFamilyId: os, preferredLanguageCode: "en-us",
            deviceEnrollment: DeviceEnrollment(securityGroupUuid: group.0, groupDisplayName: group.1),
            enableCloudScannerFeedback: true, enablePuaDetection: true, sendAnonymousDiagnosticData: false,
            downloadUrl: "https://download.example.invalid/installers/\(uuid)/secret-part",
            createTime: createTime, expireTime: createTime.addingMonths(6), usable: usable,
            activatedProducts: products, installedComponents: components)
    }

    static let entry = ActivatedProduct(
        poolUuid: "aa000000-0000-4000-8000-000000000001", poolDisplayName: "MSP pool", productId: 3,
        productDisplayName: "ESET PROTECT Entry", subscriptionUuid: "bb000000-0000-4000-8000-000000000001",
        subscriptionSupportCode: "3AB-4CD-5EF")
    static let complete = ActivatedProduct(
        poolUuid: "aa000000-0000-4000-8000-000000000002", poolDisplayName: "HQ pool", productId: 12,
        productDisplayName: "ESET PROTECT Complete", subscriptionUuid: "bb000000-0000-4000-8000-000000000002",
        subscriptionSupportCode: "7KL-2MN-9PQ")
    static let agent = InstalledComponent(id: 13, name: "agent", displayName: "ESET Management Agent")
    static let endpoint = InstalledComponent(id: 27, name: "ees", displayName: "ESET Endpoint Security for Windows")

    /// The installer as ESET would send it, wrapped in a get answer.
    static func answer(_ i: Installer) -> String {
        JSONValue.object(JSONObject(keys: ["installer"], values: [.object(i.jsonObject(includeDownloadUrl: true))])).jsonText
    }

    static func received(_ i: Installer) -> ReceivedInstaller {
        ReceivedInstaller(installer: i, rawJSON: JSONValue.object(i.jsonObject(includeDownloadUrl: true)).jsonText)
    }

    static func input(_ text: String, name: String = "test.json") -> ImportInput {
        ImportInput(name: name, bytes: Array(text.utf8))
    }
}

/// A temporary folder removed at deinit.
final class TemporaryFolder: Sendable {
    let path: String
    /// The PostgreSQL databases made for `ledger(_:)`, by name.
    fileprivate let databases = Mutex([String: String]())

    init() {
        path = NSTemporaryDirectory() + "installer-ledger-tests-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { path + "/" + name }
}

/// The directory holding the built products (`.build/debug`), next to the test bundle.
var productsDirectory: URL {
    let exe = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
    var dir = exe.deletingLastPathComponent()
    while dir.path != "/" {
        if FileManager.default.fileExists(atPath: dir.appendingPathComponent("installer-ledger").path) { return dir }
        dir = dir.deletingLastPathComponent()
    }
    return exe.deletingLastPathComponent()
}

/// The result of running a built executable.
struct ProcessResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Seconds a client in the test process waits for an in-process sandbox. The sandbox answers
/// when the process's cooperative threads get to it, and the suites' synchronous ledger work
/// (imports, migrations) can hold all of them for a minute on a loaded 2-core machine (a CI
/// run's creations timed out after 10 s): wait as long as a test may take.
let inProcessSandboxTimeout: TimeInterval = 600

/// Runs blocking work (a child process and its pipes) on a thread of its own, so waiting
/// never holds one of the few threads of Swift's cooperative pool that in-process sandboxes
/// of concurrently running suites need to answer.
func offThePool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}

/// `runProduct` off the cooperative pool (``offThePool(_:)``), for a child that talks to an
/// in-process sandbox.
func runProductAsync(_ name: String, _ arguments: [String], environment: [String: String] = [:],
                     stdin: String? = nil) async throws -> ProcessResult {
    try await offThePool { try runProduct(name, arguments, environment: environment, stdin: stdin) }
}

/// Runs a built executable with arguments, an environment and optional stdin.
func runProduct(_ name: String, _ arguments: [String], environment: [String: String] = [:], stdin: String? = nil) throws -> ProcessResult {
    let process = Process()
    process.executableURL = productsDirectory.appendingPathComponent(name)
    process.arguments = arguments
    var env = ProcessInfo.processInfo.environment
    env.removeValue(forKey: "INSTALLER_LEDGER_DB")
    for (k, v) in environment { env[k] = v }
    process.environment = env
    let out = Pipe(), err = Pipe(), input = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = input
    try process.run()
    if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
    try input.fileHandleForWriting.close()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return ProcessResult(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                         stderr: String(decoding: errData, as: UTF8.self))
}

/// The repository root (for examples/).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// Runs `installer-ledger` and sends it SIGINT once `marker` appears on its stdout; returns how
/// it ended (off the cooperative pool: it blocks on the pipes).
func runInterrupting(_ arguments: [String], environment: [String: String], after marker: String) async throws
    -> (status: Int32, reason: Process.TerminationReason, stdout: String, stderr: String)
{
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async {
            continuation.resume(with: Result {
                let process = Process()
                process.executableURL = productsDirectory.appendingPathComponent("installer-ledger")
                process.arguments = arguments
                process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
                let out = Pipe(), err = Pipe()
                process.standardOutput = out
                process.standardError = err
                process.standardInput = FileHandle.nullDevice
                try process.run()
                var stdout = Data()
                var signalled = false
                while true {
                    let chunk = out.fileHandleForReading.availableData
                    if chunk.isEmpty { break }
                    stdout.append(chunk)
                    if !signalled && String(decoding: stdout, as: UTF8.self).contains(marker) {
                        kill(process.processIdentifier, SIGINT)
                        signalled = true
                    }
                }
                let stderr = err.fileHandleForReading.readDataToEndOfFile()
                process.waitUntilExit()
                return (process.terminationStatus, process.terminationReason, String(decoding: stdout, as: UTF8.self),
                        String(decoding: stderr, as: UTF8.self))
            })
        }
    }
}

// MARK: - The engine the suites run on

/// The suites run on SQLite, or, with `INSTALLER_LEDGER_TEST_ENGINE=postgresql` and
/// `INSTALLER_LEDGER_TEST_POSTGRES_URL` (a role that may create databases, its password in
/// PGPASSFILE), every ledger of every test on a new PostgreSQL database of its own.
enum TestEngine {
    static let environment = ProcessInfo.processInfo.environment
    static let isPostgres = environment["INSTALLER_LEDGER_TEST_ENGINE"] == "postgresql"
    static var name: String { isPostgres ? "postgresql" : "sqlite" }

    static var adminURL: String {
        guard let admin = environment["INSTALLER_LEDGER_TEST_POSTGRES_URL"] else {
            preconditionFailure("INSTALLER_LEDGER_TEST_ENGINE=postgresql needs INSTALLER_LEDGER_TEST_POSTGRES_URL")
        }
        return admin
    }

    /// `adminURL` naming another database.
    static func url(database name: String) -> String {
        let admin = adminURL
        let query = admin.firstIndex(of: "?") ?? admin.endIndex
        guard let slash = admin[..<query].lastIndex(of: "/") else { preconditionFailure("a URL without a database") }
        return admin[..<slash] + "/" + name + admin[query...]
    }

    /// A database holding an empty ledger, made once per run: copying it is cheaper than
    /// running the migrations for every test.
    static let migratedTemplate: Mutex<String?> = Mutex(nil)

    /// The URL of a new database (UTF-8, byte-order collation, as the ledger asks): empty
    /// (as an absent ledger file), or `migrated`, holding an empty ledger.
    static func newPostgresDatabase(migrated: Bool = false) throws -> String {
        let template = migrated ? try migratedTemplate.withLock { made -> String in
            if let made { return made }
            let name = try createDatabase(template: "template0")
            let ledger = try Ledger.open(path: url(database: name))
            _ = ledger  // migrated; closed when released, before it serves as a template
            made = name
            return name
        } : "template0"
        return url(database: try createDatabase(template: template))
    }

    /// A new database copied from `template`; its name.
    static func createDatabase(template: String) throws -> String {
        let name = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(24)
        let connection = try PostgresLedger.open(try PostgresURL(parsing: adminURL))
        defer { connection.closeBlocking() }
        try connection.run("CREATE DATABASE \(name) TEMPLATE \(template) ENCODING 'UTF8' LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'")
        return name
    }
}

extension Trait where Self == ConditionTrait {
    /// Skips a test that is about SQLite's file itself (its mode, pragmas, plans) on PostgreSQL.
    static var sqliteOnly: Self { .enabled(if: !TestEngine.isPostgres, "about the SQLite file itself") }
}

/// A fresh, empty ledger on the engine the suites run on.
func freshLedger() throws -> Ledger {
    TestEngine.isPostgres ? try Ledger.open(path: TestEngine.newPostgresDatabase(migrated: true)) : try Ledger.inMemory()
}

extension TemporaryFolder {
    /// Where a test keeps its ledger: `name` in this folder on SQLite (absent until a
    /// command makes it), a new database holding an empty ledger (made once per name) on
    /// PostgreSQL.
    func ledger(_ name: String = "ledger.sqlite") -> String {
        guard TestEngine.isPostgres else { return file(name) }
        return databases.withLock { made in
            if let url = made[name] { return url }
            let url = try! TestEngine.newPostgresDatabase(migrated: true)
            made[name] = url
            return url
        }
    }
}
