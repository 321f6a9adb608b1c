import Foundation
import GRDB
import Testing
@testable import InstallerLedger

/// A ledger on disk with one installer on each side of every report boundary, a sync five
/// hours before `now`, and reports in every format one day before `now`.
struct ReportLedger {
    static let now = Sample.now
    let folder = TemporaryFolder()
    var path: String { folder.file("ledger.sqlite") }
    let ledger: Ledger

    static let hq = ("d23f0824-128b-4f33-8c5c-7fd0a6a3a450", "Head Office")
    static let vienna = ("6513270e-269e-4d37-b2a7-4de452e6b438", "Branch Vienna")
    static let linz = ("9531985d-5d9d-49f8-9818-e811892f902b", "Warehouse Linz")
    static let noGroup = ("", "")
    /// A name that needs escaping in every format.
    static let awkwardName = "=SUM(A1) Sales, \"EMEA\" | \\ *Q4*"

    static func uuid(_ digit: Character) -> String {
        let d = String(digit)
        return String(repeating: d, count: 8) + "-" + String(repeating: d, count: 4) + "-4" + String(repeating: d, count: 3)
            + "-8" + String(repeating: d, count: 3) + "-" + String(repeating: d, count: 12)
    }

    init() throws {
        let now = Self.now
        ledger = try Ledger.open(path: folder.file("ledger.sqlite"))
        let macOS = { (i: Installer) -> Installer in var m = i; m.operatingSystemFamilyId = 3; return m }
        let installers: [Installer] = [
            expiringInstaller(Self.uuid("1"), expires: now.adding(.days(3)), name: "Head office Windows", group: Self.hq, products: [Sample.complete]),
            expiringInstaller(Self.uuid("2"), expires: now.adding(.days(7)), name: Self.awkwardName, group: Self.vienna, products: [Sample.entry, Sample.complete]),
            macOS(expiringInstaller(Self.uuid("3"), expires: now.adding(.days(7)).adding(.seconds(1)), name: "Linz Macs", group: Self.linz)),
            expiringInstaller(Self.uuid("4"), expires: now.adding(.days(30)), name: "Lost & found fallback", group: Self.noGroup),
            expiringInstaller(Self.uuid("5"), expires: now.adding(.days(30)).adding(.seconds(1)), name: "Vienna PCs 2027", group: Self.vienna),
            expiringInstaller(Self.uuid("6"), expires: now.subtracting(.hours(20)), name: "Expired yesterday", group: Self.hq),
            expiringInstaller(Self.uuid("7"), expires: now.subtracting(.hours(2)), name: "Revoked early", group: Self.linz),
            expiringInstaller(Self.uuid("8"), expires: now.subtracting(.days(7)), name: "Expired last week", group: Self.hq),
            expiringInstaller(Self.uuid("9"), expires: now.adding(.days(90)), name: "Deleted at ESET", group: Self.vienna),
            expiringInstaller(Self.uuid("a"), expires: now, name: "Expires right now", group: Self.vienna),
        ]
        _ = try ledger.record(installers.map(Sample.received), source: .import, at: now.subtracting(.days(200)))
        // Revoked at ESET ten days before it would have expired.
        var revoked = installers[6]
        revoked.usable = false
        _ = try ledger.record([Sample.received(revoked)], source: .sync, at: now.subtracting(.days(10)))
        try ledger.markDeleted(uuid: Self.uuid("9"), source: .sync, at: now.subtracting(.days(3)), reason: "no longer listed")
        // Nineteen hours ago a reconcile marked what had expired by then.
        _ = try ledger.reconcile(eset: nil, at: now.subtracting(.hours(19)), startedAt: now.subtracting(.hours(19)))
        try ledger.recordSyncRun(startedAt: now.subtracting(.hours(5)), finishedAt: now.subtracting(.hours(5)),
                                 summary: SyncSummary(), error: nil)
        for format in ReportFormat.allCases {
            _ = ExpiryReporter(ledgerPath: path, format: format, now: now.subtracting(.days(1))).run()
        }
    }

    func run(_ format: ReportFormat = .text, at now: Timestamp = Self.now,
             thresholds: ReportThresholds = ReportThresholds()) -> ReportOutcome {
        ExpiryReporter(ledgerPath: path, thresholds: thresholds, format: format, now: now).run()
    }
}

/// The report model alone: thresholds and the verdict, without I/O.
@Suite struct ExpiryReportTests {
    let now = Sample.now

    func item(_ uuid: String, _ expiry: Timestamp) -> ReportInstaller {
        ReportInstaller(uuid: uuid, displayName: uuid, operatingSystem: "windows", groupUuid: "", groupName: "",
                        productIds: [], productNames: [], expireTime: expiry, status: .usable, statusReason: nil)
    }

