import Foundation
import GRDB
import Testing
@testable import InstallerLedger

/// A ledger on disk with one installer on each side of every report boundary, a sync five
/// hours before `now`, and reports in every format one day before `now`.
struct ReportLedger {
    static let now = Sample.now
    let folder = TemporaryFolder()
    var path: String { folder.ledger() }
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
        ledger = try Ledger.open(path: folder.ledger())
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
    }

    func run(_ format: ReportFormat = .text, at now: Timestamp = Self.now,
             thresholds: ReportThresholds = ReportThresholds(), perInstaller: Bool = false) -> ReportOutcome {
        var reporter = ExpiryReporter(ledgerPath: path, thresholds: thresholds, format: format, now: now)
        reporter.perInstaller = perInstaller
        return reporter.run()
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

    @Test func theTextListsFiftyInstallersASectionAndSaysHowToSeeTheRest() throws {
        let soon = (0..<1_120).map { item(String(format: "%08d-0000-4000-8000-000000000000", $0), now.adding(.hours(Int64(1 + $0 % 100)))) }
        let report = ExpiryReport.make(snapshot: snapshot(soon: soon), thresholds: ReportThresholds(), now: now)
        #expect(report.critical.count == 1_120)
        let text = ReportRendering.text(report)
        let rows = text.split(separator: "\n").filter { $0.hasPrefix("  20") }
        #expect(rows.count == 50)
        #expect(text.contains("  … and 1,070 more: installer-ledger list --expiring-within 7d\n"), "\(text.suffix(400))")
        // JSON and CSV stay complete.
        let json = try JSONSerialization.jsonObject(with: Data(ReportRendering.json(report).utf8)) as? [String: Any]
        #expect((json?["critical"] as? [Any])?.count == 1_120)
        #expect(ReportRendering.csv(report).split(separator: "\r\n").count == 1_121)
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
        #expect(ok.pluginLine == "INSTALLERS OK - 0 expired, 0 critical, 0 warning, 0 gaps, 0 usable | 'expired'=0;;0 'critical'=0;;0 'warning'=0;0; 'gaps'=0;0; 'gaps_critical'=0;;0 'usable'=0;; 'sync_age'=3600s;;")
        let warning = ExpiryReport.make(snapshot: snapshot(soon: [item("w", now.adding(.days(8)))]), thresholds: ReportThresholds(), now: now)
        #expect(warning.status == .warning && warning.status.exitCode == 1)
        let expired = ExpiryReport.make(snapshot: snapshot(soon: [item("w", now.adding(.days(8)))], expired: [item("e", now)]),
                                        thresholds: ReportThresholds(), now: now)
        #expect(expired.status == .critical && expired.status.exitCode == 2)
        let stale = ExpiryReport.make(snapshot: snapshot(expired: [item("e", now)], refreshedAgo: .hours(27)),
                                      thresholds: ReportThresholds(), now: now)
        #expect(stale.status == .unknown && stale.status.exitCode == 3)
        #expect(stale.summary.hasPrefix("INSTALLERS UNKNOWN - not synced within 26h; "), "\(stale.summary)")
        #expect(stale.checks.first { $0.id == "freshness" }?.message.hasPrefix("the last successful sync or reconcile was 1d 3h ago") == true)
        #expect(ReportStatus.combined([.ok, .warning, .critical, .unknown]) == .unknown)
        #expect(ReportStatus.combined([]) == .ok)
    }

    func gap(_ kind: CoverageGap.Kind, _ name: String, until: Timestamp) -> CoverageGap {
        CoverageGap(kind: kind, id: name, name: name,
                    lastInstaller: CoveringInstaller(uuid: "11111111-0000-4000-8000-000000000001", displayName: "Last of \(name)",
                                                     status: .usable, expireTime: until),
                    coveredUntil: until)
    }

    func gapsReport(_ gaps: [CoverageGap], thresholds: ReportThresholds = ReportThresholds()) -> ExpiryReport {
        var s = snapshot()
        s.coverageGaps = CoverageGaps(at: now.adding(thresholds.warn), groupsWatched: 3, productsWatched: 2, gaps: gaps)
        return ExpiryReport.make(snapshot: s, thresholds: thresholds, now: now)
    }

    @Test func coverageGapsRaiseWarningAndCriticalInsideTheCriticalWindow() throws {
        // Covered: no gap at now + warn.
        let covered = gapsReport([])
        #expect(covered.status == .ok && covered.checks.last?.id == "gaps" && covered.checks.last?.status == .ok)
        #expect(covered.summary == "INSTALLERS OK - 0 expired, 0 critical, 0 warning, 0 gaps, 0 usable")
        // A group left without an installer at now + 7d + 1 ns: a WARNING only.
        let ns = LedgerDuration(nanoseconds: 1)
        let warning = gapsReport([gap(.group, "Vienna Office", until: now.adding(.days(7)).adding(ns))])
        #expect(warning.status == .warning && warning.status.exitCode == 1)
        #expect(warning.criticalGaps.isEmpty)
        let check = try #require(warning.checks.first { $0.id == "gaps" })
        #expect(check.message.hasPrefix("1 device group or product will have no usable installer within 30d"))
        #expect(warning.pluginLine.contains(" 0 warning, 1 gap, 0 usable | "))
        #expect(warning.performanceData.contains("'gaps'=1;0; 'gaps_critical'=0;;0"))
        // Its last installer stopping exactly at now + critical, or a group already without one: CRITICAL.
        for until in [now.adding(.days(7)), now.subtracting(.days(40))] {
            let critical = gapsReport([gap(.group, "Brno", until: until), gap(.product, "ESET Inspect", until: now.adding(.days(20)))])
            #expect(critical.status == .critical && critical.status.exitCode == 2)
            #expect(critical.criticalGaps.map(\.name) == ["Brno"])
            #expect(critical.checks.first { $0.id == "gaps" }?.message.hasPrefix("1 device group or product has no usable installer within 7d (2 within 30d)") == true)
            #expect(critical.performanceData.contains("'gaps'=2;0; 'gaps_critical'=1;;0"))
        }
        // A wider --critical moves the same gap from WARNING to CRITICAL.
        let wide = gapsReport([gap(.group, "Vienna Office", until: now.adding(.days(10)))],
                              thresholds: ReportThresholds(warn: .days(30), critical: .days(14)))
        #expect(wide.status == .critical)
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

/// Reports read from a ledger: sections, the recently-expired window, staleness, an
/// unreadable ledger, and every format against its expected file.
@Suite(.serialized) struct ReportTests {
    let now = Sample.now

    @Test func sectionsSplitAtTheExactBoundaries() throws {
        let fixture = try ReportLedger()
        let outcome = fixture.run()
        #expect(outcome.ledgerProblem == nil)
        let r = outcome.report
        #expect(r.critical.map(\.uuid) == [ReportLedger.uuid("1"), ReportLedger.uuid("2")])
        #expect(r.warning.map(\.uuid) == [ReportLedger.uuid("3"), ReportLedger.uuid("4")])
        // Expired in (now - 26h, now], usable until its expiry: not the revoked one.
        #expect(r.recentlyExpired.map(\.uuid) == [ReportLedger.uuid("6"), ReportLedger.uuid("a")])
        #expect(r.windowStart == now.subtracting(.hours(26)))
        #expect(r.status == .critical)
        #expect(r.counts == ReportCounts(usable: 6, unusable: 3, deleted: 1))
        #expect(r.byGroup.map(\.label) == ["(no group)", "Branch Vienna", "Head Office", "Warehouse Linz"])
        let vienna = try #require(r.byGroup.first { $0.name == "Branch Vienna" })
        #expect(vienna.usable == 2 && vienna.nextExpiry == now.adding(.days(7)) && vienna.coveredUntil == now.adding(.days(30)).adding(.seconds(1)))
        #expect(r.byProduct.map(\.name) == ["ESET PROTECT Complete", "ESET PROTECT Entry"])
        #expect(r.byProduct.map(\.usable) == [2, 4])
    }

    @Test func theReportCarriesTheCoverageGapsAtNowPlusWarn() throws {
        let fixture = try ReportLedger()
        let r = fixture.run().report
        #expect(r.coverageGaps.at == now.adding(.days(30)))
        // Head Office ends with its installer expiring in 3 days, Linz when its Mac one expires
        // (the other was revoked), "no group" exactly at now + warn; Complete with the 7-day one.
        #expect(r.coverageGaps.gaps.map(\.name) == ["Head Office", "Warehouse Linz", "(no security group)", "ESET PROTECT Complete"])
        #expect(r.coverageGaps.gaps.map(\.coveredUntil) == [now.adding(.days(3)), now.adding(.days(7)).adding(.seconds(1)),
                                                           now.adding(.days(30)), now.adding(.days(7))])
        #expect(r.criticalGaps.map(\.name) == ["Head Office", "ESET PROTECT Complete"])
        #expect(r.checks.first { $0.id == "gaps" }?.status == .critical)
        // The same finding as `gaps` at the same date, read in the report's snapshot.
        #expect(try fixture.ledger.coverageGaps(at: now.adding(.days(30))) == r.coverageGaps)
    }

    @Test func theVerdictIsTheSameHoweverOftenAndInWhateverOrderReportsRun() throws {
        let fixture = try ReportLedger()
        let times = [now, now.adding(.seconds(300)), now.subtracting(.hours(1)), now, now.adding(.hours(3)), now.adding(.seconds(300))]
        var first = [Timestamp: (ReportStatus, [String])]()
        // Every format, in this order and reversed: each time's answer never changes.
        for order in [times, times.reversed()] {
            for format in ReportFormat.allCases {
                for t in order {
                    let r = fixture.run(format, at: t).report
                    let answer = (r.status, r.checks.map { "\($0.id)=\($0.status)" })
                    if let seen = first[t] { #expect(seen.0 == answer.0 && seen.1 == answer.1, "\(t.rfc3339) \(format)") }
                    first[t] = answer
                }
            }
        }
        // Five minutes later the installer that expired 20 h ago is still within 26 h: CRITICAL.
        #expect(first[now.adding(.seconds(300))]?.0 == .critical)
        // A report never writes: no run is recorded.
        let runs = try fixture.ledger.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM report_runs") }
        #expect(runs == 0)
    }

    @Test func recentlyExpiredIsAWindowOfExpiredWithin() throws {
        let fixture = try ReportLedger()
        #expect(fixture.run(.text).report.recentlyExpired.count == 2)
        // Seven hours on, the one from 20 h ago is out of the 26 h window; a 2-day window keeps it.
        let later = now.adding(.hours(7))
        #expect(fixture.run(.text, at: later).report.recentlyExpired.map(\.uuid) == [ReportLedger.uuid("a")])
        let wide = fixture.run(.text, at: later, thresholds: ReportThresholds(expiredWithin: .days(2))).report
        #expect(wide.recentlyExpired.count == 2)
        // An installer deleted after its expiry did expire while usable.
        let afterExpiry = now.adding(.days(3)).adding(.hours(1))
        try fixture.ledger.markDeleted(uuid: ReportLedger.uuid("1"), source: .sync, at: now.adding(.days(3)).adding(.seconds(30 * 60)), reason: "no longer listed")
        let deleted = fixture.run(.text, at: afterExpiry, thresholds: ReportThresholds(maxSyncAge: .days(10)))
        #expect(deleted.report.recentlyExpired.map(\.uuid) == [ReportLedger.uuid("1")])
        #expect(deleted.report.status == .critical)
    }

    @Test func anImportFedLedgerIsOKWithMaxSyncAgeOff() throws {
        let ledger = try freshLedger()
        _ = try ledger.record([Sample.received(expiringInstaller(ReportLedger.uuid("1"), expires: now.adding(.days(90))))],
                              source: .import, at: now.subtracting(.days(1)))
        let snapshot = try ledger.reportSnapshot(thresholds: ReportThresholds(), format: "text", at: now)
        #expect(ExpiryReport.make(snapshot: snapshot, thresholds: ReportThresholds(), now: now).status == .unknown)
        let off = ReportThresholds(maxSyncAge: nil)
        let report = ExpiryReport.make(snapshot: snapshot, thresholds: off, now: now)
        #expect(report.status == .ok, "\(report.checks)")
        #expect(report.checks.first { $0.id == "freshness" }?.message.contains("not checked") == true)
    }

    @Test func aPipeInANameNeverReachesTheLongOutput() throws {
        let fixture = try ReportLedger()
        let text = ReportRendering.text(fixture.run(.text).report)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        // One `|` in the whole output: the one before the first line's performance data.
        #expect(text.filter { $0 == "|" }.count == 1 && lines[0].contains(" | "))
        #expect(text.contains("=SUM(A1) Sales, \"EMEA\" ¦"))
        #expect(lines[0].count < 200, "the first line is short: \(lines[0])")
    }

    @Test func recentlyExpiredLooksBack26HoursByDefault() throws {
        let ledger = try freshLedger()
        _ = try ledger.record([
            Sample.received(expiringInstaller(ReportLedger.uuid("1"), expires: now.subtracting(.hours(25)))),
            Sample.received(expiringInstaller(ReportLedger.uuid("2"), expires: now.subtracting(.hours(27)))),
        ], source: .import, at: now.subtracting(.days(100)))
        let snapshot = try ledger.reportSnapshot(thresholds: ReportThresholds(), format: "text", at: now)
        #expect(snapshot.expiredInWindow.map(\.uuid) == [ReportLedger.uuid("1")])
    }

    @Test func staleOrMissingRefreshIsUnknownAndOfflineReconcileDoesNotCount() throws {
        let folder = TemporaryFolder()
        let path = folder.ledger()
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
        #expect(ReportRendering.text(bad.report).hasPrefix("INSTALLERS UNKNOWN - cannot read the ledger"))
        #expect(ReportRendering.text(bad.report).contains("\nUNKNOWN: cannot open the ledger"))
        let json = try JSONSerialization.jsonObject(with: Data(ReportRendering.json(bad.report).utf8)) as? [String: Any]
        #expect(json?["status"] as? String == "unknown" && json?["exitCode"] as? Int == 3)

        let directory = ExpiryReporter(ledgerPath: folder.path, now: now).run()
        #expect(directory.report.status == .unknown)
    }

    @Test(.sqliteOnly) func summariesNeverScanEveryInstaller() throws {
        // The planner, left alone, walked a product index over every installer and looked
        // each one up: 18 s on a million installers. The coverage questions walk the usable
        // slice of `installers_by_subject` in order and seek it; the sections stay on the
        // covering usable-by-expiry index (the subject index must not take them over).
        let ledger = try freshLedger()
        func plan(_ sql: String, _ arguments: StatementArguments) throws -> [String] {
            try ledger.readDatabase { db in try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql, arguments: arguments).map { $0["detail"] as String } }
        }
        let live = try plan(CoverageQueries.liveSQL, [1, 0])
        #expect(live == ["SEARCH installers USING COVERING INDEX installers_by_subject (account_id=? AND status=?)"], "\(live)")
        let seeks = CoverageQueries.watchedSQL
        for (sql, arguments) in [(seeks.first, [1, "usable"]), (seeks.sameGroup, [1, "usable", "g", "1,2"]),
                                 (seeks.nextGroup, [1, "usable", "g"])] as [(String, [any DatabaseValueConvertible])] {
            let p = try plan(sql, StatementArguments(arguments))
            #expect(p.count == 1 && p[0].hasPrefix("SEARCH installers USING COVERING INDEX installers_by_subject (account_id=? AND status=?"), "\(p)")
        }
        for scoped in ["", " AND +account_id IN (1, 2)"] {
            let section = try plan("""
                SELECT uuid, display_name FROM installers WHERE status = 'usable' AND expire_time > ? AND expire_time <= ?
                AND \(ReportQueries.notReplaced)\(scoped) ORDER BY expire_time, uuid
                """, [0, 1])
            #expect(section.first == "SEARCH installers USING INDEX installers_usable_by_expiry (expire_time>? AND expire_time<?)", "\(section)")
        }
    }


    // MARK: - Formats

    @Test(arguments: ReportFormat.allCases)
    func eachFormatMatchesItsExpectedFile(_ format: ReportFormat) throws {
        let fixture = try ReportLedger()
        let rendered = ReportRendering.render(fixture.run(format).report, as: format)
        let ext = ["text": "txt", "json": "json", "csv": "csv", "markdown": "md", "prometheus": "prom", "html": "html"][format.rawValue]!
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
                                     "ledgerReadable", "lastSuccessfulRefresh", "windowStart", "checks",
                                     "recentlyExpired", "critical", "warning", "coverageGaps", "byGroup", "byProduct", "counts",
                                     "accounts"])
        #expect(object["schemaVersion"] as? Int == 2 && object["exitCode"] as? Int == 2)
        let critical = try #require(object["critical"] as? [[String: Any]])
        #expect(Set(critical[0].keys) == ["uuid", "displayName", "os", "groupUuid", "groupDisplayName", "productIds", "products",
                                          "expireTime", "daysLeft", "status", "statusReason", "account"])
        #expect(critical[1]["displayName"] as? String == ReportLedger.awkwardName)
        #expect(Set((object["byProduct"] as? [[String: Any]])?.first?.keys ?? [:].keys)
                == ["productId", "productDisplayName", "usable", "nextExpiry", "coveredUntil", "account"])
    }

    @Test func theHTMLPageIsSelfContainedWithATimeline() throws {
        let fixture = try ReportLedger()
        let report = fixture.run(.html).report
        let page = ReportRendering.html(report)
        // One page a mail client shows: no scripts, no external assets, no download URL.
        #expect(page.hasPrefix("<!DOCTYPE html>") && page.hasSuffix("</html>\n"))
        for forbidden in ["<script", "src=", "href=", "<link", "@import", "url(", "download.example.invalid"] {
            #expect(!page.contains(forbidden), "\(forbidden)")
        }
        #expect(page.contains("<div class=\"status\">INSTALLERS CRITICAL</div>"))
        // The SVG timeline: a bar per device group and product, the two horizons.
        let bars = page.components(separatedBy: "<rect ").count - 1
        #expect(bars == report.byGroup.count + report.byProduct.count
                + report.coverageGaps.gaps.filter { $0.coveredUntil <= report.generatedAt }.count)
        #expect(page.contains(">critical 7d</text>") && page.contains(">warning 30d</text>"))
        // Names are escaped, in tables and in the picture.
        #expect(!page.contains(ReportLedger.awkwardName) && page.contains("=SUM(A1) Sales, &quot;EMEA&quot; | \\ *Q4*"))
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
        // By default no series per installer, and no names in labels: groups and products by id.
        #expect(!samples.contains { $0.name == "installer_ledger_installer_expiry_timestamp_seconds" })
        #expect(!samples.contains { $0.labels.keys.contains("name") || $0.labels.values.contains(ReportLedger.awkwardName) })
        #expect(value("installer_ledger_group_usable_installers", ["account": "default", "group_uuid": ReportLedger.vienna.0]) == 2)
        #expect(value("installer_ledger_group_next_expiry_timestamp_seconds", ["account": "default", "group_uuid": ReportLedger.vienna.0])
                == Double(now.adding(.days(7)).seconds))
        #expect(value("installer_ledger_product_usable_installers", ["account": "default", "product_id": "12"]) == 2)

        // --per-installer: one expiry gauge per usable installer, labelled with stable ids only.
        let full = fixture.run(.prometheus, perInstaller: true).report
        let perInstaller = try PrometheusText.parse(ReportRendering.prometheus(full, perInstaller: true))
        let expiries = perInstaller.filter { $0.name == "installer_ledger_installer_expiry_timestamp_seconds" }
        #expect(expiries.count == 5)  // every usable installer not yet expired
        let awkward = try #require(expiries.first { $0.labels["uuid"] == ReportLedger.uuid("2") })
        #expect(awkward.value == Double(now.adding(.days(7)).seconds))
        #expect(Set(expiries.map { $0.labels.keys.sorted() }) == [["account", "group_uuid", "uuid"]])
        #expect(awkward.labels["account"] == "default" && awkward.labels["group_uuid"] == ReportLedger.vienna.0)
    }

    @Test func prometheusSeriesAreBoundedByGroupsAndProductsNotInstallers() throws {
        // 3,000 installers in 3 groups: the default exposition has tens of series, not thousands.
        let ledger = try freshLedger()
        let groups = [ReportLedger.hq, ReportLedger.vienna, ReportLedger.linz]
        let installers = (0..<3000).map { n in
            expiringInstaller(String(format: "%08x-0000-4000-8000-000000000000", n), expires: now.adding(.days(Int64(1 + n % 200))),
                              group: groups[n % 3])
        }
        _ = try ledger.record(installers.map(Sample.received), source: .import, at: now.subtracting(.days(1)))
        let report = ExpiryReport.make(snapshot: try ledger.reportSnapshot(thresholds: ReportThresholds(), format: "prometheus", at: now),
                                       thresholds: ReportThresholds(), now: now)
        let series = try PrometheusText.parse(ReportRendering.prometheus(report))
        #expect(series.count < 60, "\(series.count) series")
        #expect(series.count >= 20)
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

/// End-to-end runs of the built binary: exit codes, stdout, stderr and the ledger after.
@Suite(.serialized) struct ReconcileReportCommandLineTests {
    let folder = TemporaryFolder()
    var db: String { folder.ledger() }
    let examples = repositoryRoot.appendingPathComponent("examples").path
    let now = "2026-11-29T12:00:00Z"

    func run(_ args: [String], environment: [String: String] = [:]) async throws -> ProcessResult {
        let env = ["INSTALLER_LEDGER_DB": db].merging(environment) { $1 }
        return try await offThePool { try runProduct("installer-ledger", args, environment: env) }
    }

    /// The ten example installers, and a sync five hours before `now`.
    func importExamples() async throws {
        let r = try await run(["import", "\(examples)/create-answer.json", "\(examples)/list-page-1.json",
                         "\(examples)/list-page-2.json", "\(examples)/installers.ndjson"])
        #expect(r.status == 0, "\(r.stderr)")
        let t = try Timestamp(rfc3339: now).subtracting(.hours(5))
        try Ledger.open(path: db).recordSyncRun(startedAt: t, finishedAt: t, summary: SyncSummary(), error: nil)
    }

    @Test func reconcileOfflineDryRunThenForReal() async throws {
        try await importExamples()
        let later = "2027-03-01T00:00:00Z"
        let before = try Ledger.open(path: db).contentDump()
        let dry = try await run(["reconcile", "--offline", "--dry-run", "--now", later])
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(dry.stdout.hasPrefix("dry run, nothing written: would mark 5 expired, 0 unusable by ESET, 0 deleted, 0 disagreements (offline: clock only)\n"))
        #expect(dry.stdout.split(separator: "\n").count == 6)
        #expect(try Ledger.open(path: db).contentDump() == before)

        let real = try await run(["reconcile", "--offline", "--now", later])
        #expect(real.status == 0 && real.stderr.isEmpty)
        #expect(real.stdout.hasPrefix("reconciled at 2027-03-01T00:00:00Z: 5 expired, 0 unusable by ESET, 0 deleted"))
        let history = try await run(["history", "--kind", "became_unusable", "--format", "csv"])
        #expect(history.stdout.components(separatedBy: "\r\n").filter { $0.contains(",reconcile,expired,") }.count == 5)
        let again = try await run(["reconcile", "--offline", "--now", later])
        #expect(again.stdout.hasPrefix("reconciled at 2027-03-01T00:00:00Z: 0 expired"))

        let noCredentials = try await run(["reconcile"], environment: ["ESET_CONNECT_USERNAME": "", "ESET_CONNECT_PASSWORD": ""])
        #expect(noCredentials.status == 64 && noCredentials.stderr.contains("set ESET_CONNECT_USERNAME"))
    }

    @Test func reportExitCodesFollowTheThresholds() async throws {
        try await importExamples()
        // One example installer expires on 2026-12-05 (5 days), two more within 30 days.
        let critical = try await run(["report", "--now", now])
        #expect(critical.status == 2, "\(critical.stderr)")
        #expect(critical.stdout.hasPrefix("INSTALLERS CRITICAL - 0 expired, 1 critical, 2 warning, 1 gap, 9 usable | "))
        #expect(!critical.stdout.contains("download.example.invalid"))
        let warning = try await run(["report", "--now", now, "--critical", "3d"])
        #expect(warning.status == 1 && warning.stdout.hasPrefix("INSTALLERS WARNING - "))
        let ok = try await run(["report", "--now", now, "--warn", "2d", "--critical", "1d"])
        #expect(ok.status == 0 && ok.stdout.hasPrefix("INSTALLERS OK - "))
        let quietOK = try await run(["report", "--now", now, "--warn", "2d", "--critical", "1d", "--quiet"])
        #expect(quietOK.status == 0 && quietOK.stdout.isEmpty && quietOK.stderr.isEmpty)
        let quietWarning = try await run(["report", "--now", now, "--critical", "3d", "--quiet"])
        #expect(quietWarning.status == 1 && quietWarning.stdout.hasPrefix("INSTALLERS WARNING - "))
        let stale = try await run(["report", "--now", now, "--max-sync-age", "4h", "--format", "json"])
        #expect(stale.status == 3)
        let json = try JSONSerialization.jsonObject(with: Data(stale.stdout.utf8)) as? [String: Any]
        #expect(json?["status"] as? String == "unknown")

        // Usage errors: UNKNOWN (3), see usageErrorsAreUnknownWithTheUsageLineAndATimeoutIsUnknown.
        #expect(try await run(["report", "--format", "xml"]).status == 3)
    }

    @Test func anUnreadableLedgerIsUnknownAndNeverCreated() async throws {
        let missing = folder.file("absent/ledger.sqlite")
        let r = try await offThePool { try runProduct("installer-ledger", ["report", "--db", missing, "--quiet"]) }
        #expect(r.status == 3)
        #expect(r.stdout.hasPrefix("INSTALLERS UNKNOWN - no ledger at \(missing)"))
        #expect(r.stdout.contains("\nUNKNOWN: there is no ledger at \(missing)"))
        #expect(r.stderr.hasPrefix("installer-ledger: error: there is no ledger at"))
        #expect(!FileManager.default.fileExists(atPath: folder.file("absent")))
        let garbage = folder.file("garbage.sqlite")
        try Data(repeating: 0x41, count: 4096).write(to: URL(fileURLWithPath: garbage))
        let bad = try await offThePool { try runProduct("installer-ledger", ["report", "--db", garbage, "--format", "prometheus"]) }
        #expect(bad.status == 3 && bad.stdout.contains("installer_ledger_report_status 3"))
    }

    @Test func outputIsWrittenAtomicallyAndKeepsTheFilesMode() async throws {
        try await importExamples()
        let out = folder.file("metrics/installer_ledger.prom")
        try FileManager.default.createDirectory(atPath: folder.file("metrics"), withIntermediateDirectories: true)
        try "old".write(toFile: out, atomically: false, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: out)
        let r = try await run(["report", "--now", now, "--format", "prometheus", "--output", out])
        #expect(r.status == 2)
        #expect(r.stdout.hasPrefix("INSTALLERS CRITICAL - ") && r.stdout.split(separator: "\n").count == 1)
        let written = try String(contentsOfFile: out, encoding: .utf8)
        #expect(written.hasPrefix("# HELP installer_ledger_report_status"))
        #expect(try PrometheusText.parse(written).contains { $0.name == "installer_ledger_report_status" && $0.value == 2 })
        let mode = try FileManager.default.attributesOfItem(atPath: out)[.posixPermissions] as? Int
        #expect(mode == 0o644)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.file("metrics")) == ["installer_ledger.prom"])

        let nowhere = try await run(["report", "--now", now, "--output", folder.file("no/such/folder/report.txt")])
        #expect(nowhere.status == 74 && nowhere.stderr.contains("cannot write the report to"))
    }

    @Test func aReportOfAReadOnlyLedgerKeepsItsVerdict() async throws {
        try await importExamples()
        let refuse = TestEngine.isPostgres ? [
            "CREATE FUNCTION refuse_reports() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'read-only for the test'; END $$",
            "CREATE TRIGGER refuse_reports BEFORE INSERT ON report_runs FOR EACH ROW EXECUTE FUNCTION refuse_reports()",
        ] : ["CREATE TRIGGER refuse_reports BEFORE INSERT ON report_runs BEGIN SELECT RAISE(ABORT, 'read-only for the test'); END"]
        try await Ledger.open(path: db).write { db in
            for statement in refuse { try db.execute(sql: statement) }
        }
        let r = try await run(["report", "--now", now])
        #expect(r.status == 2 && r.stdout.hasPrefix("INSTALLERS CRITICAL - "))
        #expect(r.stderr.isEmpty, "\(r.stderr)")
    }

    @Test func usageErrorsAreUnknownWithTheUsageLineAndATimeoutIsUnknown() async throws {
        try await importExamples()
        for args in [["--warn", "7d", "--critical", "30d"], ["--format", "xml"], ["--warn", "a month"], ["--max-sync-age", "soon"]] {
            let r = try await run(["report"] + args)
            #expect(r.status == 3, "\(args): \(r.stdout) \(r.stderr)")
            #expect(r.stdout.hasPrefix("INSTALLERS UNKNOWN - ") && r.stdout.contains("Usage: installer-ledger report"), "\(args): \(r.stdout)")
        }
        let off = try await run(["report", "--now", now, "--max-sync-age", "off", "--format", "json"])
        #expect(off.stdout.contains("\"maxSyncAge\":\"off\""))
        // A timeout too short for any report: UNKNOWN at once, saying so.
        let timedOut = try await run(["report", "--timeout", "0s"])
        #expect(timedOut.status == 3 && timedOut.stdout.hasPrefix("INSTALLERS UNKNOWN - timed out after 0s"), "\(timedOut.stdout)")
    }
}

/// The `examples/crontab` line, run as cron would run it (`/bin/sh -c`, a bare PATH, the
/// environment file), against a ledger and the ESET Connect sandbox on loopback. Nested in
/// the serialized command-line suite so that one child process of these suites runs at a
/// time: timing-sensitive sandbox tests elsewhere in the process share the two cores.
extension ReconcileReportCommandLineTests {
    @Suite struct ExampleCrontabTests {
        /// The command of the first active crontab entry (after its five time fields).
        static func crontabCommand() throws -> String {
            let text = try String(contentsOf: repositoryRoot.appendingPathComponent("examples/crontab"), encoding: .utf8)
            let entry = try #require(text.split(separator: "\n").first { line in
                !line.hasPrefix("#") && !line.contains("=/") && !line.contains("MAILTO") && line.split(separator: " ").count > 5
            })
            var rest = Substring(entry)
            for _ in 0..<5 {
                rest = rest.drop { $0 == " " }.drop { $0 != " " }
            }
            return String(rest.drop { $0 == " " })
        }

        func sh(_ command: String, home: String) async throws -> ProcessResult {
            try await offThePool { try Self.shBlocking(command, home: home) }
        }

        static func shBlocking(_ command: String, home: String) throws -> ProcessResult {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", command]
            process.environment = ["HOME": home, "PATH": "\(productsDirectory.path):/usr/bin:/bin"]
            let out = Pipe(), err = Pipe()
            process.standardOutput = out
            process.standardError = err
            try process.run()
            let stdout = out.fileHandleForReading.readDataToEndOfFile()
            let stderr = err.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return ProcessResult(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                                 stderr: String(decoding: stderr, as: UTF8.self))
        }

        /// Creates an installer at the sandbox that expires `days` from now, by creating it
        /// with the sandbox's clock moved back.
        func createAtESET(_ f: SandboxFixture, expiringIn days: Int64) async throws {
            let now = Timestamp.now()
            let created = now.adding(.days(days)).addingMonths(-6)
            let offset = Double(created.nanoseconds - now.nanoseconds) / 1e9
            await f.sandbox.advanceClock(by: offset)
            _ = try await f.client().createInstaller(CreateInstallerRequest(displayName: "Expires in \(days) days", operatingSystemFamilyId: 1))
            await f.sandbox.advanceClock(by: -offset)
        }

        @Test func theCrontabLineGivesEachVerdict() async throws {
            let command = try Self.crontabCommand()
            #expect(command.contains("installer-ledger reconcile") && command.hasSuffix("installer-ledger report --quiet"))
            let f = try await SandboxFixture()
            let home = TemporaryFolder()
            let db = home.ledger()
            try FileManager.default.createDirectory(atPath: home.file(".config/installer-ledger"), withIntermediateDirectories: true)
            func writeEnvironment(password: String) throws {
                try """
                    ESET_CONNECT_USERNAME=api@example.com
                    ESET_CONNECT_PASSWORD=\(password)
                    ESET_CONNECT_API_URL=\(f.url.absoluteString)
                    INSTALLER_LEDGER_DB=\(db)
                    \(TestEngine.isPostgres ? "PGPASSFILE=\(TestEngine.environment["PGPASSFILE"] ?? "")" : "")

                    """.write(toFile: home.file(".config/installer-ledger/env"), atomically: true, encoding: .utf8)
            }
            let url = f.url.absoluteString
            let sync = { () async throws -> Void in
                let r = try await offThePool {
                    try runProduct("installer-ledger", ["sync", "--db", db, "--api-url", url],
                                   environment: ["ESET_CONNECT_USERNAME": "api@example.com", "ESET_CONNECT_PASSWORD": "sandbox"])
                }
                #expect(r.status == 0, "\(r.stderr)")
            }

            // UNKNOWN: ESET refuses the credentials, so nothing ever refreshed the new ledger.
            try writeEnvironment(password: "wrong")
            let unknown = try await sh(command, home: home.path)
            #expect(unknown.status == 3, "\(unknown.stderr)")
            #expect(unknown.stdout.hasPrefix("INSTALLERS UNKNOWN - never synced; "), "\(unknown.stdout)")
            #expect(unknown.stdout.contains("UNKNOWN: no successful sync or reconcile"))
            #expect(unknown.stderr.contains("ESET Connect refused the credentials (401)"))

            // OK: a fresh installer, silent.
            try writeEnvironment(password: "sandbox")
            try await createAtESET(f, expiringIn: 120)
            try await sync()
            let ok = try await sh(command, home: home.path)
            #expect(ok.status == 0, "\(ok.stdout) \(ok.stderr)")
            #expect(ok.stdout.isEmpty && ok.stderr.isEmpty)

            // WARNING, then CRITICAL as installers closer to expiry appear.
            try await createAtESET(f, expiringIn: 20)
            try await sync()
            let warning = try await sh(command, home: home.path)
            #expect(warning.status == 1 && warning.stdout.hasPrefix("INSTALLERS WARNING - 0 expired, 0 critical, 1 warning, 0 gaps, 2 usable | "))
            try await createAtESET(f, expiringIn: 3)
            try await sync()
            let critical = try await sh(command, home: home.path)
            #expect(critical.status == 2 && critical.stdout.hasPrefix("INSTALLERS CRITICAL - 0 expired, 1 critical, 1 warning, 0 gaps, 3 usable | "))
            #expect(!critical.stdout.contains("https://") && !critical.stderr.contains("sandbox"))

            // The runs were recorded: each night's reconcile asked ESET.
            let ledger = try Ledger.open(path: db)
            #expect(try ledger.lastSuccessfulRefresh(at: .now()) != nil)
            await f.sandbox.stop()
        }
    }
}
