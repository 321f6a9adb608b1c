import ESETConnectSandbox
import Foundation
import Testing
@testable import InstallerLedger

@Suite struct GapsTests {
    static let at = try! Timestamp(rfc3339: "2027-01-15T00:00:00Z")

    static func record(_ uuid: String, _ name: String, group: (String, String), status: InstallerStatus = .usable,
                       created: String, expires: String?, changed: String = "2026-11-01T00:00:00Z",
                       products: [(id: Int64, name: String)]) -> CoverageRecord {
        CoverageRecord(uuid: uuid, displayName: name, securityGroupUuid: group.0, groupDisplayName: group.1, status: status,
                       statusChangedAt: try! Timestamp(rfc3339: changed), createTime: try! Timestamp(rfc3339: created),
                       expireTime: try! expires.map { try Timestamp(rfc3339: $0) }, products: products)
    }

    static let vienna = ("4fb28e60-7351-40c2-9ea5-619db2c05e05", "Vienna Office")
    static let brno = ("50c39f71-8462-41d3-8fb6-72aec3d16f06", "Brno Branch")
    static let lostAndFound = ("", "Lost & found")
    static let entry: (id: Int64, name: String) = (103, "ESET PROTECT Entry")
    static let complete: (id: Int64, name: String) = (105, "ESET PROTECT Complete")
    static let inspect: (id: Int64, name: String) = (128, "ESET Inspect")

    /// Vienna: one installer expiring before `at`, one after (covered). Brno: an older and a
    /// newer installer both gone by `at` (gap, named by the newer). Lost & found: found
    /// unusable by ESET before its expiry (gap from then). Inspect only on the expiring one.
    static let records = [
        record("11111111-0000-4000-8000-000000000001", "Vienna PCs", group: vienna, created: "2026-07-01T00:00:00Z",
               expires: "2027-01-01T00:00:00Z", products: [entry, inspect]),
        record("11111111-0000-4000-8000-000000000002", "Vienna PCs 2", group: vienna, created: "2026-10-01T00:00:00Z",
               expires: "2027-04-01T00:00:00Z", products: [entry]),
        record("22222222-0000-4000-8000-000000000001", "Brno Macs", group: ("50c39f71-8462-41d3-8fb6-72aec3d16f06", "Brno"),
               created: "2026-06-01T00:00:00Z", expires: "2026-12-01T00:00:00Z", products: [complete]),
        record("22222222-0000-4000-8000-000000000002", "Brno Macs (renewed)", group: brno, created: "2026-07-10T00:00:00Z",
               expires: "2027-01-10T00:00:00Z", products: [complete]),
        record("33333333-0000-4000-8000-000000000001", "Fallback", group: lostAndFound, status: .unusable,
               created: "2026-09-01T00:00:00Z", expires: "2027-03-01T00:00:00Z", changed: "2026-11-20T00:00:00Z",
               products: [entry]),
    ]

    @Test func groupsAndProductsWithoutAUsableInstallerAtTheDate() {
        let gaps = CoverageAnalysis.gaps(of: Self.records, at: Self.at)
        #expect(gaps.groupsWatched == 3 && gaps.productsWatched == 3)
        #expect(gaps.gaps.map(\.kind) == [.group, .group, .product, .product])
        let lost = gaps.gaps[0], brno = gaps.gaps[1]
        #expect(lost.id == "" && lost.name == "Lost & found")
        #expect(lost.coveredUntil == (try! Timestamp(rfc3339: "2026-11-20T00:00:00Z")))  // found unusable then
        #expect(brno.id == Self.brno.0 && brno.name == "Brno Branch")  // the newest installer's name for the group
        #expect(brno.lastInstaller.uuid == "22222222-0000-4000-8000-000000000002")
        #expect(brno.coveredUntil == brno.lastInstaller.expireTime)
        #expect(gaps.gaps[2].name == "ESET Inspect" && gaps.gaps[2].id == "128")
        #expect(gaps.gaps[2].lastInstaller.uuid == "11111111-0000-4000-8000-000000000001")
        #expect(gaps.gaps[3].name == "ESET PROTECT Complete")
        #expect(!gaps.gaps.contains { $0.name == "Vienna Office" || $0.name == "ESET PROTECT Entry" })
        #expect(gaps.starting(by: try! Timestamp(rfc3339: "2027-01-05T00:00:00Z")).map(\.name) == ["Lost & found", "ESET Inspect"])
        // Earlier, everything but the group ESET called unusable is covered.
        let december = CoverageAnalysis.gaps(of: Self.records, at: try! Timestamp(rfc3339: "2026-12-15T00:00:00Z"))
        #expect(december.gaps.map(\.name) == ["Lost & found"])
        #expect(CoverageAnalysis.gaps(of: [], at: Self.at) == CoverageGaps(at: Self.at, groupsWatched: 0, productsWatched: 0, gaps: []))
    }