    func snapshot(soon: [ReportInstaller] = [], expired: [ReportInstaller] = [], refreshedAgo: LedgerDuration? = .hours(1)) -> ReportSnapshot {
        ReportSnapshot(lastRefresh: refreshedAgo.map { now.subtracting($0) }, expiredInWindow: expired, expiringWithinWarn: soon)
    }

    @Test func thresholdsAreInclusiveAtTheirExactBoundary() {
        let ns = LedgerDuration(nanoseconds: 1)
        let report = ExpiryReport.make(snapshot: snapshot(soon: [
            item("critical-edge", now.adding(.days(7))),
            item("warning-start", now.adding(.days(7)).adding(ns)),
            item("warning-edge", now.adding(.days(30))),
            item("beyond", now.adding(.days(30)).adding(ns)),
            item("now", now),
        ]), thresholds: ReportThresholds(), now: now)
        #expect(report.critical.map(\.uuid) == ["critical-edge"])
        #expect(report.warning.map(\.uuid) == ["warning-start", "warning-edge"])
        #expect(report.status == .critical)
    }

    @Test func verdictIsTheWorstCheckAndUnknownWins() {
        let ok = ExpiryReport.make(snapshot: snapshot(), thresholds: ReportThresholds(), now: now)
        #expect(ok.status == .ok && ok.status.exitCode == 0)
        #expect(ok.pluginLine == "INSTALLERS OK - 0 expired since the previous report, 0 expire within 7d, 0 more within 30d; 0 usable | 'expired'=0;;0 'critical'=0;;0 'warning'=0;0; 'usable'=0;; 'sync_age'=3600s;;")
        let warning = ExpiryReport.make(snapshot: snapshot(soon: [item("w", now.adding(.days(8)))]), thresholds: ReportThresholds(), now: now)
        #expect(warning.status == .warning && warning.status.exitCode == 1)
        let expired = ExpiryReport.make(snapshot: snapshot(soon: [item("w", now.adding(.days(8)))], expired: [item("e", now)]),
                                        thresholds: ReportThresholds(), now: now)
        #expect(expired.status == .critical && expired.status.exitCode == 2)
        let stale = ExpiryReport.make(snapshot: snapshot(expired: [item("e", now)], refreshedAgo: .hours(27)),
                                      thresholds: ReportThresholds(), now: now)
        #expect(stale.status == .unknown && stale.status.exitCode == 3)
        #expect(stale.summary.hasPrefix("INSTALLERS UNKNOWN - the last successful sync or reconcile was 1d 3h ago"))
        #expect(ReportStatus.combined([.ok, .warning, .critical, .unknown]) == .unknown)
        #expect(ReportStatus.combined([]) == .ok)
    }

    @Test func aRefreshExactlyMaxSyncAgeOldIsStillFresh() {
        let edge = ExpiryReport.make(snapshot: snapshot(refreshedAgo: .hours(26)), thresholds: ReportThresholds(), now: now)
        #expect(edge.status == .ok)
        let past = ExpiryReport.make(snapshot: snapshot(refreshedAgo: LedgerDuration(nanoseconds: LedgerDuration.hours(26).nanoseconds + 1)),
                                     thresholds: ReportThresholds(), now: now)
        #expect(past.status == .unknown)
        let never = ExpiryReport.make(snapshot: snapshot(refreshedAgo: nil), thresholds: ReportThresholds(), now: now)
        #expect(never.status == .unknown)
        #expect(never.performanceData.hasSuffix("'sync_age'=U;;"))
    }
}

/// Reports read from a ledger: sections, the previous-report window, staleness, an
/// unreadable ledger, and every format against its expected file.
@Suite struct ReportTests {
    let now = Sample.now

    @Test func sectionsSplitAtTheExactBoundaries() throws {
        let fixture = try ReportLedger()
        let outcome = fixture.run()
        #expect(outcome.ledgerProblem == nil && outcome.recordingProblem == nil)
        let r = outcome.report
        #expect(r.critical.map(\.uuid) == [ReportLedger.uuid("1"), ReportLedger.uuid("2")])
        #expect(r.warning.map(\.uuid) == [ReportLedger.uuid("3"), ReportLedger.uuid("4")])
        // Expired in (previous report, now], usable until its expiry: not the revoked one.
        #expect(r.expiredSincePreviousReport.map(\.uuid) == [ReportLedger.uuid("6"), ReportLedger.uuid("a")])
        #expect(r.previousReportAt == now.subtracting(.days(1)))
        #expect(r.status == .critical)
        #expect(r.counts == ReportCounts(usable: 6, unusable: 3, deleted: 1))
        #expect(r.byGroup.map(\.label) == ["(no group)", "Branch Vienna", "Head Office", "Warehouse Linz"])
        let vienna = try #require(r.byGroup.first { $0.name == "Branch Vienna" })
        #expect(vienna.usable == 2 && vienna.nextExpiry == now.adding(.days(7)) && vienna.coveredUntil == now.adding(.days(30)).adding(.seconds(1)))
        #expect(r.byProduct.map(\.name) == ["ESET PROTECT Complete", "ESET PROTECT Entry"])
        #expect(r.byProduct.map(\.usable) == [2, 4])
    }

