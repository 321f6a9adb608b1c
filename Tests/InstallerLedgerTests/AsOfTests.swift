import Foundation
import Testing
@testable import InstallerLedger

/// A ledger with a scripted history, written at chosen instants through the ledger's own
/// write paths (import, delete, and the event a reconcile writes):
///
/// | when (2026, UTC) | what |
/// |---|---|
/// | 01-05 08:00 | ESET creates A "Zulu kiosk", group Vienna, product Entry (3) |
/// | 01-10 12:00 | import records A (usable) |
/// | 02-01 08:00 | ESET creates B "Mike laptops", group Linz, expires 08-01 08:00 |
/// | 02-02 12:00 | import records B |
/// | 03-01 12:00 | import: A renamed "Alpha kiosk", moved to group Graz, product Complete (12), expiry moved |
/// | 04-01 12:00 | import: ESET says A is not usable (changed usable + became_unusable api) |
/// | 05-01 12:00 | import: ESET says A is usable again |
/// | 06-01 12:00 | A deleted (delete) |
/// | 07-01 07:59:30 | a creation is sent and stays pending; ESET creates it (C, "Oscar tablets") at 08:00 |
/// | 07-02 12:00 | sync records C as not usable and resolves the pending creation |
/// | 08-01 08:00 | B expires by the clock; 08-05 00:00 reconcile marks it unusable (expired) |
struct ScriptedHistory {
    let ledger: Ledger
    static let a = "aaaaaaaa-0000-4000-8000-00000000000a"
    static let b = "bbbbbbbb-0000-4000-8000-00000000000b"
    static let c = "cccccccc-0000-4000-8000-00000000000c"
    static let vienna = ("5e0c3c43-0000-4000-8000-000000000001", "Branch Vienna")
    static let graz = ("5e0c3c43-0000-4000-8000-000000000003", "Branch Graz")
    static let linz = ("5e0c3c43-0000-4000-8000-000000000002", "Warehouse Linz")

    static func t(_ s: String) -> Timestamp { try! Timestamp(rfc3339: s) }

    init(_ ledger: Ledger) throws {
        self.ledger = ledger
        var a = Sample.installer(uuid: Self.a, name: "Zulu kiosk", group: Self.vienna, created: "2026-01-05T08:00:00Z",
                                 products: [Sample.entry])
        _ = try ledger.record([Sample.received(a)], source: .import, at: Self.t("2026-01-10T12:00:00Z"))
        var b = Sample.installer(uuid: Self.b, name: "Mike laptops", os: 3, group: Self.linz, created: "2026-02-01T08:00:00Z")
        b.expireTime = Self.t("2026-08-01T08:00:00Z")
        _ = try ledger.record([Sample.received(b)], source: .import, at: Self.t("2026-02-02T12:00:00Z"))

        a.displayName = "Alpha kiosk"
        a.deviceEnrollment = DeviceEnrollment(securityGroupUuid: Self.graz.0, groupDisplayName: Self.graz.1)
        a.activatedProducts = [Sample.complete]
        a.expireTime = Self.t("2026-09-30T00:00:00Z")
        _ = try ledger.record([Sample.received(a)], source: .import, at: Self.t("2026-03-01T12:00:00Z"))

        a.usable = false
        _ = try ledger.record([Sample.received(a)], source: .import, at: Self.t("2026-04-01T12:00:00Z"))
        a.usable = true
        _ = try ledger.record([Sample.received(a)], source: .import, at: Self.t("2026-05-01T12:00:00Z"))
        try ledger.markDeleted(uuid: Self.a, source: .delete, at: Self.t("2026-06-01T12:00:00Z"))

        let pending = try ledger.addPending(CreateInstallerRequest(displayName: "Oscar tablets", operatingSystemFamilyId: 3,
                                                                   securityGroupUuid: Self.linz.0),
                                            planKey: "plan-line-7", at: Self.t("2026-07-01T07:59:30Z"))
        let c = Sample.installer(uuid: Self.c, name: "Oscar tablets", os: 3, group: Self.linz,
                                 created: "2026-07-01T08:00:00Z", usable: false)
        try ledger.recordCreated(Sample.received(c), pendingId: pending.localId, source: .sync, at: Self.t("2026-07-02T12:00:00Z"))
        // What `reconcile` writes when the clock has passed an installer's expiry.
        let expiredAt = Self.t("2026-08-05T00:00:00Z")
        try ledger.write { db in
            try db.execute(sql: """
                UPDATE installers SET status = 'unusable', status_reason = 'expired', status_changed_at = ? WHERE uuid = ?
                """, arguments: [expiredAt.nanoseconds, Self.b])
            try EventLog.append(db, uuid: Self.b, kind: .becameUnusable, at: expiredAt, source: .reconcile,
                                reason: "expired", details: nil)
        }
    }

