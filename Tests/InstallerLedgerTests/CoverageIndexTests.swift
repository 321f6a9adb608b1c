@testable import ESETConnectSandbox
import Foundation
import GRDB
import Testing
@testable import InstallerLedger

/// Issue 15: the coverage questions (`gaps`, the report's summaries by group and product)
/// are answered from the index `installers_by_subject` (0007), not from every installer
/// read into memory. On seeded random ledgers of two accounts they must say exactly what
/// the analysis of every installer says.
@Suite struct CoverageIndexTests {
    static let now = try! Timestamp(rfc3339: "2026-12-01T08:00:00Z")
    static let groups = [("", ""), ("4fb28e60-7351-40c2-9ea5-619db2c05e05", "Vienna Office"),
                         ("50c39f71-8462-41d3-8fb6-72aec3d16f06", "Brno Branch"), ("2d906c4e-513f-4ea0-9c83-4f7b90ae3c03", "servers")]
    static let products: [(Int64, String)] = [(103, "ESET PROTECT Entry"), (105, "ESET PROTECT Complete"), (128, "ESET Inspect"), (7, "eset server")]

    /// A random ledger: groups named two ways, 0-3 products, some unusable, some deleted,
    /// some without an expiry, recorded over several days into two accounts.
    static func randomLedger(seed: UInt64) throws -> (Ledger, [Account]) {
        var rng = SeededGenerator(seed: seed)
        let ledger = try freshLedger()
        let accounts = [
            try ledger.addAccount(name: "acme", endpoint: .region("eu"), username: "a@x", passwordSource: .environment("A"), at: now),
            try ledger.addAccount(name: "globex", endpoint: .region("us"), username: "g@x", passwordSource: .environment("G"), at: now),
        ]
        var uuids = [String]()
        for batch in 0..<4 {
            for account in accounts {
                var installers = [ReceivedInstaller]()
                for _ in 0..<Int.random(in: 5...25, using: &rng) {
                    let g = groups[Int.random(in: 0..<groups.count, using: &rng)]
                    let named = (g.0, Bool.random(using: &rng) ? g.1 : g.1.uppercased() + " (old)")
                    let chosen = products.filter { _ in Int.random(in: 0..<3, using: &rng) == 0 }.map { p in
                        ActivatedProduct(poolUuid: "pool", poolDisplayName: "Pool", productId: p.0,
                                         productDisplayName: Bool.random(using: &rng) ? p.1 : p.1 + " v2",
                                         subscriptionUuid: "sub", subscriptionSupportCode: "CODE")
                    }
                    // Few distinct times: ties in creation and expiry, where the order rules matter.
                    let day = Int64.random(in: 0..<7, using: &rng) * 45
                    let created = now.subtracting(.days(200)).adding(.days(day))
                    let uuid = String(format: "%08x-0000-4000-8000-%012d", UInt32.random(in: 0...UInt32.max, using: &rng), uuids.count)
                    var i = Sample.installer(uuid: uuid, name: "PCs \(uuids.count % 7)", group: named, created: created.rfc3339,
                                             usable: Int.random(in: 0..<5, using: &rng) > 0, products: chosen)
                    if Int.random(in: 0..<15, using: &rng) == 0 { i.expireTime = nil }
                    uuids.append(uuid)
                    installers.append(Sample.received(i))
                }
                _ = try ledger.record(installers, source: .import, at: now.subtracting(.days(Int64(10 - batch))), account: account)
            }
        }
        for uuid in uuids where Int.random(in: 0..<10, using: &rng) == 0 {
            try ledger.markDeleted(uuid: uuid, source: .delete, at: now.subtracting(.days(1)))
        }
        return (ledger, accounts)
    }