    @Test func expiredSinceThePreviousReportIsCountedOncePerFormat() throws {
        let fixture = try ReportLedger()
        #expect(fixture.run(.text).report.expiredSincePreviousReport.count == 2)
        // The next text report has nothing new expired; the JSON one still has its own window.
        let next = fixture.run(.text, at: now.adding(.hours(1)))
        #expect(next.report.expiredSincePreviousReport.isEmpty)
        #expect(next.report.previousReportAt == now)
        #expect(fixture.run(.json, at: now.adding(.hours(1))).report.expiredSincePreviousReport.count == 2)
        // An installer deleted after its expiry did expire while usable.
        let later = now.adding(.days(3)).adding(.hours(1))
        try fixture.ledger.markDeleted(uuid: ReportLedger.uuid("1"), source: .sync, at: now.adding(.days(3)).adding(.seconds(30 * 60)), reason: "no longer listed")
        let afterExpiry = fixture.run(.text, at: later, thresholds: ReportThresholds(maxSyncAge: .days(10)))
        #expect(afterExpiry.report.expiredSincePreviousReport.map(\.uuid) == [ReportLedger.uuid("1")])
        #expect(afterExpiry.report.status == .critical)
    }

    @Test func theFirstReportLooksBackOneDay() throws {
        let ledger = try Ledger.inMemory()
        _ = try ledger.record([
            Sample.received(expiringInstaller(ReportLedger.uuid("1"), expires: now.subtracting(.hours(23)))),
            Sample.received(expiringInstaller(ReportLedger.uuid("2"), expires: now.subtracting(.hours(25)))),
        ], source: .import, at: now.subtracting(.days(100)))
        let snapshot = try ledger.reportSnapshot(thresholds: ReportThresholds(), format: "text", at: now)
        #expect(snapshot.previousReportAt == nil)
        #expect(snapshot.expiredInWindow.map(\.uuid) == [ReportLedger.uuid("1")])
    }

    @Test func staleOrMissingRefreshIsUnknownAndOfflineReconcileDoesNotCount() throws {
        let folder = TemporaryFolder()
        let path = folder.file("ledger.sqlite")
        let ledger = try Ledger.open(path: path)
        _ = try ledger.record([Sample.received(expiringInstaller(ReportLedger.uuid("1"), expires: now.adding(.days(100))))],
                              source: .import, at: now.subtracting(.days(1)))
        func status(at t: Timestamp) -> ReportStatus { ExpiryReporter(ledgerPath: path, now: t).run().report.status }
        #expect(status(at: now) == .unknown)
        _ = try ledger.reconcile(eset: nil, at: now, startedAt: now)  // offline
        #expect(status(at: now) == .unknown)
        try ledger.recordSyncRun(startedAt: now, finishedAt: now, summary: nil, error: "503")  // failed
        #expect(status(at: now) == .unknown)
        _ = try ledger.reconcile(eset: ESETState(), at: now, startedAt: now)  // asked ESET
        #expect(status(at: now) == .ok)
        #expect(status(at: now.adding(.hours(26))) == .ok)
        #expect(status(at: now.adding(.hours(26)).adding(.seconds(1))) == .unknown)
        try ledger.recordSyncRun(startedAt: now.adding(.days(1)), finishedAt: now.adding(.days(1)), summary: SyncSummary(), error: nil)
        #expect(status(at: now.adding(.hours(26)).adding(.seconds(1))) == .ok)
        // A run after the report's `now` does not make a back-dated report fresh.
        #expect(status(at: now.subtracting(.hours(1))) == .unknown)
    }