    /// uuid → (name, status, reason) of every installer listed at an instant.
    func states(at instant: String, _ filter: InstallerFilter = InstallerFilter()) throws -> [String: String] {
        var out = [String: String]()
        for e in try ledger.installers(asOf: try Timestamp(asOf: instant), matching: filter) {
            out[String(e.installer.uuid.prefix(1))] = "\(e.installer.displayName)|\(e.status.rawValue)\(e.statusReason.map { "(\($0))" } ?? "")"
        }
        return out
    }
}

@Suite struct AsOfTests {
    @Test func aBareDateMeansTheEndOfThatDayInUTC() throws {
        #expect(try Timestamp(asOf: "2026-03-31").rfc3339 == "2026-03-31T23:59:59.999999999Z")
        #expect(try Timestamp(asOf: "2026-03-31T12:00:00+02:00").rfc3339 == "2026-03-31T10:00:00Z")
        #expect(throws: Timestamp.ParseError.self) { try Timestamp(asOf: "31.03.2026") }
    }

    @Test func theScriptedHistoryAtSeveralDates() throws {
        let h = try ScriptedHistory(freshLedger())
        // Before ESET created anything.
        #expect(try h.states(at: "2026-01-04") == [:])
        // A exists from its ESET creation, before the ledger recorded it: taken as usable.
        #expect(try h.states(at: "2026-01-05T08:00:00Z") == ["a": "Zulu kiosk|usable"])
        #expect(try h.states(at: "2026-01-05T07:59:59Z") == [:])
        #expect(try h.states(at: "2026-02-15") == ["a": "Zulu kiosk|usable", "b": "Mike laptops|usable"])
        // The rename happened at 12:00 on 03-01: a bare date includes it, 11:59 does not.
        #expect(try h.states(at: "2026-03-01T11:59:59Z")["a"] == "Zulu kiosk|usable")
        #expect(try h.states(at: "2026-03-01")["a"] == "Alpha kiosk|usable")
        #expect(try h.states(at: "2026-04-15")["a"] == "Alpha kiosk|unusable(api)")
        #expect(try h.states(at: "2026-05-15")["a"] == "Alpha kiosk|usable")
        #expect(try h.states(at: "2026-06-15")["a"] == "Alpha kiosk|deleted(delete)")
        // C: created 07-01 08:00, recorded as not usable on 07-02.
        #expect(try h.states(at: "2026-07-01T12:00:00Z")["c"] == "Oscar tablets|usable")
        #expect(try h.states(at: "2026-07-03")["c"] == "Oscar tablets|unusable(api)")
        // B: expired by the clock on 08-01 08:00, before reconcile noticed on 08-05.
        #expect(try h.states(at: "2026-08-01T07:59:59Z")["b"] == "Mike laptops|usable")
        #expect(try h.states(at: "2026-08-02")["b"] == "Mike laptops|unusable(expired)")
        #expect(try h.states(at: "2026-08-06")["b"] == "Mike laptops|unusable(expired)")
    }

