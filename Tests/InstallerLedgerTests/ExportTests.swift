import Foundation
import Testing
@testable import InstallerLedger

/// Parses a CSV file with Python's `csv` module (an independent RFC 4180 reader), returning
/// its records as arrays of fields; a UTF-8 byte order mark is accepted.
func parseWithPythonCSV(_ path: String) throws -> [[String]] {
    let script = """
        import csv, json, sys
        with open(sys.argv[1], newline='', encoding='utf-8-sig') as f:
            rows = list(csv.reader(f, strict=True))
        json.dump(rows, sys.stdout)
        """
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", script, path]
    let out = Pipe()
    process.standardOutput = out
    try process.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    #expect(process.terminationStatus == 0)
    return try JSONSerialization.jsonObject(with: data) as? [[String]] ?? []
}

/// Runs a shell command line, returning its status and output.
func shell(_ command: String, in folder: String) throws -> ProcessResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = ["-c", command]
    process.currentDirectoryURL = URL(fileURLWithPath: folder)
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return ProcessResult(status: process.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
                         stderr: String(decoding: e, as: UTF8.self))
}

/// Display names a spreadsheet or a CSV reader could trip over.
let hostileNames = [
    "Acme, Inc. PCs", "He said \"hi\"", "two\r\nlines", "only\nLF", "=HYPERLINK(\"http://evil.example\",\"click\")",
    "+41 44 000 00 00", "-2+3", "@SUM(A1:A9)", "\tleading tab", "\rleading CR", "Ünïcødé – 東京 🚀", "plain",
]

@Suite struct ExportTests {
    let folder = TemporaryFolder()
    let now = Sample.now

    /// A ledger holding one installer per hostile name, created a day apart from 2026-09-01.
    func hostileLedger() throws -> (Ledger, [Installer]) {
        let ledger = try freshLedger()
        var installers = [Installer]()
        for (n, name) in hostileNames.enumerated() {
            let created = Timestamp(nanoseconds: try Timestamp(rfc3339: "2026-09-01T08:00:00Z").nanoseconds + Int64(n) * 86_400_000_000_000)
            let hex = String(n + 1, radix: 16)
            let uuid = String(repeating: "0", count: 8 - hex.count) + hex + "-0000-4000-8000-" + String(repeating: "0", count: 12 - hex.count) + hex
            var i = Sample.installer(uuid: uuid, name: name, os: n % 2 == 0 ? 1 : 3, created: created.rfc3339,
                                     products: n % 3 == 0 ? [Sample.entry, Sample.complete] : [Sample.entry])
            i.deviceEnrollment.groupDisplayName = n == 4 ? "=cmd|' /C calc'!A0" : "Branch Vienna"
            installers.append(i)
        }
        _ = try ledger.record(installers.map(Sample.received), source: .import, at: now)
        return (ledger, installers)
    }

    func export(_ ledger: Ledger, _ options: ExportOptions, chunkSize: Int = 1 << 18) throws -> (String, ExportSummary, Int) {
        var bytes = [UInt8]()
        var chunks = 0
        let summary = try ledger.exportCSV(options, chunkSize: chunkSize) { bytes += $0; chunks += 1 }
        #expect(summary.bytes == bytes.count)
        #expect(summary.sha256 == SHA256.hex(bytes))
        let path = folder.file("export-\(UUID().uuidString).csv")
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return (path, summary, chunks)
    }

    /// What a cell holds after formula neutralising.
    func neutralised(_ s: String) -> String {
        guard let first = s.utf8.first, "=+-@\t\r".utf8.contains(first) else { return s }
        return "'" + s
    }

