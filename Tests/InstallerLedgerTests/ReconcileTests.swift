import ESETConnectSandbox
import GRDB
import Foundation
import Testing
@testable import InstallerLedger

/// An installer expiring at a given instant (created six months before).
func expiringInstaller(_ uuid: String, expires: Timestamp, name: String = "Branch PCs", usable: Bool = true,
               group: (String, String) = ("5e0c3c43-0000-4000-8000-000000000001", "Branch Vienna"),
               products: [ActivatedProduct] = [Sample.entry]) -> Installer {
    var i = Sample.installer(uuid: uuid, name: name, group: group, usable: usable, products: products)
    i.expireTime = expires
    i.createTime = expires.addingMonths(-6)
    return i
}

/// The planner alone: ledger state and ESET's answers in, a plan out, no I/O.
@Suite struct ReconcilePlanTests {
    let now = Sample.now
    let hour = LedgerDuration.hours(1)

    func candidate(_ uuid: String, _ expiry: Timestamp?) -> ReconcileCandidate {
        ReconcileCandidate(uuid: uuid, displayName: "name \(uuid)", expireTime: expiry)
    }

    func unusableAnswer(_ uuid: String, _ expiry: Timestamp) -> ESETObservation {
        .unusable(Sample.received(expiringInstaller(uuid, expires: expiry, usable: false)))
    }

    @Test func theClockExpiresExactlyAtExpiryAndNotOneNanosecondBefore() {
        let plan = ReconcilePlan.make(candidates: [
            candidate("at-now", now),
            candidate("just-after", now.adding(LedgerDuration(nanoseconds: 1))),
            candidate("long-ago", now.subtracting(.days(40))),
            candidate("no-expiry", nil),
        ], eset: nil, now: now)
        #expect(plan.changes.map(\.uuid) == ["long-ago", "at-now"])
        #expect(plan.changes.allSatisfy { $0.action == .expire && $0.disagreement == nil })
        #expect(!plan.checkedWithESET)
        #expect(plan.summaryLine == "2 expired, 0 unusable by ESET, 0 deleted, 0 disagreements (offline: clock only)")
    }

    @Test func eSETsAnswersMakeInstallersUnusableOrDeleted() {
        let unusableSoon = now.adding(.seconds(30 * 60))
        let unusableLater = now.adding(.days(20))
        let eset = ESETState(observations: [
            "usable": .usable,
            "unusable-soon": unusableAnswer("unusable-soon", unusableSoon),
            "unusable-later": unusableAnswer("unusable-later", unusableLater),
            "gone": .gone,
        ], requests: 2)
        let plan = ReconcilePlan.make(candidates: [
            candidate("usable", now.adding(.days(3))),
            candidate("unusable-soon", unusableSoon),
            candidate("unusable-later", unusableLater),
            candidate("gone", now.adding(.days(50))),
            candidate("not-asked", now.adding(.days(2))),
        ], eset: eset, now: now)
        #expect(plan.changes.map(\.uuid) == ["unusable-soon", "unusable-later", "gone"])
        #expect(plan.unusable.map(\.uuid) == ["unusable-soon", "unusable-later"])
        #expect(plan.deleted.map(\.uuid) == ["gone"])
        // Within the tolerance of its expiry ESET is simply a little early; 20 days early is a disagreement.
        #expect(plan.disagreements.map(\.uuid) == ["unusable-later"])
        #expect(plan.disagreements.first?.disagreement == .unusableBeforeExpiry)
        #expect(plan.summaryLine == "0 expired, 2 unusable by ESET, 1 deleted, 1 disagreement (5 usable checked with ESET in 2 requests)")
    }

    @Test func theClockWinsOverESETButADisagreementIsKept() {
        let eset = ESETState(observations: [
            "usable-long-after": .usable, "usable-just-after": .usable, "gone": .gone, "not-usable": .notUsable,
            "unusable": unusableAnswer("unusable", now.subtracting(.days(1))),
        ])
        let plan = ReconcilePlan.make(candidates: [
            candidate("usable-long-after", now.subtracting(.days(2))),
            candidate("usable-just-after", now.subtracting(.seconds(59 * 60))),
            candidate("gone", now.subtracting(.days(3))),
            candidate("not-usable", now.subtracting(.days(4))),
            candidate("unusable", now.subtracting(.days(1))),
        ], eset: eset, now: now, tolerance: hour)
        #expect(plan.changes.count == 5)
        #expect(plan.changes.allSatisfy { $0.action == .expire })
        #expect(plan.disagreements.map(\.uuid) == ["usable-long-after"])
        #expect(plan.disagreements.first?.disagreement == .usableAfterExpiry)
    }