    @Test func renderersMatchFixtures() throws {
        let gaps = CoverageAnalysis.gaps(of: Self.records, at: Self.at)
        let now = Sample.now
        for (format, file) in [(OutputFormat.table, "gaps.txt"), (.csv, "gaps.csv"), (.json, "gaps.json"), (.ndjson, "gaps.ndjson")] {
            var renderer = CoverageGapRenderer(format: format, gaps: gaps, now: now)
            if ProcessInfo.processInfo.environment["RECORD_FIXTURES"] == "1" {
                var recorder = renderer
                try recorder.text().write(to: fixtureURL(file), atomically: true, encoding: .utf8)
            }
            let expected = try String(contentsOf: fixtureURL(file), encoding: .utf8)
            #expect(renderer.text() == expected, "\(file)")
        }
        var empty = CoverageGapRenderer(format: .table, gaps: CoverageGaps(at: Self.at, groupsWatched: 4, productsWatched: 2, gaps: []), now: now)
        #expect(empty.text().hasSuffix("no gaps at 2027-01-15T00:00:00Z: all 4 groups and 2 products have a usable installer\n"))
        var emptyJSON = CoverageGapRenderer(format: .json, gaps: CoverageGaps(at: Self.at, groupsWatched: 0, productsWatched: 0, gaps: []), now: now)
        #expect(emptyJSON.text() == "[]\n")
    }

    @Test func ledgerGapsIgnoreDeletedInstallersAndRespectStatus() throws {
        let ledger = try freshLedger()
        let now = Sample.now
        // Vienna: usable until 2027-03-01. Brno: usable until 2027-01-04. Servers: deleted.
        let vienna = Sample.installer(name: "Vienna", group: Self.vienna, created: "2026-09-01T08:00:00Z")
        let brno = Sample.installer(name: "Brno", group: Self.brno, created: "2026-07-04T08:00:00Z", products: [Sample.complete])
        let servers = Sample.installer(name: "Servers", group: ("2d906c4e-513f-4ea0-9c83-4f7b90ae3c03", "Servers"),
                                       created: "2026-06-01T08:00:00Z")
        _ = try ledger.record([vienna, brno, servers].map(Sample.received), source: .import, at: now)
        try ledger.markDeleted(uuid: servers.uuid, source: .delete, at: now)

        let gaps = try ledger.coverageGaps(at: try Timestamp(rfc3339: "2027-02-01T00:00:00Z"))
        #expect(gaps.groupsWatched == 2 && gaps.productsWatched == 2)
        #expect(gaps.gaps.map(\.name) == ["Brno Branch", "ESET PROTECT Complete"])
        #expect(gaps.gaps.allSatisfy { $0.lastInstaller.uuid == brno.uuid })
        #expect(try ledger.coverageGaps(at: try Timestamp(rfc3339: "2026-12-15T00:00:00Z")).isEmpty)
    }

    @Test func rotationClosesTheGaps() async throws {
        let w = try await RotationWorld()
        try await w.seedMixedAges()
        let horizon = w.now().adding(.days(30))
        let before = try w.ledger.coverageGaps(at: horizon)
        let groups = before.gaps.filter { $0.kind == .group }
        #expect(Set(groups.map(\.id)) == [RotationWorld.vienna.uuid, RotationWorld.brno.uuid, RotationWorld.finance.uuid])
        #expect(before.groupsWatched == 4)
        #expect(groups.allSatisfy { $0.coveredUntil > w.now() && $0.coveredUntil <= w.now().adding(.days(14)) })
        #expect(before.gaps.contains { $0.kind == .product && $0.name == "ESET Inspect" })

        // Rotating with a window as wide as the gaps horizon leaves nothing uncovered.
        let summary = try await w.rotation().run(try w.plan(RotationSelection(within: .days(30))))
        #expect(summary.created == 3)
        let after = try w.ledger.coverageGaps(at: horizon)
        #expect(after.isEmpty)
        #expect(after.groupsWatched == 4 && after.productsWatched == before.productsWatched)
        // Far enough ahead, the replacements expire too.
        #expect(try w.ledger.coverageGaps(at: w.now().adding(.days(400))).gaps.count == after.groupsWatched + after.productsWatched)
        await w.stop()
    }