    @Test func installersRoundTripThroughPythonsCSVReader() throws {
        let (ledger, installers) = try hostileLedger()
        let (path, summary, _) = try export(ledger, ExportOptions())
        let rows = try parseWithPythonCSV(path)
        #expect(rows.first == InstallerColumns.csvHeader)
        #expect(summary.rows == installers.count && rows.count == installers.count + 1)
        let column = Dictionary(uniqueKeysWithValues: InstallerColumns.csvHeader.enumerated().map { ($1, $0) })
        let stored = try ledger.installers(matching: InstallerFilter(), at: now)
        for (row, e) in zip(rows.dropFirst(), stored) {
            let i = e.installer
            #expect(row.count == InstallerColumns.csvHeader.count)
            func cell(_ name: String) -> String { row[column[name]!] }
            #expect(cell("uuid") == i.uuid)
            #expect(cell("display_name") == neutralised(i.displayName))
            #expect(cell("os") == (i.operatingSystemFamilyId == 1 ? "windows" : "macos"))
            #expect(cell("os_family_id") == String(i.operatingSystemFamilyId))
            #expect(cell("language") == "en-us")
            #expect(cell("security_group_uuid") == i.deviceEnrollment.securityGroupUuid)
            #expect(cell("group_display_name") == neutralised(i.deviceEnrollment.groupDisplayName))
            #expect(cell("cloud_scanner_feedback") == "true" && cell("anonymous_diagnostics") == "false")
            #expect(cell("create_time") == i.createTime!.rfc3339 && cell("create_time").hasSuffix("Z"))
            #expect(cell("expire_time") == i.expireTime!.rfc3339)
            #expect(cell("api_usable") == "true" && cell("status") == "usable" && cell("status_reason") == "")
            #expect(cell("first_seen") == "2026-11-29T12:00:00Z")
            #expect(cell("product_ids") == i.activatedProducts.map { String($0.productId) }.joined(separator: "; "))
            #expect(cell("subscription_uuids") == i.activatedProducts.map(\.subscriptionUuid).joined(separator: "; "))
            #expect(cell("component_ids") == "13; 27")
            #expect(cell("download_url") == "[redacted]")
        }
        // Exported in creation order, one row each.
        #expect(rows.dropFirst().map { $0[0] } == installers.map(\.uuid))
    }

    @Test func theBytesAreRFC4180WithCRLFAndQuotedFields() throws {
        let (ledger, _) = try hostileLedger()
        let (path, _, _) = try export(ledger, ExportOptions())
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.hasSuffix("\r\n"))
        #expect(text.contains(",\"Acme, Inc. PCs\","))
        #expect(text.contains(",\"He said \"\"hi\"\"\","))
        #expect(text.contains(",\"two\r\nlines\","))
        #expect(text.contains(",\"only\nLF\","))
        #expect(text.contains(",\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"click\"\")\","))
        #expect(text.contains(",'+41 44 000 00 00,") && text.contains(",'-2+3,") && text.contains(",'@SUM(A1:A9),"))
        #expect(text.contains(",'\tleading tab,") && text.contains(",\"'\rleading CR\","))
        #expect(text.contains(",Ünïcødé – 東京 🚀,"))
        // Every line break outside quoted fields is CRLF: strip quoted fields, then look for a bare LF.
        var inQuotes = false, previous: Character = " "
        for c in text {
            if c == "\"" { inQuotes.toggle() }
            if !inQuotes, c == "\n" { #expect(previous == "\r") }
            previous = c
        }
        #expect(!text.hasPrefix("\u{FEFF}"))
    }