    @Test func anUnresolvedLiveInstallerIsLeftAlone() {
        let plan = ReconcilePlan.make(candidates: [candidate("live", now.adding(.days(9)))],
                                      eset: ESETState(observations: ["live": .notUsable]), now: now)
        #expect(plan.isEmpty)
    }

    @Test func listingIsChosenOnlyWhenItCostsFewerRequests() {
        #expect(!ESETStateFetcher.listingPays(unanswered: 1, pagesLeft: nil))
        #expect(ESETStateFetcher.listingPays(unanswered: 2, pagesLeft: nil))
        #expect(!ESETStateFetcher.listingPays(unanswered: 3, pagesLeft: 3))
        #expect(ESETStateFetcher.listingPays(unanswered: 4, pagesLeft: 3))
    }
}

/// The reconciler on a ledger: clock part, idempotence, dry run, the run record.
@Suite(.serialized) struct ReconcileLedgerTests {
    let now = Sample.now

    func ledger(expiries: [(String, Timestamp)]) throws -> Ledger {
        let ledger = try freshLedger()
        _ = try ledger.record(expiries.map { Sample.received(expiringInstaller($0.0, expires: $0.1)) }, source: .import,
                              at: now.subtracting(.days(200)))
        return ledger
    }

    @Test func offlineRunMarksExpiredInstallersWithEventsAndIsIdempotent() async throws {
        let ledger = try ledger(expiries: [
            ("aaaaaaaa-0000-4000-8000-000000000001", now.subtracting(.days(1))),
            ("aaaaaaaa-0000-4000-8000-000000000002", now),
            ("aaaaaaaa-0000-4000-8000-000000000003", now.adding(.seconds(1))),
        ])
        let reconciler = Reconciler(ledger: ledger, client: nil, now: { self.now })
        let plan = try await reconciler.run()
        #expect(plan.expired.map(\.uuid) == ["aaaaaaaa-0000-4000-8000-000000000001", "aaaaaaaa-0000-4000-8000-000000000002"])

        let first = try ledger.installer("aaaaaaaa-0000-4000-8000-000000000001")
        #expect(first.status == .unusable && first.statusReason == "expired" && first.statusChangedAt == now)
        #expect(try ledger.installer("aaaaaaaa-0000-4000-8000-000000000003").status == .usable)
        var filter = EventFilter()
        filter.kinds = [.becameUnusable]
        let events = try ledger.events(matching: filter)
        #expect(events.map(\.installerUuid) == ["aaaaaaaa-0000-4000-8000-000000000001", "aaaaaaaa-0000-4000-8000-000000000002"])
        #expect(events.allSatisfy { $0.source == .reconcile && $0.reason == "expired" && $0.at == now })

        // Idempotent: the second run plans nothing and adds no event; only its run is recorded.
        let installersBefore = try ledger.installers(matching: InstallerFilter(), at: now)
        let eventsBefore = try ledger.events(matching: EventFilter())
        let again = try await reconciler.run()
        #expect(again.isEmpty)
        #expect(try ledger.installers(matching: InstallerFilter(), at: now) == installersBefore)
        #expect(try ledger.events(matching: EventFilter()) == eventsBefore)
        // Offline runs are recorded, but do not count as a refresh from ESET.
        #expect(try ledger.lastSuccessfulRun(kinds: ["reconcile"]) == now)
        #expect(try ledger.lastSuccessfulRefresh(at: now) == nil)
    }