    /// Every installer that is not deleted, as the coverage analysis reads them when it
    /// reads them all: in rowid order, each product once (its first position).
    static func allRecords(_ ledger: Ledger, account: Int64? = nil) throws -> [CoverageRecord] {
        try ledger.read { db in
            let names = try AccountQueries.accountNames(db)
            var records = [CoverageRecord](), index = [String: Int]()
            for row in try SQLRow.fetchAll(db, sql: """
                SELECT uuid, display_name, security_group_uuid, group_display_name, status, status_changed_at, create_time,
                  expire_time, account_id FROM installers WHERE status <> 'deleted' AND (CAST(? AS BIGINT) IS NULL OR account_id = ?) ORDER BY id
                """, arguments: [account, account]) {
                index[row[0]] = records.count
                records.append(CoverageRecord(
                    uuid: row[0], displayName: row[1], securityGroupUuid: row[2], groupDisplayName: row[3],
                    status: InstallerStatus(rawValue: row[4])!, statusChangedAt: Timestamp(nanoseconds: row[5]),
                    createTime: (row[6] as Int64?).map(Timestamp.init(nanoseconds:)),
                    expireTime: (row[7] as Int64?).map(Timestamp.init(nanoseconds:)), products: [],
                    account: (row[8] as Int64?).flatMap { names[$0] } ?? ""))
            }
            for row in try SQLRow.fetchAll(db, sql: "SELECT installer_uuid, product_id, product_display_name FROM activated_products ORDER BY installer_uuid, position") {
                guard let i = index[row[0]] else { continue }
                let id: Int64 = row[1]
                if !records[i].products.contains(where: { $0.id == id }) { records[i].products.append((id, row[2])) }
            }
            return records
        }
    }

    @Test(arguments: 0..<12) func theIndexedGapsAgreeWithTheAnalysisOfEveryInstaller(seed: Int) throws {
        let (ledger, accounts) = try Self.randomLedger(seed: UInt64(seed) &+ 1500)
        let records = try Self.allRecords(ledger)
        for days: Int64 in [-60, -1, 0, 7, 30, 90, 200, 400] {
            let at = Self.now.adding(.days(days))
            let expected = CoverageAnalysis.gaps(of: records, at: at)
            #expect(try ledger.coverageGaps(at: at) == expected, "seed \(seed), \(days) days")
            let acme = try Self.allRecords(ledger, account: accounts[0].id)
            #expect(try ledger.coverageGaps(at: at, scope: .only(accounts[0])) == CoverageAnalysis.gaps(of: acme, at: at),
                    "seed \(seed), \(days) days, acme only")
        }
    }

    /// The report's summaries: per account and group, and per account and product, the
    /// usable installers not expired, the next expiry and the covered-until date, named
    /// as the installer expiring last names them.
    @Test(arguments: 0..<8) func theReportsSummariesCountWhatEveryInstallerSays(seed: Int) throws {
        let (ledger, _) = try Self.randomLedger(seed: UInt64(seed) &+ 2700)
        let live = try Self.allRecords(ledger).filter { $0.isUsable(at: Self.now) }
        let snapshot = try ledger.reportSnapshot(thresholds: ReportThresholds(), format: "json", at: Self.now)
        struct Expected: Equatable { var usable = 0; var next: Timestamp?; var last: Timestamp?; var name = ""; var namedBy: (Timestamp, String)? 
            static func == (a: Expected, b: Expected) -> Bool { a.usable == b.usable && a.next == b.next && a.last == b.last && a.name == b.name }
        }
        func add(_ e: inout Expected, _ r: CoverageRecord, name: String) {
            e.usable += 1
            if let x = r.expireTime { e.next = min(e.next ?? x, x); e.last = max(e.last ?? x, x) }
            // Named by the one expiring last (no expiry: last of all), ties by the highest uuid.
            let key = (r.expireTime ?? Timestamp(nanoseconds: .max), r.uuid)
            if e.namedBy.map({ key > $0 }) ?? true { (e.namedBy, e.name) = (key, name) }
        }
        var groups = [String: Expected](), products = [String: Expected]()
        for r in live {
            add(&groups["\(r.account)/\(r.securityGroupUuid)", default: Expected()], r, name: r.groupDisplayName)
            for p in r.products { add(&products["\(r.account)/\(p.id)", default: Expected()], r, name: p.name) }
        }
        let got = { (rows: [ReportCoverage]) in
            Dictionary(uniqueKeysWithValues: rows.map { ("\($0.account)/\($0.key)", Expected(usable: $0.usable, next: $0.nextExpiry, last: $0.coveredUntil, name: $0.name)) })
        }
        #expect(got(snapshot.byGroup) == groups, "seed \(seed)")
        #expect(got(snapshot.byProduct) == products, "seed \(seed)")
        #expect(snapshot.byGroup.map(\.name.localizedLowercase) == snapshot.byGroup.map(\.name.localizedLowercase).sorted())
    }
}