    @Test func anUnreadableLedgerIsUnknownAndAMissingOneIsNotCreated() throws {
        let folder = TemporaryFolder()
        let missing = folder.file("nowhere/ledger.sqlite")
        let outcome = ExpiryReporter(ledgerPath: missing, now: now).run()
        #expect(outcome.report.status == .unknown)
        #expect(outcome.ledgerProblem?.contains("there is no ledger at \(missing)") == true)
        #expect(!FileManager.default.fileExists(atPath: missing))
        #expect(!FileManager.default.fileExists(atPath: folder.file("nowhere")))

        let garbage = folder.file("garbage.sqlite")
        try Data(repeating: 0x41, count: 4096).write(to: URL(fileURLWithPath: garbage))
        let bad = ExpiryReporter(ledgerPath: garbage, format: .prometheus, now: now).run()
        #expect(bad.report.status == .unknown && !bad.report.ledgerReadable)
        #expect(bad.ledgerProblem?.contains("cannot open the ledger") == true)
        let prom = ReportRendering.prometheus(bad.report)
        #expect(prom.contains("installer_ledger_report_status 3\n") && prom.contains("installer_ledger_ledger_readable 0\n"))
        #expect(ReportRendering.text(bad.report).hasPrefix("INSTALLERS UNKNOWN - cannot open the ledger"))
        let json = try JSONSerialization.jsonObject(with: Data(ReportRendering.json(bad.report).utf8)) as? [String: Any]
        #expect(json?["status"] as? String == "unknown" && json?["exitCode"] as? Int == 3)

        let directory = ExpiryReporter(ledgerPath: folder.path, now: now).run()
        #expect(directory.report.status == .unknown)
    }

    @Test func aRunThatCannotBeRecordedKeepsItsVerdict() throws {
        let fixture = try ReportLedger()
        try fixture.ledger.dbWriter.write { db in
            try db.execute(sql: "CREATE TRIGGER refuse_reports BEFORE INSERT ON report_runs BEGIN SELECT RAISE(ABORT, 'disk says no'); END")
        }
        let outcome = fixture.run()
        #expect(outcome.report.status == .critical)
        #expect(outcome.report.expiredSincePreviousReport.count == 2)
        #expect(outcome.recordingProblem?.contains("disk says no") == true)
        #expect(outcome.ledgerProblem == nil)
    }

    // MARK: - Formats

    @Test(arguments: ReportFormat.allCases)
    func eachFormatMatchesItsExpectedFile(_ format: ReportFormat) throws {
        let fixture = try ReportLedger()
        let rendered = ReportRendering.render(fixture.run(format).report, as: format)
        let ext = ["text": "txt", "json": "json", "csv": "csv", "markdown": "md", "prometheus": "prom"][format.rawValue]!
        let url = repositoryRoot.appendingPathComponent("Tests/InstallerLedgerTests/Fixtures/report/report.\(ext)")
        if ProcessInfo.processInfo.environment["RECORD_FIXTURES"] == "1" {
            try rendered.write(to: url, atomically: true, encoding: .utf8)
        }
        let expected = try String(contentsOf: url, encoding: .utf8)
        #expect(rendered == expected)
        #expect(!rendered.contains("download.example.invalid") && !rendered.contains("secret-part"))
        if format == .csv { #expect(rendered.contains("\"'=SUM(A1) Sales, \"\"EMEA\"\" | \\ *Q4*\"")) }
    }

    @Test func jsonHasTheDocumentedStableKeys() throws {
        let fixture = try ReportLedger()
        let text = ReportRendering.json(fixture.run(.json).report)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(Set(object.keys) == ["schemaVersion", "status", "exitCode", "summary", "generatedAt", "thresholds",
                                     "ledgerReadable", "lastSuccessfulRefresh", "previousReportAt", "windowStart", "checks",
                                     "expiredSincePreviousReport", "critical", "warning", "byGroup", "byProduct", "counts"])
        #expect(object["schemaVersion"] as? Int == 1 && object["exitCode"] as? Int == 2)
        let critical = try #require(object["critical"] as? [[String: Any]])
        #expect(Set(critical[0].keys) == ["uuid", "displayName", "os", "groupUuid", "groupDisplayName", "productIds", "products",
                                          "expireTime", "daysLeft", "status", "statusReason"])
        #expect(critical[1]["displayName"] as? String == ReportLedger.awkwardName)
        #expect(Set((object["byProduct"] as? [[String: Any]])?.first?.keys ?? [:].keys)
                == ["productId", "productDisplayName", "usable", "nextExpiry", "coveredUntil"])
    }

    @Test func prometheusParsesBackLineByLine() throws {
        let fixture = try ReportLedger()
        let report = fixture.run(.prometheus).report
        let exposition = ReportRendering.prometheus(report)
        let samples = try PrometheusText.parse(exposition)
        func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
            samples.first { $0.name == name && $0.labels == labels }?.value
        }
        #expect(value("installer_ledger_report_status") == 2)
        #expect(value("installer_ledger_report_timestamp_seconds") == Double(now.seconds))
        #expect(value("installer_ledger_last_successful_sync_timestamp_seconds") == Double(now.subtracting(.hours(5)).seconds))
        #expect(value("installer_ledger_installers", ["status": "usable"]) == 6)
        #expect(value("installer_ledger_installers", ["status": "deleted"]) == 1)
        #expect(value("installer_ledger_report_installers", ["section": "expired"]) == 2)
        #expect(value("installer_ledger_report_installers", ["section": "critical"]) == 2)
        #expect(value("installer_ledger_report_installers", ["section": "warning"]) == 2)
        let expiries = samples.filter { $0.name == "installer_ledger_installer_expiry_timestamp_seconds" }
        #expect(expiries.count == 5)  // every usable installer not yet expired
        let awkward = try #require(expiries.first { $0.labels["uuid"] == ReportLedger.uuid("2") })
        #expect(awkward.labels["name"] == ReportLedger.awkwardName)
        #expect(awkward.labels["group"] == "Branch Vienna" && awkward.labels["os"] == "windows")
        #expect(awkward.labels["product"] == "ESET PROTECT Entry; ESET PROTECT Complete")
        #expect(awkward.value == Double(now.adding(.days(7)).seconds))
        #expect(Set(expiries.map { $0.labels.keys.sorted() }) == [["group", "group_uuid", "name", "os", "product", "uuid"]])
    }
}