    @Test func bulkExpiriesAndSingleChangesApplyTogether() throws {
        // Given: two plain expiries, one expiry ESET disputes, one live installer ESET calls
        // unusable and one it no longer has.
        let plain1 = "dddddddd-0000-4000-8000-000000000001", plain2 = "dddddddd-0000-4000-8000-000000000002"
        let disputed = "dddddddd-0000-4000-8000-000000000003", early = "dddddddd-0000-4000-8000-000000000004"
        let gone = "dddddddd-0000-4000-8000-000000000005", fine = "dddddddd-0000-4000-8000-000000000006"
        let ledger = try ledger(expiries: [
            (plain1, now.subtracting(.days(2))), (plain2, now.subtracting(.hours(3))), (disputed, now.subtracting(.days(1))),
            (early, now.adding(.days(40))), (gone, now.adding(.days(50))), (fine, now.adding(.days(60))),
        ])
        let eset = ESETState(observations: [
            disputed: .usable, early: .unusable(Sample.received(expiringInstaller(early, expires: now.adding(.days(40)), usable: false))),
            gone: .gone, fine: .usable, plain1: .notUsable, plain2: .notUsable,
        ], requests: 1)

        // When
        let plan = try ledger.reconcile(eset: eset, at: now, startedAt: now)

        // Then
        #expect(plan.expired.map(\.uuid) == [plain1, disputed, plain2])
        #expect(plan.disagreements.map(\.uuid) == [disputed, early])
        for uuid in [plain1, plain2, disputed] {
            let i = try ledger.installer(uuid)
            #expect(i.status == .unusable && i.statusReason == "expired")
        }
        #expect(try ledger.installer(early).statusReason == "api")
        #expect(try ledger.installer(gone).status == .deleted)
        #expect(try ledger.installer(fine).status == .usable)
        var filter = EventFilter()
        filter.since = now
        let events = try ledger.events(matching: filter)
        #expect(events.filter { $0.kind == .becameUnusable }.count == 4)
        #expect(events.filter { $0.kind == .deleted }.map(\.installerUuid) == [gone])
        #expect(events.first { $0.installerUuid == disputed }?.details?.contains("usable_after_expiry") == true)
        #expect(events.first { $0.installerUuid == plain1 }?.details == nil)
        // The foreign-key check switched off for the bulk statements is back on.
        if !TestEngine.isPostgres { #expect(try ledger.read { db in try Int.fetchOne(db, sql: "PRAGMA foreign_keys") } == 1) }
        #expect(try ledger.lastSuccessfulRefresh(at: now) == now)
    }

    @Test func dryRunWritesNothingAndShowsThePlan() async throws {
        let ledger = try ledger(expiries: [("bbbbbbbb-0000-4000-8000-000000000001", now.subtracting(.hours(2)))])
        let before = try ledger.contentDump()
        let plan = try await Reconciler(ledger: ledger, client: nil, now: { self.now }).run(dryRun: true)
        #expect(plan.expired.count == 1)
        #expect(try ledger.contentDump() == before)
        let text = ReconcileRendering.text(plan, dryRun: true)
        #expect(text.hasPrefix("dry run, nothing written: would mark 1 expired, 0 unusable by ESET, 0 deleted, 0 disagreements (offline: clock only)\n"))
        #expect(text.contains("expired   bbbbbbbb-0000-4000-8000-000000000001"))
    }

    @Test func aLargeFirstRunShowsTheFirstExpiriesAndCountsTheRest() async throws {
        let expiries = (0..<(ReconcileRendering.expiryLinesShown + 7)).map { n in
            (String(format: "cccccccc-0000-4000-8000-%012d", n), now.subtracting(.seconds(Int64(n + 1))))
        }
        let ledger = try ledger(expiries: expiries)
        let plan = try await Reconciler(ledger: ledger, client: nil, now: { self.now }).run()
        let text = ReconcileRendering.text(plan, dryRun: false)
        #expect(text.split(separator: "\n").count == 1 + ReconcileRendering.expiryLinesShown + 1)
        #expect(text.contains("… and 7 more expired"))
        #expect(try ledger.events(matching: { var f = EventFilter(); f.kinds = [.becameUnusable]; return f }()).count == expiries.count)
    }
}

/// The API part against the ESET Connect sandbox on loopback.
@Suite(.serialized) struct ReconcileSandboxTests {
    /// Requests the sandbox answered on the installer endpoints (a 401 for a token its
    /// moved clock expired is answered again after a new token, so it is not counted).
    func installerRequests(_ f: SandboxFixture) async -> [RecordedRequest] {
        await f.sandbox.requestLog().filter { $0.path.hasPrefix("/v1/installers") && $0.status != 401 }
    }