    @Test func rawKeepsFormulasAndExcelAddsAByteOrderMark() throws {
        let (ledger, installers) = try hostileLedger()
        var options = ExportOptions()
        options.neutralisesFormulas = false
        options.excelByteOrderMark = true
        let (path, _, _) = try export(ledger, options)
        let bytes = try Array(Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(Array(bytes.prefix(3)) == [0xEF, 0xBB, 0xBF])
        let rows = try parseWithPythonCSV(path)
        #expect(rows.dropFirst().map { $0[1] } == installers.map(\.displayName))
        #expect(rows.dropFirst().map { $0[6] }.contains("=cmd|' /C calc'!A0"))
    }

    @Test func downloadURLsAreRedactedUnlessAskedFor() throws {
        let (ledger, installers) = try hostileLedger()
        let (redacted, _, _) = try export(ledger, ExportOptions())
        let text = try String(contentsOfFile: redacted, encoding: .utf8)
        #expect(!text.contains("download.example.invalid") && !text.contains("secret-part"))
        var options = ExportOptions()
        options.includeDownloadUrls = true
        let (included, _, _) = try export(ledger, options)
        let rows = try parseWithPythonCSV(included)
        let urlColumn = try #require(rows.first?.firstIndex(of: "download_url"))
        #expect(rows.dropFirst().map { $0[urlColumn] } == installers.map(\.downloadUrl))
        // Neither the products nor the events table carries them.
        for table in [ExportTable.products, .events] {
            options.table = table
            let (path, _, _) = try export(ledger, options)
            #expect(try !String(contentsOfFile: path, encoding: .utf8).contains("download.example.invalid"))
        }
    }

    @Test func productsHaveOneRowPerInstallerAndProduct() throws {
        let (ledger, installers) = try hostileLedger()
        var options = ExportOptions()
        options.table = .products
        let (path, summary, _) = try export(ledger, options)
        let rows = try parseWithPythonCSV(path)
        #expect(rows.first == ExportColumns.products)
        let expected = installers.flatMap { i in i.activatedProducts.enumerated().map { (i, $0.offset, $0.element) } }
        #expect(summary.rows == expected.count && rows.count == expected.count + 1)
        for (row, (i, n, p)) in zip(rows.dropFirst(), expected) {
            #expect(row == [i.uuid, neutralised(i.displayName), i.operatingSystemFamilyId == 1 ? "windows" : "macos",
                            String(i.operatingSystemFamilyId), i.deviceEnrollment.securityGroupUuid,
                            neutralised(i.deviceEnrollment.groupDisplayName), i.createTime!.rfc3339, i.expireTime!.rfc3339,
                            "usable", "", String(n), String(p.productId), p.productDisplayName, p.poolUuid, p.poolDisplayName,
                            p.subscriptionUuid, p.subscriptionSupportCode, "default"])
        }
    }

    @Test func sinceAndUntilSelectByCreationOrEventTime() throws {
        let (ledger, installers) = try hostileLedger()
        var options = ExportOptions()
        options.since = try Timestamp(commandLine: "2026-09-03")
        options.until = try Timestamp(commandLine: "2026-09-05")
        let (path, summary, _) = try export(ledger, options)
        #expect(summary.rows == 2)
        #expect(try parseWithPythonCSV(path).dropFirst().map { $0[0] } == [installers[2].uuid, installers[3].uuid])

        let h = try ScriptedHistory(freshLedger())
        var events = ExportOptions()
        events.table = .events
        events.since = try Timestamp(commandLine: "2026-04-01")
        events.until = try Timestamp(commandLine: "2026-06-01")
        let (eventsPath, _, _) = try export(h.ledger, events)
        let kinds = try parseWithPythonCSV(eventsPath).dropFirst().map { "\($0[3])@\($0[1].prefix(10))" }
        #expect(kinds == ["changed@2026-04-01", "became_unusable@2026-04-01", "changed@2026-05-01"])
        // --as-of bounds the history too: events up to the end of that day.
        events.since = nil
        events.until = nil
        events.asOf = try Timestamp(asOf: "2026-02-02")
        let (asOfPath, asOfSummary, _) = try export(h.ledger, events)
        #expect(asOfSummary.rows == 2)
        #expect(try parseWithPythonCSV(asOfPath).dropFirst().map { $0[3] } == ["recorded", "recorded"])
    }

    @Test func asOfExportsTheRebuiltStates() throws {
        let h = try ScriptedHistory(freshLedger())
        var options = ExportOptions()
        options.asOf = try Timestamp(asOf: "2026-02-15")
        let (path, _, _) = try export(h.ledger, options)
        let rows = try parseWithPythonCSV(path)
        #expect(rows.dropFirst().map { [$0[1], $0[6], $0[13], $0[18]] } == [
            ["Zulu kiosk", "Branch Vienna", "usable", "3"], ["Mike laptops", "Warehouse Linz", "usable", "3"]])
        options.asOf = try Timestamp(asOf: "2026-04-15")
        options.table = .products
        let (products, _, _) = try export(h.ledger, options)
        #expect(try parseWithPythonCSV(products).dropFirst().map { [$0[1], $0[8], $0[9], $0[11]] } == [
            ["Alpha kiosk", "unusable", "api", "12"],
            ["Mike laptops", "usable", "", "3"]])
    }

    @Test func outputIsStreamedInChunks() throws {
        let (ledger, _) = try hostileLedger()
        let (_, summary, chunks) = try export(ledger, ExportOptions(), chunkSize: 512)
        #expect(chunks >= summary.bytes / 1024)
    }

    @Test func theManifestPassesSha256sumAndStatesTheRowCount() throws {
        let (ledger, installers) = try hostileLedger()
        let path = folder.file("installers.csv")
        var options = ExportOptions()
        options.asOf = try Timestamp(asOf: "2026-12-31")
        let summary = try ledger.exportCSV(options, toFile: path, generatedAt: now)
        let manifest = try String(contentsOfFile: path + ".sha256", encoding: .utf8)
        #expect(manifest.contains("\n# rows: \(installers.count)\n"))
        #expect(manifest.contains("\n# as-of: 2026-12-31T23:59:59.999999999Z\n"))
        #expect(manifest.hasSuffix("\(summary.sha256)  installers.csv\n"))
        let check = try shell("sha256sum --strict -c installers.csv.sha256", in: folder.path)
        #expect(check.status == 0, "\(check.stderr)")
        #expect(check.stdout == "installers.csv: OK\n")
        // Only the two files: no temporary file is left beside them.
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() == ["installers.csv", "installers.csv.sha256"])
        // A changed byte is caught.
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seek(toOffset: 0)
        handle.write(Data("U".utf8))
        try handle.close()
        #expect(try shell("sha256sum -c installers.csv.sha256", in: folder.path).status != 0)
    }

    @Test func aFailedExportLeavesNothingUnderTheOutputName() throws {
        let (ledger, _) = try hostileLedger()
        let path = folder.file("installers.csv")
        try "previous export\r\n".write(toFile: path, atomically: true, encoding: .utf8)
        // The manifest cannot be created (a folder is in its way) after the data is written.
        try FileManager.default.createDirectory(atPath: path + ".sha256", withIntermediateDirectories: false)
        #expect(throws: OutputFileError.destinationIsFolder(path + ".sha256")) {
            try ledger.exportCSV(ExportOptions(), toFile: path, generatedAt: now)
        }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "previous export\r\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() == ["installers.csv", "installers.csv.sha256"])
    }

    @Test func anAbandonedFileRemovesItsTemporaryFile() throws {
        let path = folder.file("out.csv")
        var temporary = ""
        do {
            let file = try AtomicOutputFile(path: path)
            temporary = file.temporaryPath
            try file.write(Array("half a ro".utf8))
            #expect(FileManager.default.fileExists(atPath: temporary))
            #expect(URL(fileURLWithPath: temporary).deletingLastPathComponent().path == folder.path)
        }
        #expect(!FileManager.default.fileExists(atPath: temporary))
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect(throws: OutputFileError.self) { try AtomicOutputFile(path: folder.file("missing/out.csv")) }
    }

    @Test func theStreamingHashAgreesWithSha256sumWhateverTheChunks() throws {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<100_003).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let path = folder.file("random.bin")
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        var hash = SHA256()
        var offset = 0
        for size in [0, 1, 63, 64, 65, 127, 1000, 4096] + Array(repeating: 7777, count: 20) where offset < bytes.count {
            let end = min(offset + size, bytes.count)
            hash.update(bytes[offset..<end])
            offset = end
        }
        hash.update(bytes[offset...])
        let reference = try shell("sha256sum random.bin", in: folder.path).stdout.prefix(64)
        #expect(hash.finalizeHex() == String(reference))
    }

    @Test func manifestEscapesNamesAsSha256sumExpects() throws {
        let summary = ExportSummary(rows: 2, bytes: 10, sha256: String(repeating: "0", count: 64))
        let odd = ExportManifest(fileName: "a\\b\nc.csv", summary: summary, options: ExportOptions(), generatedAt: now)
        #expect(odd.text.hasSuffix("\\\(summary.sha256)  a\\\\b\\nc.csv\n"))
        #expect(odd.text.split(separator: "\n").count == 8)
    }

    // MARK: - Renderers against expected files

    /// A ledger with fixed uuids and times, so its exports are byte for byte the same.
    func fixedLedger() throws -> Ledger {
        let ledger = try freshLedger()
        let a = Sample.installer(uuid: "11111111-1111-4111-8111-111111111111", name: "=HYPERLINK(\"x\") \"Vienna\", PCs",
                                 created: "2026-09-01T08:00:00Z", products: [Sample.entry, Sample.complete])
        var b = Sample.installer(uuid: "22222222-2222-4222-8222-222222222222", name: "Macs – Graz", os: 3,
                                 group: ScriptedHistory.graz, created: "2026-10-01T08:00:00.5Z")
        _ = try ledger.record([Sample.received(a), Sample.received(b)], source: .import, at: now)
        b.displayName = "Macs – Graz (new)"
        _ = try ledger.record([Sample.received(b)], source: .sync, at: now.adding(.seconds(3600)))
        try ledger.markDeleted(uuid: a.uuid, source: .delete, at: now.adding(.seconds(7200)))
        return ledger
    }

    @Test(arguments: ExportTable.allCases)
    func exportsMatchTheirExpectedFiles(table: ExportTable) throws {
        var options = ExportOptions()
        options.table = table
        let (path, _, _) = try export(try fixedLedger(), options)
        let fixture = repositoryRoot.appendingPathComponent("Tests/InstallerLedgerTests/Fixtures/export/\(table.rawValue).csv")
        if ProcessInfo.processInfo.environment["RECORD_FIXTURES"] == "1" {
            try Data(contentsOf: URL(fileURLWithPath: path)).write(to: fixture)
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data(contentsOf: fixture))
    }

    @Test func theREADMEDocumentsEveryColumn() throws {
        let readme = try String(contentsOf: repositoryRoot.appendingPathComponent("README.md"), encoding: .utf8)
        for table in ExportTable.allCases {
            guard let start = readme.range(of: "#### `\(table.rawValue)` columns") else {
                Issue.record("README has no column table for \(table.rawValue)")
                continue
            }
            let section = String(readme[start.upperBound...]).components(separatedBy: "\n\n")[1]
            let names = section.split(separator: "\n").dropFirst(2).flatMap { line -> [String] in
                let first = line.split(separator: "|").first ?? ""
                return first.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "`", with: "") }
            }
            #expect(names == ExportColumns.header(table), "README columns of \(table.rawValue)")
        }
    }
}

