import ESETConnectSandbox
import Foundation
import Synchronization
import Testing
@testable import InstallerLedger

/// A sandbox-backed ledger whose clock moves with the sandbox's: `advance(days:)` moves both,
/// so creation times, expiries and the ledger's `now` stay consistent without sleeping.
final class RotationWorld: Sendable {
    let fixture: SandboxFixture
    let client: ESETConnectClient
    private let shiftSeconds = Mutex<Int64>(0)

    static let vienna = SandboxCatalog.deviceGroups[5]
    static let brno = SandboxCatalog.deviceGroups[6]
    static let finance = SandboxCatalog.deviceGroups[7]
    static let headquarters = SandboxCatalog.deviceGroups[4]

    init() async throws {
        fixture = try await SandboxFixture()
        client = try fixture.client()
    }

    var ledger: Ledger { fixture.ledger }
    var sandbox: SandboxServer { fixture.sandbox }

    /// Now by the sandbox's clock.
    var now: @Sendable () -> Timestamp {
        { Timestamp.now().adding(.seconds(self.shiftSeconds.withLock { $0 })) }
    }

    func advance(days: Int64) async {
        await sandbox.advanceClock(by: TimeInterval(days * 86_400))
        shiftSeconds.withLock { $0 += days * 86_400 }
    }

    func create(_ request: CreateInstallerRequest) async throws -> Installer {
        try await InstallerCreation(ledger: ledger, client: client, now: now).create(request)
    }

    func sync(after seconds: Int64 = 0) async throws -> SyncSummary {
        let now = self.now
        return try await InstallerSync(ledger: ledger, client: client, now: { now().adding(.seconds(seconds)) }).run()
    }

    func rotation() -> InstallerRotation { InstallerRotation(ledger: ledger, client: client, now: now) }

    func plan(_ selection: RotationSelection = RotationSelection(), deleteOld: Bool = false) throws -> RotationPlan {
        try InstallerRotation.plan(ledger: ledger, selection: selection, at: now(), deleteOld: deleteOld)
    }

    func posts() async -> Int {
        await sandbox.requestLog().filter { $0.method == "POST" && $0.path == "/v1/installers" }.count
    }

    /// Three installers 170 days old (Vienna: created by the ledger with explicit components;
    /// Brno: by the ledger, components left to ESET; Finance: by another script, adopted by
    /// sync) and one fresh one in the headquarters.
    @discardableResult
    func seedMixedAges() async throws -> (old: [String], fresh: String) {
        let vienna = try await create(CreateInstallerRequest(
            displayName: "Vienna PCs", operatingSystemFamilyId: 1, securityGroupUuid: Self.vienna.uuid,
            requestedComponentIds: [13, 167]))
        let brno = try await create(CreateInstallerRequest(
            displayName: "Brno Macs", operatingSystemFamilyId: 3, preferredLanguageCode: "cs-cz", securityGroupUuid: Self.brno.uuid))
        let finance = try await client.createInstaller(CreateInstallerRequest(
            displayName: "Finance PCs", operatingSystemFamilyId: 1, preferredLanguageCode: "de-de",
            securityGroupUuid: Self.finance.uuid, enableCloudScannerFeedback: false, enablePuaDetection: true,
            sendAnonymousDiagnosticData: true))
        _ = try await sync()
        await advance(days: 170)
        let fresh = try await create(CreateInstallerRequest(
            displayName: "HQ PCs", operatingSystemFamilyId: 1, securityGroupUuid: Self.headquarters.uuid))
        return ([vienna.uuid, brno.uuid, finance.installer.uuid], fresh.uuid)
    }

    func stop() async { await sandbox.stop() }
}

@Suite(.serialized) struct RotationTests {
    // MARK: - Planning (pure)