    @Test func unusableDeletedAndDisagreementInTwoListingRequests() async throws {
        let f = try await SandboxFixture(installers: 40)
        let client = try f.client()
        let now = Timestamp.now()
        _ = try await InstallerSync(ledger: f.ledger, client: client, now: { now }).run()
        var usableFilter = InstallerFilter()
        usableFilter.status = .usable
        let usable = try f.ledger.installers(matching: usableFilter, at: now)
        try #require(usable.count >= 10)

        // Given: two installers revoked at ESET behind the ledger's back, and ESET's clock ten
        // days ahead, so what expires within ten days is already unusable there.
        let revoked = usable.suffix(2).map(\.installer.uuid)
        for uuid in revoked { try await client.deleteInstaller(uuid: uuid) }
        await f.sandbox.advanceClock(by: 10 * 86_400)
        let tenDays = now.adding(.days(10))
        let earlyAtESET = usable.filter { !revoked.contains($0.installer.uuid) && $0.installer.expireTime! <= tenDays }
            .map(\.installer.uuid)
        try #require(!earlyAtESET.isEmpty, "the seeded sandbox has installers expiring within ten days")
        await f.sandbox.clearRequestLog()

        // When
        let plan = try await Reconciler(ledger: f.ledger, client: client, now: { now }).run()

        // Then: one usable=true page and one usable=false page answer everything.
        #expect(plan.requests == 2)
        let requests = await installerRequests(f)
        #expect(requests.count == 2, "\(requests.map { "\($0.method) \($0.path)?\($0.query)" })")
        #expect(Set(plan.deleted.map(\.uuid)) == Set(revoked))
        #expect(Set(plan.unusable.map(\.uuid)) == Set(earlyAtESET))
        #expect(plan.expired.isEmpty)
        let moreThanAnHourEarly = usable.filter { earlyAtESET.contains($0.installer.uuid) && $0.installer.expireTime! > now.adding(.hours(1)) }
        #expect(Set(plan.disagreements.map(\.uuid)) == Set(moreThanAnHourEarly.map(\.installer.uuid)))

        let early = try f.ledger.installer(earlyAtESET[0])
        #expect(early.status == .unusable && early.statusReason == "api" && !early.installer.usable)
        var filter = EventFilter()
        filter.installerUuid = earlyAtESET[0]
        let events = try f.ledger.events(matching: filter)
        let became = try #require(events.first { $0.kind == .becameUnusable })
        #expect(became.source == .reconcile && became.reason == "api")
        if moreThanAnHourEarly.contains(where: { $0.installer.uuid == earlyAtESET[0] }) {
            #expect(became.details?.contains("\"disagreement\":\"unusable_before_expiry\"") == true)
        }
        #expect(events.contains { $0.kind == .changed && $0.source == .reconcile && ($0.details ?? "").contains("\"usable\"") })
        for uuid in revoked {
            #expect(try f.ledger.installer(uuid).status == .deleted)
        }
        let text = ReconcileRendering.text(plan, dryRun: false)
        #expect(text.contains("disagreement: ESET reports it unusable although it expires only at"))
        #expect(!text.contains("download.example") && !text.contains("https://"))

        // A second run changes nothing and adds no event.
        let eventsBefore = try f.ledger.events(matching: EventFilter())
        let again = try await Reconciler(ledger: f.ledger, client: client, now: { now }).run()
        #expect(again.isEmpty)
        #expect(try f.ledger.events(matching: EventFilter()) == eventsBefore)
        #expect(try f.ledger.lastSuccessfulRefresh(at: now) == now)
        await f.sandbox.stop()
    }

    @Test func eSETStillCallingExpiredInstallersUsableIsADisagreement() async throws {
        let f = try await SandboxFixture()
        let client = try f.client()
        let creation = InstallerCreation(ledger: f.ledger, client: client)
        let request = CreateInstallerRequest(displayName: "Vienna PCs", operatingSystemFamilyId: 1)
        let a = try await creation.create(request)
        let b = try await creation.create(request)
        // The ledger's clock is seven months ahead of ESET's.
        let later = Timestamp.now().adding(.days(213))
        await f.sandbox.clearRequestLog()
        let plan = try await Reconciler(ledger: f.ledger, client: client, now: { later }).run()
        #expect(plan.requests == 1)  // one listing page instead of two GETs
        #expect(Set(plan.expired.map(\.uuid)) == [a.uuid, b.uuid])
        #expect(plan.disagreements.count == 2 && plan.disagreements.allSatisfy { $0.disagreement == .usableAfterExpiry })
        let event = try #require(try f.ledger.events(matching: EventFilter()).last)
        #expect(event.kind == .becameUnusable && event.reason == "expired")
        #expect(event.details?.contains("usable_after_expiry") == true)
        await f.sandbox.stop()
    }