    @Test func everyFieldIsRebuiltNotOnlyTheName() throws {
        let h = try ScriptedHistory(freshLedger())
        let before = try #require(h.ledger.installers(asOf: Timestamp(asOf: "2026-02-15"), matching: InstallerFilter())
            .first { $0.installer.uuid == ScriptedHistory.a })
        #expect(before.installer.deviceEnrollment.groupDisplayName == "Branch Vienna")
        #expect(before.installer.activatedProducts == [Sample.entry])
        #expect(before.installer.expireTime == ScriptedHistory.t("2026-07-05T08:00:00Z"))
        #expect(before.installer.usable)
        #expect(before.installer.installedComponents == [Sample.agent, Sample.endpoint])
        #expect(before.statusChangedAt == ScriptedHistory.t("2026-01-10T12:00:00Z"))
        let during = try #require(h.ledger.installers(asOf: Timestamp(asOf: "2026-04-15"), matching: InstallerFilter())
            .first { $0.installer.uuid == ScriptedHistory.a })
        #expect(!during.installer.usable)
        #expect(during.statusChangedAt == ScriptedHistory.t("2026-04-01T12:00:00Z"))
    }

    @Test func afterTheLastEventTheRebuiltStateIsTheCurrentRow() throws {
        let h = try ScriptedHistory(freshLedger())
        // Late enough for every event, early enough that no expiry by the clock remains to apply.
        let rebuilt = try h.ledger.installers(asOf: Timestamp(asOf: "2026-08-06"), matching: InstallerFilter())
        let current = try h.ledger.installers(matching: InstallerFilter(), at: Sample.now)
        #expect(rebuilt.count == 3)
        for e in rebuilt {
            let now = try #require(current.first { $0.installer.uuid == e.installer.uuid })
            #expect(e.installer == now.installer)
            #expect(e.status == now.status && e.statusReason == now.statusReason && e.statusChangedAt == now.statusChangedAt)
        }
    }

    @Test func filtersApplyToThePastState() throws {
        let h = try ScriptedHistory(freshLedger())
        var vienna = InstallerFilter()
        vienna.group = "branch VIENNA"
        #expect(try h.states(at: "2026-02-15", vienna) == ["a": "Zulu kiosk|usable"])
        #expect(try h.states(at: "2026-03-15", vienna) == [:])
        var usable = InstallerFilter()
        usable.status = .usable
        #expect(try h.states(at: "2026-04-15", usable) == ["b": "Mike laptops|usable"])
        #expect(try h.states(at: "2026-05-15", usable).keys.sorted() == ["a", "b"])
        var entry = InstallerFilter()
        entry.product = "3"
        #expect(try h.states(at: "2026-02-15", entry).keys.sorted() == ["a", "b"])
        #expect(try h.states(at: "2026-03-15", entry).keys.sorted() == ["b"])
        var named = InstallerFilter()
        named.nameContains = "ZULU"
        #expect(try h.states(at: "2026-02-15", named).keys.sorted() == ["a"])
        #expect(try h.states(at: "2026-03-15", named) == [:])
        // Expiring within 30 days of 07-10: B (08-01), with the date as "now".
        var expiring = InstallerFilter()
        expiring.expiringWithin = .seconds(30 * 86_400)
        #expect(try h.states(at: "2026-07-10", expiring).keys.sorted() == ["b"])
        var expired = InstallerFilter()
        expired.expired = true
        #expect(try h.states(at: "2026-07-10", expired) == [:])
        #expect(try h.states(at: "2026-08-02", expired).keys.sorted() == ["b"])
    }

    @Test func theOrderIsTheSortKeyAsItWasThen() throws {
        let h = try ScriptedHistory(freshLedger())
        var byName = InstallerFilter()
        byName.sort = .name
        func names(_ at: String, _ f: InstallerFilter) throws -> [String] {
            try h.ledger.installers(asOf: Timestamp(asOf: at), matching: f).map(\.installer.displayName)
        }
        #expect(try names("2026-02-15", byName) == ["Mike laptops", "Zulu kiosk"])
        #expect(try names("2026-03-15", byName) == ["Alpha kiosk", "Mike laptops"])
        var byExpiry = InstallerFilter()
        byExpiry.sort = .expires
        // A expired 07-05 before its expiry was moved to 09-30 on 03-01.
        #expect(try names("2026-02-15", byExpiry) == ["Zulu kiosk", "Mike laptops"])
        #expect(try names("2026-03-15", byExpiry) == ["Mike laptops", "Alpha kiosk"])
        byName.limit = 1
        #expect(try names("2026-03-15", byName) == ["Alpha kiosk"])
    }

    @Test func pendingCreationsAsOf() throws {
        let h = try ScriptedHistory(freshLedger())
        #expect(try h.ledger.pendingCreations(matching: InstallerFilter()).isEmpty)
        let then = try h.ledger.pendingCreations(matching: InstallerFilter(), asOf: Timestamp(asOf: "2026-07-01"))
        #expect(then.map(\.request.displayName) == ["Oscar tablets"])
        #expect(then.first?.state == .pending && then.first?.planKey == "plan-line-7" && then.first?.installerUuid == nil)
        #expect(try h.ledger.pendingCreations(matching: InstallerFilter(), asOf: Timestamp(asOf: "2026-07-01T07:59:29Z")).isEmpty)
        #expect(try h.ledger.pendingCreations(matching: InstallerFilter(), asOf: Timestamp(asOf: "2026-07-02")).isEmpty)
        var windows = InstallerFilter()
        windows.operatingSystemFamilyId = 1
        #expect(try h.ledger.pendingCreations(matching: windows, asOf: Timestamp(asOf: "2026-07-01")).isEmpty)
        var linz = InstallerFilter()
        linz.group = ScriptedHistory.linz.0
        #expect(try h.ledger.pendingCreations(matching: linz, asOf: Timestamp(asOf: "2026-07-01")).count == 1)
    }

    @Test func aDownloadURLChangedLaterIsKnownOnlyAsRedacted() throws {
        let ledger = try freshLedger()
        var i = Sample.installer(uuid: ScriptedHistory.a, created: "2026-01-05T08:00:00Z")
        _ = try ledger.record([Sample.received(i)], source: .import, at: ScriptedHistory.t("2026-01-10T00:00:00Z"))
        i.downloadUrl = "https://download.example.invalid/installers/new-secret"
        _ = try ledger.record([Sample.received(i)], source: .import, at: ScriptedHistory.t("2026-02-10T00:00:00Z"))
        let past = try ledger.installers(asOf: Timestamp(asOf: "2026-01-20"), matching: InstallerFilter())
        #expect(past.map(\.installer.downloadUrl) == [Redaction.placeholder])
        let later = try ledger.installers(asOf: Timestamp(asOf: "2026-02-20"), matching: InstallerFilter())
        #expect(later.map(\.installer.downloadUrl) == [i.downloadUrl])
    }
}