/// End-to-end runs of the built binary: `export` to a file and to stdout, its manifest,
/// its errors and interruptions.
@Suite struct ExportCommandLineTests {
    let folder = TemporaryFolder()
    var db: String { folder.ledger() }
    var out: String { folder.file("audit/installers.csv") }

    init() throws {
        try FileManager.default.createDirectory(atPath: folder.file("audit"), withIntermediateDirectories: false)
    }

    func run(_ args: [String]) throws -> ProcessResult {
        try runProduct("installer-ledger", args, environment: ["INSTALLER_LEDGER_DB": db])
    }

    /// A ledger file with `count` installers (hostile names among them).
    func makeLedger(count: Int) throws {
        let ledger = try Ledger.open(path: db)
        _ = try ledger.record(source: .import, at: Sample.now) { record in
            for n in 0..<count {
                let hex = String(n, radix: 16)
                let uuid = "00000000-0000-4000-8000-" + String(repeating: "0", count: 12 - hex.count) + hex
                try record(Sample.received(Sample.installer(uuid: uuid, name: hostileNames[n % hostileNames.count])))
            }
        }
    }

    /// Files in the output folder.
    func outputFolder() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: folder.file("audit")).sorted()
    }

    @Test func exportToAFileWithItsManifestAndToStandardOutput() throws {
        try makeLedger(count: 40)
        let r = try run(["export", "--output", out, "--now", "2026-11-30T00:00:00Z"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.hasPrefix("40 rows written to \(out) (sha256 "))
        #expect(r.stderr.isEmpty)
        #expect(try outputFolder() == ["installers.csv", "installers.csv.sha256"])
        let check = try shell("sha256sum -c installers.csv.sha256", in: folder.file("audit"))
        #expect(check.status == 0 && check.stdout == "installers.csv: OK\n", "\(check.stderr)")
        let manifest = try String(contentsOfFile: out + ".sha256", encoding: .utf8)
        #expect(manifest.contains("# rows: 40\n") && manifest.contains("# generated: 2026-11-30T00:00:00Z\n"))
        #expect(try parseWithPythonCSV(out).count == 41)

        let stdout = try run(["export"])
        #expect(stdout.status == 0)
        #expect(Data(stdout.stdout.utf8) == (try Data(contentsOf: URL(fileURLWithPath: out))))
        #expect(!stdout.stdout.contains("download.example.invalid"))
        let urls = try run(["export", "--include-download-urls", "--raw", "--excel", "--table", "installers"])
        #expect(urls.stdout.hasPrefix("\u{FEFF}uuid,"))
        #expect(urls.stdout.contains("download.example.invalid") && urls.stdout.contains(",\"=HYPERLINK(") && urls.stdout.contains(",@SUM("))
        let products = try run(["export", "--table", "products", "--since", "2026-09-01", "--until", "2026-09-02",
                                "--output", folder.file("audit/products.csv")])
        #expect(products.status == 0 && products.stdout.hasPrefix("40 rows written to "))
        #expect(try parseWithPythonCSV(folder.file("audit/products.csv")).first?.first == "installer_uuid")
        let none = try run(["export", "--table", "products", "--since", "2026-09-02"])
        #expect(none.stdout == ExportColumns.products.joined(separator: ",") + "\r\n")
    }

    @Test func badOptionsAreUsageErrorsAndAMissingFolderAnIOError() throws {
        try makeLedger(count: 2)
        let table = try run(["export", "--table", "licences"])
        #expect(table.status == 64 && table.stderr.contains("'licences' is not a table: use installers, products, events"))
        let date = try run(["export", "--as-of", "31.03.2026"])
        #expect(date.status == 64 && date.stderr.contains("use 2026-03-31 (the end of that day, UTC)"))
        let order = try run(["export", "--since", "2026-05-01", "--until", "2026-04-01"])
        #expect(order.status == 64)
        let missing = try run(["export", "--output", folder.file("nowhere/installers.csv")])
        #expect(missing.status == 74)
        #expect(missing.stderr.hasPrefix("installer-ledger: error: cannot create a file next to "))
        #expect(missing.stderr.split(separator: "\n").count == 1)
        let onFolder = try run(["export", "--output", folder.file("audit")])
        #expect(onFolder.status == 74 && onFolder.stderr.contains("is a folder"))
    }

    @Test func aWriteFailureMidwayLeavesNoPartialFile() throws {
        // A file-size limit (bash counts 1024-byte blocks) makes the write fail half-way.
        try makeLedger(count: 1500)
        try "the previous export\r\n".write(toFile: out, atomically: true, encoding: .utf8)
        let binary = productsDirectory.appendingPathComponent("installer-ledger").path
        let r = try shell("ulimit -f 256 && exec '\(binary)' export --db '\(db)' --output '\(out)'", in: folder.path)
        #expect(r.status == 74, "\(r.stderr)")
        #expect(r.stderr.contains("cannot write \(out): File too large"))
        #expect(try outputFolder() == ["installers.csv"])
        #expect(try String(contentsOfFile: out, encoding: .utf8) == "the previous export\r\n")
    }

    @Test func anInterruptedExportLeavesNoPartialFile() throws {
        // Big enough that rebuilding every past state takes far longer than noticing the file.
        try makeLedger(count: 4000)
        let process = Process()
        process.executableURL = productsDirectory.appendingPathComponent("installer-ledger")
        process.arguments = ["export", "--db", db, "--output", out, "--table", "products", "--as-of", "2030-01-01"]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        // Wait (polling every millisecond) until the temporary file exists, then interrupt.
        var seen = false
        for _ in 0..<20_000 where process.isRunning {
            if try outputFolder().contains(where: { $0.hasPrefix(".installers.csv.partial-") }) { seen = true; break }
            usleep(1000)
        }
        #expect(seen, "the export never created its temporary file")
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal && process.terminationStatus == SIGTERM,
                "the export finished before it could be interrupted")
        #expect(try outputFolder() == [])
    }
}