    /// Issue 8: the report's exit code follows the gaps. Installers close to expiry leave
    /// groups uncovered (WARNING, CRITICAL with a wider --critical); rotating them closes the
    /// gaps, and revoking the replaced ones (`--delete-old`) leaves nothing to warn about.
    @Test func theReportsExitCodeFollowsTheGapsBeforeAndAfterRotation() async throws {
        let w = try await RotationWorld()
        try await w.seedMixedAges()
        _ = try await w.sync()  // the nightly refresh: the report is not UNKNOWN
        func report(critical: LedgerDuration = .days(7)) throws -> ExpiryReport {
            let thresholds = ReportThresholds(warn: .days(30), critical: critical)
            let now = w.now()
            return ExpiryReport.make(snapshot: try w.ledger.reportSnapshot(thresholds: thresholds, format: "text", at: now),
                                     thresholds: thresholds, now: now)
        }
        func gapsCheck(_ r: ExpiryReport) -> ReportStatus? { r.checks.first { $0.id == "gaps" }?.status }

        // The three old installers stop in 11-14 days: WARNING, CRITICAL once that is inside --critical.
        let before = try report()
        #expect(before.status == .warning && before.status.exitCode == 1, "\(before.checks)")
        #expect(gapsCheck(before) == .warning)
        #expect(Set(before.coverageGaps.gaps.filter { $0.kind == .group }.map(\.id))
            == [RotationWorld.vienna.uuid, RotationWorld.brno.uuid, RotationWorld.finance.uuid])
        let wide = try report(critical: .days(20))
        #expect(wide.status == .critical && wide.status.exitCode == 2 && gapsCheck(wide) == .critical)
        #expect(ReportRendering.text(before).contains("Coverage gaps: device groups and products without a usable installer by "))
        for format in ReportFormat.allCases {
            #expect(!ReportRendering.render(before, as: format).contains("download.sandbox.invalid"))
        }

        // rotate --within 30d: every group covered again, and the replaced installers (each
        // with a usable successor) no longer count as expiring: the report is OK.
        let rotated = try await w.rotation().run(try w.plan(RotationSelection(within: .days(30))))
        #expect(rotated.created == 3)
        let covered = try report(critical: .days(20))
        #expect(covered.coverageGaps.isEmpty && gapsCheck(covered) == .ok)
        #expect(covered.status == .ok && covered.status.exitCode == 0, "\(covered.checks)")
        #expect(covered.critical.isEmpty && covered.warning.isEmpty)

        // The replaced ones expiring later is not news either: 20 days on, just after all
        // three expired, the report raises no "recently expired".
        let later = w.now().adding(.days(20)), twentyDays = ReportThresholds(expiredWithin: .days(20))
        let afterExpiry = ExpiryReport.make(
            snapshot: try w.ledger.reportSnapshot(thresholds: twentyDays, format: "text", at: later), thresholds: twentyDays, now: later)
        #expect(afterExpiry.recentlyExpired.isEmpty, "\(afterExpiry.checks)")

        // rotate --within 30d --delete-old: the predecessors are revoked, the report is OK.
        let revoked = try await w.rotation().run(try w.plan(RotationSelection(within: .days(30)), deleteOld: true))
        #expect(revoked.revoked == 3)
        let after = try report()
        #expect(after.status == .ok && after.status.exitCode == 0, "\(after.checks)")
        #expect(after.pluginLine.contains(" 0 gaps, "))
        await w.stop()
    }
}

/// A fixture file's URL.
func fixtureURL(_ name: String) -> URL {
    repositoryRoot.appendingPathComponent("Tests/InstallerLedgerTests/Fixtures/\(name)")
}