    @Test func plannerDecidesPerInstaller() throws {
        let now = Sample.now
        func due(_ name: String, os: Int64 = 1) -> LedgerInstaller {
            LedgerInstaller(installer: Sample.installer(name: name, os: os, created: "2026-06-05T08:00:00Z"), status: .usable,
                            statusReason: nil, statusChangedAt: now, firstSeen: now, lastSeen: now)
        }
        var replaced = due("replaced")
        replaced.successorUuid = "99999999-0000-4000-8000-000000000001"
        let pending = PendingCreation(localId: "local-1", request: CreateInstallerRequest(displayName: "x", operatingSystemFamilyId: 1),
                                      requestedAt: now, state: .pending, planKey: "rotate:x")
        var resolved = pending
        resolved.state = .resolved
        resolved.installerUuid = "99999999-0000-4000-8000-000000000002"
        var failed = pending
        failed.state = .failed
        let original = CreateInstallerRequest(displayName: "orig", operatingSystemFamilyId: 1, requestedComponentIds: [13, 210])
        let candidates = [
            RotationCandidate(installer: replaced),
            RotationCandidate(installer: due("in flight"), creation: pending),
            RotationCandidate(installer: due("resolved"), creation: resolved),
            RotationCandidate(installer: due("failed before"), creation: failed),
            RotationCandidate(installer: due("linux", os: 2)),
            RotationCandidate(installer: due("ledger-made"), originalRequest: original),
        ]
        let plan = RotationPlanner.plan(candidates, selection: RotationSelection(), now: now, deleteOld: true)
        let actions = plan.steps.map(\.action)
        #expect(actions[0] == .alreadyReplaced(successorUuid: "99999999-0000-4000-8000-000000000001"))
        #expect(actions[1] == .awaitingSync(localId: "local-1"))
        #expect(actions[2] == .link(successorUuid: "99999999-0000-4000-8000-000000000002"))
        guard case .create(let again) = actions[3], case .cannotReplace(let why) = actions[4],
              case .create(let fromOriginal) = actions[5] else {
            Issue.record("unexpected actions \(actions)")
            return
        }
        // Settings from the ledger's copy; adopted installers ask for the components they install.
        #expect(again == CreateInstallerRequest(
            displayName: "failed before", operatingSystemFamilyId: 1, preferredLanguageCode: "en-us",
            securityGroupUuid: "5e0c3c43-0000-4000-8000-000000000001", enableCloudScannerFeedback: true,
            enablePuaDetection: true, sendAnonymousDiagnosticData: false, requestedComponentIds: [13, 27]))
        #expect(why.contains("Linux"))
        #expect(fromOriginal.requestedComponentIds == [13, 210])
        #expect(plan.creations == 2)
        #expect(plan.possibleRevocations == 4)
        #expect(plan.steps[1].planKey == "rotate:\(candidates[1].installer.installer.uuid)")
    }

    @Test func selectionMatchesLikeTheListFilter() {
        let i = Sample.installer(name: "Vienna Office PCs", group: ("g-1", "Branch Vienna"))
        #expect(RotationSelection(group: "branch vienna").matches(i))
        #expect(RotationSelection(group: "g-1", operatingSystemFamilyId: 1, nameContains: "office").matches(i))
        #expect(!RotationSelection(group: "g-2").matches(i))
        #expect(!RotationSelection(operatingSystemFamilyId: 3).matches(i))
        #expect(!RotationSelection(nameContains: "macs").matches(i))
    }

    @Test func aSuccessionIsMadeOnceEachWay() throws {
        let ledger = try freshLedger()
        let (a, b, c) = ("aaaaaaaa-0000-4000-8000-000000000001", "bbbbbbbb-0000-4000-8000-000000000002", "cccccccc-0000-4000-8000-000000000003")
        _ = try ledger.record([a, b, c].map { Sample.received(Sample.installer(uuid: $0)) }, source: .import, at: Sample.now)
        #expect(try ledger.linkSuccession(predecessor: a, successor: b, source: .rotate, at: Sample.now))
        #expect(try !ledger.linkSuccession(predecessor: a, successor: c, source: .rotate, at: Sample.now))  // a has one
        #expect(try !ledger.linkSuccession(predecessor: c, successor: b, source: .rotate, at: Sample.now))  // b replaces a
        #expect(try !ledger.linkSuccession(predecessor: c, successor: c, source: .rotate, at: Sample.now))
        #expect(try !ledger.linkSuccession(predecessor: c, successor: "unknown", source: .rotate, at: Sample.now))
        #expect(try ledger.successor(of: a) == b && ledger.predecessor(of: b) == a && ledger.successor(of: c) == nil)
        var filter = EventFilter()
        filter.kinds = [.superseded]
        #expect(try ledger.events(matching: filter).map(\.installerUuid) == [a])
        #expect(try ledger.successions().map(\.successorUuid) == [b])
    }

    @Test func planTableMatchesFixture() throws {
        let now = Sample.now
        func entry(_ uuid: String, _ name: String, created: String) -> LedgerInstaller {
            LedgerInstaller(installer: Sample.installer(uuid: uuid, name: name, created: created), status: .usable,
                            statusReason: nil, statusChangedAt: now, firstSeen: now, lastSeen: now)
        }
        let a = entry("1a2b3c4d-0000-4000-8000-000000000001", "Vienna PCs", created: "2026-06-02T08:00:00Z")
        var b = entry("2b3c4d5e-0000-4000-8000-000000000002", "Brno Macs", created: "2026-06-04T08:00:00Z")
        b.successorUuid = "3c4d5e6f-0000-4000-8000-000000000003"
        let c = entry("4d5e6f70-0000-4000-8000-000000000004", "Servers", created: "2026-06-05T08:00:00Z")
        let plan = RotationPlan(now: now, selection: RotationSelection(), steps: [
            RotationStep(predecessor: a, action: .create(CreateInstallerRequest(displayName: "Vienna PCs", operatingSystemFamilyId: 1,
                                                                                 requestedComponentIds: [13, 27]))),
            RotationStep(predecessor: b, action: .alreadyReplaced(successorUuid: b.successorUuid!)),
            RotationStep(predecessor: c, action: .awaitingSync(localId: "5e6f7081-0000-4000-8000-000000000005")),
        ], deleteOld: false)
        let expected = try String(contentsOf: fixtureURL("rotate-plan.txt"), encoding: .utf8)
        #expect(RotationRendering.planTable(plan) == expected)
    }

    @Test func handOverRendersCSVAndJSONAsTheFixtures() throws {
        var old = Sample.installer(uuid: "1a2b3c4d-0000-4000-8000-000000000001", name: "=Vienna, \"PCs\"", created: "2026-06-02T08:00:00Z")
        old.downloadUrl = "OLD-URL-NOT-HANDED-OVER"
        var new = Sample.installer(uuid: "3c4d5e6f-0000-4000-8000-000000000003", name: "=Vienna, \"PCs\"", created: "2026-11-29T12:00:00Z")
        new.downloadUrl = "NEW-DOWNLOAD-URL"
        let entries = [HandOverEntry(predecessor: old, successor: new)]
        let csv = HandOverFile.render(entries, format: .csv)
        #expect(csv == (try String(contentsOf: fixtureURL("handover.csv"), encoding: .utf8)))
        let json = HandOverFile.render(entries, format: .json)
        #expect(json == (try String(contentsOf: fixtureURL("handover.json"), encoding: .utf8)))
        #expect(!csv.contains("OLD-URL") && !json.contains("OLD-URL"))
        #expect(HandOverFile.render([], format: .json) == "[]\n")
        #expect(HandOverFormat(path: "x/Handover.JSON") == .json && HandOverFormat(path: "handover.txt") == .csv)
    }

    // MARK: - Against the sandbox

    @Test func rotatesDueInstallersWithTheSameSettingsAndLinksThem() async throws {
        let w = try await RotationWorld()
        let (old, fresh) = try await w.seedMixedAges()

        let plan = try w.plan()
        #expect(Set(plan.steps.map(\.predecessor.installer.uuid)) == Set(old))  // the fresh one is not due
        #expect(plan.creations == 3)
        let summary = try await w.rotation().run(plan)
        #expect(summary.created == 3 && summary.skipped == 0 && summary.failed == 0 && summary.uncertain == 0)
        #expect(summary.exitError == nil)
        #expect(summary.line == "3 created, 0 skipped, 0 failed")
        #expect(await w.sandbox.installers().count == 7)

        for uuid in old {
            let before = try w.ledger.installer(uuid)
            let successor = try #require(before.successorUuid)
            let after = try w.ledger.installer(successor)
            #expect(after.predecessorUuid == uuid)
            #expect(before.status == .usable)  // the old one keeps working until it expires
            let a = before.installer, b = after.installer
            #expect(a.displayName == b.displayName && a.operatingSystemFamilyId == b.operatingSystemFamilyId)
            #expect(a.preferredLanguageCode == b.preferredLanguageCode && a.deviceEnrollment == b.deviceEnrollment)
            #expect(a.enableCloudScannerFeedback == b.enableCloudScannerFeedback && a.enablePuaDetection == b.enablePuaDetection)
            #expect(a.sendAnonymousDiagnosticData == b.sendAnonymousDiagnosticData)
            #expect(a.installedComponents.map(\.id) == b.installedComponents.map(\.id))
            #expect(b.expireTime! > a.expireTime!.adding(.days(150)))
            var filter = EventFilter()
            filter.installerUuid = uuid
            filter.kinds = [.superseded]
            let events = try w.ledger.events(matching: filter)
            #expect(events.count == 1 && events.first?.source == .rotate)
            #expect(events.first?.details?.contains(successor) == true)
        }
        // The adopted installer is replaced with the components it installs, asked for explicitly.
        let financeCreation = try #require(try w.ledger.creation(planKey: RotationPlanKey.forPredecessor(old[2])))
        #expect(financeCreation.request.requestedComponentIds == [13, 27])
        #expect(financeCreation.request.preferredLanguageCode == "de-de")
        // The one created with explicit components keeps them (Inspect included).
        let vienna = try #require(try w.ledger.installer(old[0]).successorUuid)
        #expect(try w.ledger.installer(vienna).installer.installedComponents.map(\.id) == [13, 167])
        #expect(try w.ledger.installer(fresh).successorUuid == nil)
        await w.stop()
    }

    @Test func aSecondRunCreatesNothing() async throws {
        let w = try await RotationWorld()
        try await w.seedMixedAges()
        _ = try await w.rotation().run(try w.plan())
        let posts = await w.posts()

        let again = try w.plan()
        #expect(again.creations == 0)
        #expect(again.steps.allSatisfy { if case .alreadyReplaced = $0.action { true } else { false } })
        let summary = try await w.rotation().run(again)
        #expect(summary.line == "0 created, 3 skipped, 0 failed")
        #expect(await w.posts() == posts)
        #expect(await w.sandbox.installers().count == 7)
        #expect(try w.ledger.successions().count == 3)
        await w.stop()
    }

    @Test func anUncertainReplacementIsNeverResentAndSyncLinksIt() async throws {
        let w = try await RotationWorld()
        let (old, _) = try await w.seedMixedAges()
        await w.fixture.knobs(SandboxKnobs(dropNextAfterProcessing: 1))
        let plan = try w.plan()
        let first = try await w.rotation().run(plan)
        #expect(first.created == 2 && first.uncertain == 1)
        guard case .uncertain? = first.exitError else {
            Issue.record("expected an uncertain outcome, got \(String(describing: first.exitError))")
            return
        }
        #expect(first.line.contains("1 uncertain"))
        #expect(await w.sandbox.installers().count == 7)  // ESET did create it
        let dropped = try #require(first.results.first { if case .uncertain = $0.outcome { true } else { false } }).predecessor.uuid
        #expect(try w.ledger.successor(of: dropped) == nil)

        // Resume: the uncertain one is left alone, nothing is sent.
        let posts = await w.posts()
        let resumed = try await w.rotation().run(try w.plan())
        #expect(resumed.created == 0 && resumed.skipped == 3 && resumed.exitError == nil)
        #expect(resumed.results.contains { if case .skipped(.awaitingSync) = $0.outcome { $0.predecessor.uuid == dropped } else { false } })
        #expect(await w.posts() == posts)

        // sync finds it and links it in the same transaction.
        let synced = try await w.sync()
        #expect(synced.resolved == 1)
        let successor = try #require(try w.ledger.successor(of: dropped))
        #expect(try w.ledger.installer(successor).predecessorUuid == dropped)
        var filter = EventFilter()
        filter.installerUuid = dropped
        filter.kinds = [.superseded]
        #expect(try w.ledger.events(matching: filter).map(\.source) == [.sync])

        let after = try w.plan()
        #expect(after.creations == 0 && after.steps.count == old.count)
        #expect(await w.sandbox.installers().count == 7)
        await w.stop()
    }

    @Test func aReplacementThatNeverReachedESETIsCreatedAgainOnceSyncGivesUp() async throws {
        let w = try await RotationWorld()
        try await w.seedMixedAges()
        await w.fixture.knobs(SandboxKnobs(dropNextBeforeProcessing: 1))
        let first = try await w.rotation().run(try w.plan())
        #expect(first.uncertain == 1 && first.created == 2)
        #expect(await w.sandbox.installers().count == 6)  // it never arrived
        #expect(try w.plan().creations == 0)               // still uncertain: not re-sent
        #expect(try await w.sync().stillPending.count == 1)
        #expect(try await w.sync(after: 16 * 60).failed.count == 1)
        let again = try w.plan()
        #expect(again.creations == 1)
        let summary = try await w.rotation().run(again)
        #expect(summary.created == 1 && summary.exitError == nil)
        #expect(try w.ledger.successions().count == 3)
        #expect(await w.sandbox.installers().count == 7)
        await w.stop()
    }

    @Test func filtersLimitTheRotation() async throws {
        let w = try await RotationWorld()
        let (old, _) = try await w.seedMixedAges()
        #expect(try w.plan(RotationSelection(group: "brno branch")).steps.map(\.predecessor.installer.uuid) == [old[1]])
        #expect(try w.plan(RotationSelection(operatingSystemFamilyId: 1)).steps.count == 2)
        #expect(try w.plan(RotationSelection(nameContains: "finance")).steps.map(\.predecessor.installer.uuid) == [old[2]])
        #expect(try w.plan(RotationSelection(within: .days(5))).steps.isEmpty)  // they expire in ~11 days
        let summary = try await w.rotation().run(try w.plan(RotationSelection(group: RotationWorld.vienna.uuid)))
        #expect(summary.created == 1)
        #expect(try w.ledger.successor(of: old[0]) != nil && w.ledger.successor(of: old[1]) == nil)
        await w.stop()
    }

    @Test func handOverFileIsPrivateAndListsEachReplacementOnce() async throws {
        let w = try await RotationWorld()
        let (old, _) = try await w.seedMixedAges()
        _ = try await w.rotation().run(try w.plan())
        let folder = TemporaryFolder()
        let path = folder.file("handover.csv")
        try "stale".write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o644)

        let entries = try w.ledger.pendingHandOver(RotationSelection())
        try HandOverFile.write(entries, to: path, format: HandOverFormat(path: path))
        try w.ledger.markHandedOver(predecessors: entries.map(\.predecessor.uuid), at: w.now())
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["handover.csv"])  // no temporary left

        let lines = try String(contentsOfFile: path, encoding: .utf8).components(separatedBy: "\r\n").filter { !$0.isEmpty }
        #expect(lines.first == HandOverFile.csvHeader.joined(separator: ","))
        #expect(lines.count == 4)
        for line in lines.dropFirst() {
            let cells = line.components(separatedBy: ",")
            let oldUuid = cells[0], newUuid = cells[3]
            #expect(old.contains(oldUuid))
            let successor = try w.ledger.installer(newUuid)
            #expect(successor.predecessorUuid == oldUuid)
            let urlMatches = cells[5] == successor.installer.downloadUrl && !cells[5].isEmpty  // compared, never printed
            #expect(urlMatches)
            #expect(cells[6] == successor.installer.expireTime?.rfc3339)
        }
        // Handed over once: the next file is empty.
        #expect(try w.ledger.pendingHandOver(RotationSelection()).isEmpty)

        let json = folder.file("handover.json")
        try HandOverFile.write(entries, to: json, format: .json)
        let parsed = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as? [[String: Any]]
        #expect(Set(parsed?.compactMap { $0["oldUuid"] as? String } ?? []) == Set(old))
        #expect(parsed?.allSatisfy { ($0["newDownloadUrl"] as? String)?.hasPrefix("https://") == true } == true)
        #expect(((try FileManager.default.attributesOfItem(atPath: json))[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        #expect(throws: HandOverError.self) { try HandOverFile.checkWritable(folder.file("missing/handover.csv")) }
        await w.stop()
    }

    @Test func deleteOldRevokesPredecessorsOnceTheirSuccessorExists() async throws {
        let w = try await RotationWorld()
        let (old, fresh) = try await w.seedMixedAges()
        await w.fixture.knobs(SandboxKnobs(dropNextAfterProcessing: 1))
        let first = try await w.rotation().run(try w.plan(deleteOld: true))
        // Two replaced and revoked; the uncertain one keeps its predecessor.
        #expect(first.revoked == 2)
        let kept = try #require(first.results.first { $0.revocation == nil }).predecessor.uuid
        #expect(try w.ledger.installer(kept).status == .usable)
        #expect(await w.sandbox.installer(uuid: kept)?.deleted == false)
        for uuid in old where uuid != kept {
            #expect(try w.ledger.installer(uuid).status == .deleted)
            #expect(try w.ledger.installer(uuid).statusReason == "rotate")
            #expect(await w.sandbox.installer(uuid: uuid)?.deleted == true)
        }
        _ = try await w.sync()
        let second = try await w.rotation().run(try w.plan(deleteOld: true))
        #expect(second.created == 0 && second.revoked == 1)
        #expect(await w.sandbox.installer(uuid: kept)?.deleted == true)
        #expect(await w.sandbox.installer(uuid: fresh)?.deleted == false)
        #expect(try w.ledger.coverageGaps(at: w.now().adding(.days(30))).isEmpty)
        await w.stop()
    }

    @Test func showAndListJSONNameSuccessorAndPredecessor() async throws {
        let w = try await RotationWorld()
        let (old, fresh) = try await w.seedMixedAges()
        _ = try await w.rotation().run(try w.plan())
        let predecessor = try w.ledger.installer(old[0])
        let successorUuid = try #require(predecessor.successorUuid)
        let successor = try w.ledger.installer(successorUuid)
        var filter = EventFilter()
        filter.installerUuid = old[0]
        let table = InstallerDetailRenderer.table(predecessor, history: try w.ledger.events(matching: filter), now: w.now())
        // The table holds the download URL: only booleans go into expectations.
        let namesSuccessor = table.contains("replaced by:            \(successorUuid)")
        let historySaysSo = table.contains("superseded by rotate  reason: replaced; successor \(successorUuid)")
        let namesPredecessor = InstallerDetailRenderer.table(successor, history: [], now: w.now()).contains("replaces:               \(old[0])")
        #expect(namesSuccessor && historySaysSo && namesPredecessor)
        let detail = try JSONSerialization.jsonObject(with: Data(InstallerDetailRenderer.json(successor, history: []).utf8)) as? [String: Any]
        #expect(detail?["predecessorUuid"] as? String == old[0])

        var renderer = InstallerListRenderer(format: .json, now: w.now())
        var text = renderer.begin()
        text += renderer.render(try w.ledger.installers(matching: InstallerFilter(), at: w.now()))
        text += renderer.end()
        let list = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]])
        let byUuid = Dictionary(uniqueKeysWithValues: list.map { ($0["uuid"] as! String, $0) })
        #expect(byUuid[old[0]]?["successorUuid"] as? String == successorUuid)
        #expect(byUuid[successorUuid]?["predecessorUuid"] as? String == old[0])
        #expect(byUuid[fresh]?["successorUuid"] == nil && byUuid[fresh]?["predecessorUuid"] == nil)
        #expect(list.filter { $0["successorUuid"] != nil }.count == 3)
        await w.stop()
    }

    // MARK: - End to end

    @Test func rotateAndGapsFromTheCommandLine() async throws {
        let w = try await RotationWorld()
        let url = try #require(await w.sandbox.url)
        let folder = TemporaryFolder()
        let env = ["INSTALLER_LEDGER_DB": folder.ledger(), "ESET_CONNECT_USERNAME": "api@example.com",
                   "ESET_CONNECT_PASSWORD": "sandbox", "ESET_CONNECT_API_URL": url.absoluteString]
        func run(_ args: [String]) async throws -> ProcessResult {
            try await runProductAsync("installer-ledger", args, environment: env)
        }
        for (name, os, group) in [("Vienna PCs", "windows", RotationWorld.vienna), ("Brno Macs", "macos", RotationWorld.brno)] {
            let r = try await run(["create", "--name", name, "--os", os, "--group", group.uuid])
            #expect(r.status == 0, "\(r.stderr)")
        }
        await w.advance(days: 170)
        #expect(try await run(["create", "--name", "HQ PCs", "--os", "windows", "--group", RotationWorld.headquarters.uuid]).status == 0)
        let now = w.now().rfc3339

        let before = try await run(["gaps", "--now", now, "--format", "json"])
        #expect(before.status == 0, "\(before.stderr)")
        let gaps = try #require(try JSONSerialization.jsonObject(with: Data(before.stdout.utf8)) as? [[String: Any]])
        #expect(Set(gaps.compactMap { $0["name"] as? String })
            == ["Vienna Office", "Brno Branch", "ESET PROTECT Entry", "ESET PROTECT Complete"])

        let dry = try await run(["rotate", "--now", now, "--dry-run"])
        #expect(dry.status == 0 && dry.stdout.contains("plan: 2 to create, 0 to leave"), "\(dry.stderr)")
        #expect(await w.sandbox.installers().count == 3)

        // A dropped answer: exit 75, the replacement stays pending and is never re-sent.
        await w.fixture.knobs(SandboxKnobs(dropNextAfterProcessing: 1))
        let first = try await run(["rotate", "--now", now, "--output", folder.file("first.csv")])
        #expect(first.status == 75, "\(first.stderr)")
        #expect(first.stdout.contains("rotate: 1 created, 0 skipped, 0 failed, 1 uncertain"))
        #expect(first.stderr.contains("uncertain") && first.stderr.split(separator: "\n").count == 1)
        #expect(!first.stdout.contains("download.sandbox.invalid") && !first.stderr.contains("download.sandbox.invalid"))
        #expect(try handOverRows(folder.file("first.csv")) == 1)
        let mode = (try FileManager.default.attributesOfItem(atPath: folder.file("first.csv"))[.posixPermissions] as? NSNumber)?.intValue
        #expect(mode == 0o600)

        let resumed = try await run(["rotate", "--now", now, "--output", folder.file("second.csv")])
        #expect(resumed.status == 0 && resumed.stdout.contains("rotate: 0 created, 2 skipped, 0 failed"), "\(resumed.stderr)")
        #expect(try handOverRows(folder.file("second.csv")) == 0)
        #expect(await w.sandbox.installers().count == 5)

        let sync = try await run(["sync"])
        #expect(sync.status == 0 && sync.stdout.contains("1 pending resolved"), "\(sync.stderr)")
        let third = try await run(["rotate", "--now", now, "--output", folder.file("third.json")])
        #expect(third.status == 0 && third.stdout.contains("hand-over: 1 replacement(s)"), "\(third.stderr)")
        #expect(try handOverRows(folder.file("third.json")) == 1)

        let after = try await run(["gaps", "--now", now])
        #expect(after.status == 0 && after.stdout.hasPrefix("KIND"), "\(after.stderr)")
        #expect(after.stdout.contains("no gaps at"))

        let list = try await run(["list", "--format", "json"])
        let installers = try #require(try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]])
        #expect(installers.filter { $0["successorUuid"] != nil }.count == 2)
        #expect(installers.filter { $0["predecessorUuid"] != nil }.count == 2)
        let oldVienna = try #require(installers.first { $0["displayName"] as? String == "Vienna PCs" && $0["successorUuid"] != nil })
        let show = try await run(["show", String((oldVienna["uuid"] as! String).prefix(8)), "--now", now])
        let showsSuccessor = show.stdout.contains("replaced by:            \(oldVienna["successorUuid"] as! String)")
        #expect(showsSuccessor)  // show prints the download URL: compare, never print
        let history = try await run(["history", "--kind", "superseded", "--format", "ndjson"])
        #expect(history.stdout.split(separator: "\n").count == 2)

        let refused = try await run(["rotate", "--now", now, "--delete-old"])
        #expect(refused.status == 64 && refused.stderr.contains("--yes"))
        let revoke = try await run(["rotate", "--now", now, "--delete-old", "--yes"])
        #expect(revoke.status == 0 && revoke.stdout.contains("2 predecessors revoked"), "\(revoke.stderr)")
        #expect(await w.sandbox.installers().count == 3)
        #expect(try await run(["gaps", "--now", now]).stdout.contains("no gaps at"))
        await w.stop()
    }
}

/// Data rows of a hand-over file (CSV or JSON), never its content.
func handOverRows(_ path: String) throws -> Int {
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    if path.hasSuffix(".json") { return (try JSONSerialization.jsonObject(with: data) as? [Any])?.count ?? -1 }
    return String(decoding: data, as: UTF8.self).components(separatedBy: "\r\n").filter { !$0.isEmpty }.count - 1
}

/// Failed expectations print the values they compare; a download URL must never be among
/// them, so test output shows installers without it.
extension Installer: CustomStringConvertible, CustomDebugStringConvertible {
    public var description: String {
        "Installer(\(uuid), \"\(displayName)\", os \(operatingSystemFamilyId), group \(deviceEnrollment.groupDisplayName), "
            + "created \(createTime?.rfc3339 ?? "-"), expires \(expireTime?.rfc3339 ?? "-"), usable \(usable), downloadUrl \(Redaction.placeholder))"
    }
    public var debugDescription: String { description }
}