/// `list --as-of` and `list --status pending` through the built binary.
@Suite struct ListAsOfCommandLineTests {
    let folder = TemporaryFolder()
    var db: String { folder.ledger() }

    func run(_ args: [String]) throws -> ProcessResult {
        try runProduct("installer-ledger", args, environment: ["INSTALLER_LEDGER_DB": db])
    }

    @Test func listAsOfAnswersFromTheHistoryInEveryFormat() throws {
        _ = try ScriptedHistory(Ledger.open(path: db))
        let table = try run(["list", "--as-of", "2026-02-15", "--now", "2026-11-29T12:00:00Z"])
        #expect(table.status == 0, "\(table.stderr)")
        #expect(table.stdout == """
            ID       NAME                     OS      GROUP                STATUS    EXPIRES    LEFT
            aaaaaaaa Zulu kiosk               windows Branch Vienna        usable    2026-07-05 139d
            bbbbbbbb Mike laptops             macos   Warehouse Linz       usable    2026-08-01 166d
            2 installers

            """)
        let usableInVienna = try run(["list", "--as-of", "2026-03-31", "--status", "usable", "--group", "Branch Vienna"])
        #expect(usableInVienna.stdout == "ID       NAME                     OS      GROUP                STATUS    EXPIRES    LEFT\n(no installers match)\n")
        let json = try run(["list", "--as-of", "2026-04-15", "--format", "json"])
        let objects = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]]
        #expect(objects?.map { $0["displayName"] as? String } == ["Alpha kiosk", "Mike laptops"])
        #expect(objects?.map { $0["status"] as? String } == ["unusable", "usable"])
        #expect(objects?.first?["statusReason"] as? String == "api")
        let csv = try run(["list", "--as-of", "2026-08-02", "--status", "unusable", "--format", "csv"])
        let rows = csv.stdout.components(separatedBy: "\r\n").dropFirst().filter { !$0.isEmpty }
        #expect(rows.map { $0.split(separator: ",")[1] } == ["Mike laptops", "Oscar tablets"])
        let ndjson = try run(["list", "--as-of", "2026-06-15", "--status", "deleted", "--format", "ndjson"])
        #expect(ndjson.stdout.split(separator: "\n").count == 1 && ndjson.stdout.contains("\"statusReason\":\"delete\""))
        let bad = try run(["list", "--as-of", "yesterday"])
        #expect(bad.status == 64 && bad.stderr.contains("'yesterday' is not a date"))
    }

    @Test func pendingCreationsInEveryFormat() throws {
        let ledger = try Ledger.open(path: db)
        _ = try ledger.addPending(CreateInstallerRequest(displayName: "Graz, \"new\" PCs", operatingSystemFamilyId: 1,
                                                         securityGroupUuid: ScriptedHistory.graz.0),
                                  planKey: "rollout.csv:3", at: ScriptedHistory.t("2026-11-29T10:00:00Z"))
        _ = try ledger.addPending(CreateInstallerRequest(displayName: "Macs", operatingSystemFamilyId: 3),
                                  at: ScriptedHistory.t("2026-11-29T11:00:00Z"))
        let table = try run(["list", "--status", "pending"])
        #expect(table.status == 0, "\(table.stderr)")
        let lines = table.stdout.split(separator: "\n")
        #expect(lines.first == "ID       NAME                     OS      GROUP     REQUESTED            PLAN")
        #expect(lines.count == 4 && lines.last == "2 pending creations")
        #expect(lines[1].hasSuffix(" Graz, \"new\" PCs          windows 5e0c3c43  2026-11-29T10:00:00Z rollout.csv:3"))
        #expect(lines[2].hasSuffix("Macs                     macos   -         2026-11-29T11:00:00Z -"))
        let csv = try run(["list", "--status", "pending", "--format", "csv", "--os", "windows"])
        #expect(csv.stdout.hasPrefix("local_id,display_name,os,os_family_id,security_group_uuid,requested_at,plan_key,state,account\r\n"))
        #expect(csv.stdout.contains(",\"Graz, \"\"new\"\" PCs\",windows,1,\(ScriptedHistory.graz.0),2026-11-29T10:00:00Z,rollout.csv:3,pending,default\r\n"))
        #expect(csv.stdout.components(separatedBy: "\r\n").count == 3)
        let json = try run(["list", "--status", "pending", "--format", "json", "--name", "macs"])
        let objects = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]]
        #expect(objects?.count == 1 && objects?.first?["os"] as? String == "macos")
        #expect(objects?.first?["requestedAt"] as? String == "2026-11-29T11:00:00Z")
        #expect(objects?.first?["localId"] as? String != nil)
        let ndjson = try run(["list", "--status", "pending", "--format", "ndjson", "--limit", "1"])
        #expect(ndjson.stdout.split(separator: "\n").count == 1)
        let before = try run(["list", "--status", "pending", "--as-of", "2026-11-29T10:30:00Z", "--format", "csv"])
        #expect(before.stdout.components(separatedBy: "\r\n").count == 3)
        let refused = try run(["list", "--status", "pending", "--product", "3"])
        #expect(refused.status == 64 && refused.stderr.contains("--product does not apply to pending creations"))
    }
}
