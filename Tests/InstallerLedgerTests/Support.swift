import Foundation
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
final class TemporaryFolder {
    let path: String

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