    @Test func anEmptyLedgerStillAsksESETOnce() async throws {
        let f = try await SandboxFixture(installers: 12)
        let usableAtESET = await f.sandbox.installers().filter(\.usable).count
        await f.sandbox.clearRequestLog()
        let plan = try await Reconciler(ledger: f.ledger, client: try f.client()).run()
        #expect(plan.isEmpty && plan.requests == 1)
        #expect(await installerRequests(f).count == 1)
        #expect(plan.unknownToLedger == usableAtESET)
        #expect(ReconcileRendering.text(plan, dryRun: false).contains("usable installers the ledger does not hold as usable; if they were created elsewhere, 'installer-ledger sync' adopts them"))
        await f.sandbox.stop()
    }

    @Test func oneInstallerIsOneGetAnd404MeansDeleted() async throws {
        let f = try await SandboxFixture()
        let client = try f.client()
        let created = try await InstallerCreation(ledger: f.ledger, client: client)
            .create(CreateInstallerRequest(displayName: "Linz Macs", operatingSystemFamilyId: 3))
        try await client.deleteInstaller(uuid: created.uuid)
        await f.sandbox.clearRequestLog()
        let plan = try await Reconciler(ledger: f.ledger, client: client).run()
        let requests = await installerRequests(f)
        #expect(requests.map(\.method) == ["GET"] && requests.first?.path == "/v1/installers/\(created.uuid)")
        #expect(plan.deleted.map(\.uuid) == [created.uuid])
        let events = try f.ledger.events(matching: EventFilter())
        #expect(events.last?.kind == .deleted && events.last?.source == .reconcile)
        await f.sandbox.stop()
    }

    @Test func aLongListingIsAbandonedForFewerGets() async throws {
        // 60 installers at ESET, 10 a page: six pages. The ledger holds three of them, so
        // after the first page the remaining ones are cheaper to GET.
        let f = try await SandboxFixture(installers: 60)
        let client = try f.client()
        let now = Timestamp.now()
        let atESET = await f.sandbox.installers().filter(\.usable)
        try #require(atESET.count >= 30)
        let wanted = [atESET[0], atESET[atESET.count / 2], atESET[atESET.count - 1]].map {
            ReconcileCandidate(uuid: $0.uuid, displayName: $0.displayName, expireTime: Timestamp(seconds: Int64($0.expireTime.timeIntervalSince1970)))
        }
        let state = try await ESETStateFetcher(client: client, pageSize: 10).observe(wanted, now: now)
        #expect(state.requests <= 4)
        #expect(state.observations.count == 3 && state.observations.values.allSatisfy { $0 == .usable })
        await f.sandbox.stop()
    }

    @Test func whenESETIsUnavailableTheClockPartIsStillAppliedAndTheRunFails() async throws {
        let f = try await SandboxFixture(installers: 3)
        let client = try f.client()
        let now = Timestamp.now()
        _ = try await InstallerSync(ledger: f.ledger, client: client, now: { now }).run()
        await f.knobs(SandboxKnobs(failNext: Array(repeating: 503, count: 20)))
        let later = now.adding(.days(400))
        let usableBefore = try f.ledger.reconcileCandidates().count
        try #require(usableBefore > 0)
        await #expect {
            try await Reconciler(ledger: f.ledger, client: client, now: { later }).run()
        } throws: { error in
            guard case ReconcileError.apiPartFailed(.unavailable, let expired) = error else { return false }
            return expired == usableBefore && "\(error)".contains("the clock part was applied")
        }
        #expect(try f.ledger.reconcileCandidates().isEmpty)
        #expect(try f.ledger.lastSuccessfulRefresh(at: later) == now)  // only the sync counts
        await f.sandbox.stop()
    }
}