/// The current state goes straight from SQL to CSV; past states through `LedgerInstaller`
/// values. Both must write the same bytes for the same state.
@Suite struct ExportPathsAgreeTests {
    @Test(arguments: [ExportTable.installers, .products], [false, true])
    func theSQLPathAndTheRebuiltPathWriteTheSameBytes(table: ExportTable, urls: Bool) throws {
        let ledger = try freshLedger()
        var installers = [Installer]()
        for (n, name) in hostileNames.enumerated() {
            let created = Timestamp(nanoseconds: try Timestamp(rfc3339: "2026-09-01T08:00:00.123Z").nanoseconds + Int64(n) * 3_600_000_000_123)
            var i = Sample.installer(name: name, os: Int64(n % 4), created: created.rfc3339,
                                     products: [[], [Sample.entry], [Sample.entry, Sample.complete, Sample.entry]][n % 3],
                                     components: n % 2 == 0 ? [] : [Sample.agent])
            i.preferredLanguageCode = n == 5 ? "-de" : "de-at"
            i.enablePuaDetection = n % 2 == 0
            i.usable = n != 3
            if n == 7 { (i.createTime, i.expireTime) = (nil, nil) }
            if n == 8 {
                i.activatedProducts = [Sample.complete, ActivatedProduct(productId: -5, productDisplayName: "-odd")]
                i.installedComponents = [InstalledComponent(id: 7), InstalledComponent(id: -1)]
            }
            installers.append(i)
        }
        // Later than every creation, with no expiry in between: the rebuilt state is the current one.
        let recordedAt = try Timestamp(rfc3339: "2026-09-02T00:00:00Z")
        _ = try ledger.record(installers.map(Sample.received), source: .import, at: recordedAt)
        try ledger.markDeleted(uuid: installers[4].uuid, source: .delete, at: recordedAt.adding(.seconds(60)))
        var options = ExportOptions()
        options.table = table
        options.includeDownloadUrls = urls
        var current = [UInt8](), past = [UInt8]()
        _ = try ledger.exportCSV(options) { current += $0 }
        options.asOf = recordedAt.adding(.seconds(3600))
        _ = try ledger.exportCSV(options) { past += $0 }
        #expect(String(decoding: current, as: UTF8.self) == String(decoding: past, as: UTF8.self))
        #expect(current.count > 1000)
    }
}