/// A strict reader of the Prometheus text exposition format, enough to check what
/// node_exporter's textfile collector would accept.
enum PrometheusText {
    struct Sample: Equatable {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    struct Malformed: Error, CustomStringConvertible {
        var line: Int
        var why: String
        var description: String { "line \(line): \(why)" }
    }

    static func parse(_ text: String) throws -> [Sample] {
        #expect(text.hasSuffix("\n"))
        var helped = Set<String>(), typed = Set<String>(), series = Set<String>()
        var samples = [Sample]()
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().enumerated() {
            let number = n + 1
            if line.hasPrefix("# HELP ") || line.hasPrefix("# TYPE ") {
                let parts = line.split(separator: " ", maxSplits: 3)
                guard parts.count == 4 else { throw Malformed(line: number, why: "a comment needs a name and text") }
                if parts[1] == "HELP" { helped.insert(String(parts[2])) } else {
                    guard parts[3] == "gauge" else { throw Malformed(line: number, why: "unexpected type \(parts[3])") }
                    typed.insert(String(parts[2]))
                }
                continue
            }
            var chars = Substring(line)
            let name = String(chars.prefix { $0.isLetter || $0.isNumber || $0 == "_" || $0 == ":" })
            guard !name.isEmpty, !name.first!.isNumber else { throw Malformed(line: number, why: "no metric name") }
            guard helped.contains(name), typed.contains(name) else { throw Malformed(line: number, why: "\(name) without HELP/TYPE first") }
            chars = chars.dropFirst(name.count)
            var labels = [String: String]()
            if chars.first == "{" {
                chars = chars.dropFirst()
                while chars.first != "}" {
                    let key = String(chars.prefix { $0 != "=" })
                    chars = chars.dropFirst(key.count)
                    guard chars.hasPrefix("=\"") else { throw Malformed(line: number, why: "label \(key) without a quoted value") }
                    chars = chars.dropFirst(2)
                    var value = ""
                    while let c = chars.first, c != "\"" {
                        chars = chars.dropFirst()
                        if c == "\\" {
                            switch chars.first {
                            case "\\": value.append("\\")
                            case "\"": value.append("\"")
                            case "n": value.append("\n")
                            default: throw Malformed(line: number, why: "bad escape in \(key)")
                            }
                            chars = chars.dropFirst()
                        } else {
                            value.append(c)
                        }
                    }
                    guard chars.first == "\"" else { throw Malformed(line: number, why: "unterminated value of \(key)") }
                    chars = chars.dropFirst()
                    guard labels.updateValue(value, forKey: key) == nil else { throw Malformed(line: number, why: "label \(key) twice") }
                    if chars.first == "," { chars = chars.dropFirst() }
                }
                chars = chars.dropFirst()
            }
            guard chars.first == " ", let value = Double(chars.dropFirst()), value.isFinite else {
                throw Malformed(line: number, why: "no numeric value")
            }
            let key = name + labels.sorted { $0.key < $1.key }.description
            guard series.insert(key).inserted else { throw Malformed(line: number, why: "duplicate series") }
            samples.append(Sample(name: name, labels: labels, value: value))
        }
        return samples
    }
}
