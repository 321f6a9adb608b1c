import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
@testable import ESETConnectSandbox

/// Two companies: acme with 5 installers, globex with 7.
private let acme = "acme@example.com", globex = "globex@example.com"
private let twoTenants = SandboxConfiguration(tenants: [
    SandboxTenant(username: acme, installers: 5), SandboxTenant(username: globex, installers: 7),
])

private func uuids(_ installers: [[String: Any]]) -> [String] {
    installers.compactMap { $0["uuid"] as? String }
}

@Suite struct TenantIsolationTests {
    @Test func eachTokenListsOnlyItsOwnCompany() async throws {
        try await withSandbox(twoTenants) { sandbox, client in
            let a = try await client.listAll(token: try await client.accessToken(username: acme))
            let g = try await client.listAll(token: try await client.accessToken(username: globex))
            #expect(a.installers.count == 5 && a.totalSize == 5)
            #expect(g.installers.count == 7 && g.totalSize == 7)
            #expect(Set(uuids(a.installers)).isDisjoint(with: uuids(g.installers)))

            // The inspection API agrees, and names each installer's company.
            #expect(await sandbox.installers(tenant: acme).map(\.uuid) == uuids(a.installers))
            #expect(await sandbox.installers(tenant: "ACME@example.com").count == 5)
            #expect(await sandbox.installers(tenant: globex).allSatisfy { $0.tenant == globex })
            let all = await sandbox.installers()
            #expect(all.count == 12)
            #expect(zip(all, all.dropFirst()).allSatisfy { $0.createTime <= $1.createTime })
            #expect(await sandbox.installer(uuid: uuids(g.installers)[0])?.tenant == globex)
        }
    }

    @Test func companiesHaveTheirOwnGroupsAndLicences() async throws {
        try await withSandbox(twoTenants) { sandbox, client in
            let catalogA = await sandbox.catalog(tenant: acme), catalogG = await sandbox.catalog(tenant: globex)
            #expect(catalogA.deviceGroups.count == SandboxCatalog.deviceGroups.count)
            #expect(Set(catalogA.deviceGroups.map(\.uuid)).isDisjoint(with: catalogG.deviceGroups.map(\.uuid)))
            #expect(Set(catalogA.deviceGroups.map(\.displayName)).isDisjoint(with: catalogG.deviceGroups.map(\.displayName)))
            let standard = SandboxCatalog.deviceGroups
            #expect(Set(catalogA.deviceGroups.map(\.uuid)).isDisjoint(with: standard.map(\.uuid)))
            func pools(_ c: SandboxCompanyCatalog) -> Set<String> {
                Set((c.endpointLicences + [c.inspectLicence, c.encryptionLicence]).flatMap { [$0.poolUuid, $0.subscriptionUuid] })
            }
            #expect(pools(catalogA).isDisjoint(with: pools(catalogG)))
            #expect(catalogA.endpointLicences.map(\.productId) == SandboxCatalog.endpointLicences.map(\.productId))

            // What the API answers uses the caller's catalog only.
            for (user, catalog, other) in [(acme, catalogA, catalogG), (globex, catalogG, catalogA)] {
                let listed = try await client.listAll(token: try await client.accessToken(username: user)).installers
                let enrollments = listed.compactMap { $0["deviceEnrollment"] as? [String: Any] }
                let groupUuids = enrollments.compactMap { $0["securityGroupUuid"] as? String }.filter { !$0.isEmpty }
                #expect(!groupUuids.isEmpty)
                #expect(Set(groupUuids).isSubset(of: catalog.deviceGroups.map(\.uuid)))
                let names = Set(enrollments.compactMap { $0["groupDisplayName"] as? String })
                #expect(names.isSubset(of: catalog.deviceGroups.map(\.displayName) + [SandboxCatalog.lostAndFound]))
                #expect(names.isDisjoint(with: other.deviceGroups.map(\.displayName)))
                let poolUuids = listed.flatMap { ($0["activatedProducts"] as? [[String: Any]] ?? []).compactMap { $0["poolUuid"] as? String } }
                #expect(!poolUuids.isEmpty && Set(poolUuids).isDisjoint(with: pools(other)))
            }
        }
    }

    @Test func anotherCompanysInstallerIsNotFound() async throws {
        try await withSandbox(twoTenants) { sandbox, client in
            let tokenA = try await client.accessToken(username: acme)
            let tokenG = try await client.accessToken(username: globex)
            let theirs = try #require(await sandbox.installers(tenant: globex).first?.uuid)

            let get = try await client.send("GET", "/v1/installers/\(theirs)", token: tokenA)
            #expect(get.status == 404)
            #expect(get.object?["code"] as? Int == 5)
            #expect(try await client.send("DELETE", "/v1/installers/\(theirs)", token: tokenA).status == 404)

            // Untouched for its own company.
            #expect(await sandbox.installer(uuid: theirs)?.deleted == false)
            #expect(try await client.send("GET", "/v1/installers/\(theirs)", token: tokenG).status == 200)
            #expect(try await client.listAll(token: tokenG).totalSize == 7)
        }
    }

    @Test func creationLandsInTheCallersCompanyOnly() async throws {
        try await withSandbox(twoTenants) { sandbox, client in
            let tokenA = try await client.accessToken(username: acme)
            let tokenG = try await client.accessToken(username: globex)
            let groupA = await sandbox.catalog(tenant: acme).deviceGroups[5]
            let created = try await client.create(windowsInstaller(group: groupA.uuid), token: tokenA)
            #expect(created.status == 200)
            let uuid = try #require(created.installer?["uuid"] as? String)
            let enrollment = created.installer?["deviceEnrollment"] as? [String: Any]
            #expect(enrollment?["groupDisplayName"] as? String == groupA.displayName)

            #expect(uuids(try await client.listAll(token: tokenA).installers).contains(uuid))
            #expect(try await client.listAll(token: tokenA).totalSize == 6)
            #expect(!uuids(try await client.listAll(token: tokenG).installers).contains(uuid))
            #expect(try await client.send("GET", "/v1/installers/\(uuid)", token: tokenG).status == 404)
            #expect(await sandbox.installer(uuid: uuid)?.tenant == acme)
            #expect(await sandbox.installers(tenant: globex).count == 7)

            // A group of another company, or of the single-company table, is unknown here.
            for foreign in [await sandbox.catalog(tenant: globex).deviceGroups[5].uuid, SandboxCatalog.deviceGroups[5].uuid] {
                let refused = try await client.create(windowsInstaller(group: foreign), token: tokenA)
                #expect(refused.status == 400)
                #expect((refused.object?["message"] as? String)?.contains("security group") == true)
            }
            #expect(await sandbox.installers(tenant: acme).count == 6)
        }
    }

    @Test func unknownUsernameGetsAnEmptyCompanyOfItsOwn() async throws {
        try await withSandbox(twoTenants) { sandbox, client in
            let stranger = "initech@example.com"
            #expect(await sandbox.installers(tenant: stranger).isEmpty)
            let token = try await client.accessToken(username: stranger)
            let listed = try await client.listAll(token: token)
            #expect(listed.installers.isEmpty && listed.totalSize == 0)

            // Its own catalog, as promised before the first login; what it creates stays its own.
            let group = await sandbox.catalog(tenant: stranger).deviceGroups[2]
            #expect(!(await sandbox.catalog(tenant: acme).deviceGroups.contains(group)))
            #expect(try await client.create(windowsInstaller(group: group.uuid), token: token).status == 200)
            #expect(await sandbox.installers(tenant: stranger).map(\.tenant) == [stranger])
            #expect(try await client.listAll(token: try await client.accessToken(username: acme)).totalSize == 5)
            #expect(await sandbox.companies().map(\.username) == [acme, globex, stranger])
            #expect(await sandbox.companies().map(\.installers) == [5, 7, 1])
        }
    }

    @Test func wrongPasswordIsRefusedForListedAndUnknownUsernames() async throws {
        try await withSandbox(twoTenants) { sandbox, client in
            for user in [acme, "initech@example.com"] {
                let answer = try await client.passwordGrant(username: user, password: "wrong-pw")
                #expect(answer.status == 400)
                #expect(answer.object?["error"] as? String == "invalid_grant")
            }
            #expect(await sandbox.companies().count == 2)  // no company for a failed login
            #expect(try await client.send("GET", "/v1/installers", token: "forged").status == 401)
            #expect(await sandbox.requestLog().map(\.tenant) == [nil, nil, nil])
        }
    }

    @Test func usernamesMatchInAnyCase() async throws {
        try await withSandbox(twoTenants) { sandbox, client in
            let token = try await client.accessToken(username: "ACME@Example.COM")
            #expect(try await client.listAll(token: token).totalSize == 5)
            #expect(await sandbox.requestLog().map(\.tenant) == [acme, acme])
        }
    }

    @Test func refreshedTokensStayWithTheirCompany() async throws {
        try await withSandbox(twoTenants) { _, client in
            let first = try #require(try await client.passwordGrant(username: globex).object)
            let refresh = try #require(first["refresh_token"] as? String)
            let refreshed = try await client.send("POST", "/oauth/token", body: Data("grant_type=refresh_token&refresh_token=\(refresh)".utf8),
                                                  contentType: "application/x-www-form-urlencoded")
            #expect(refreshed.status == 200)
            let token = try #require(refreshed.object?["access_token"] as? String)
            #expect(try await client.listAll(token: token).totalSize == 7)
        }
    }

    @Test func requestLogNamesTheTenantOfEveryRequest() async throws {
        try await withSandbox(twoTenants) { sandbox, client in
            let tokenA = try await client.accessToken(username: acme)
            let tokenG = try await client.accessToken(username: globex)
            for _ in 0..<3 { _ = try await client.listAll(token: tokenA) }
            _ = try await client.listAll(token: tokenG)
            // A request a knob answers before the token is checked still counts for its tenant.
            await sandbox.setKnobs(SandboxKnobs(failNext: [503]))
            #expect(try await client.send("GET", "/v1/installers", token: tokenG).status == 503)

            let log = await sandbox.requestLog()
            #expect(log.filter { $0.tenant == acme }.count == 4)   // token + 3 lists
            #expect(log.filter { $0.tenant == globex }.count == 3) // token + list + 503
            #expect(log.allSatisfy { $0.tenant != nil })

            let requests = try await client.send("GET", "/_sandbox/requests")
            let entries = try #require(try JSONSerialization.jsonObject(with: requests.body) as? [[String: Any]])
            #expect(entries.compactMap { $0["tenant"] as? String }.filter { $0 == globex }.count == 3)
        }
    }

    @Test func anAcceptedAnswerCanOnlyBeCollectedByItsCompany() async throws {
        try await withSandbox(SandboxConfiguration(knobs: SandboxKnobs(accepted202Count: 1), tenants: twoTenants.tenants)) { _, client in
            let tokenA = try await client.accessToken(username: acme)
            let tokenG = try await client.accessToken(username: globex)
            let query = ["pageSize": "1000"]
            let first = try await client.send("GET", "/v1/installers", query: query, token: tokenA)
            #expect(first.status == 202)
            let id = try #require(first.header("response-id"))

            let stolen = try await client.send("GET", "/v1/installers", query: query, token: tokenG, headers: ["response-id": id])
            #expect(stolen.status == 404)
            let collected = try await client.send("GET", "/v1/installers", query: query, token: tokenA, headers: ["response-id": id])
            #expect(collected.status == 200)
            #expect(collected.object?["totalSize"] as? String == "5")
        }
    }

    @Test func controlDumpFiltersByTenant() async throws {
        try await withSandbox(twoTenants) { _, client in
            func dump(_ query: [String: String]) async throws -> [[String: Any]] {
                let answer = try await client.send("GET", "/_sandbox/installers", query: query)
                return try #require(try JSONSerialization.jsonObject(with: answer.body) as? [[String: Any]])
            }
            #expect(try await dump([:]).count == 12)
            let globexOnly = try await dump(["tenant": globex])
            #expect(globexOnly.count == 7)
            #expect(globexOnly.allSatisfy { $0["tenant"] as? String == globex && $0["listed"] as? Bool == true })
            #expect(try await dump(["tenant": "nobody@example.com"]).isEmpty)

            let companies = try await client.send("GET", "/_sandbox/companies")
            let list = try #require(try JSONSerialization.jsonObject(with: companies.body) as? [[String: Any]])
            #expect(list.compactMap { $0["username"] as? String } == [acme, globex])
            #expect(list.compactMap { ($0["catalog"] as? [String: Any])?["deviceGroups"] as? [Any] }.map(\.count) == [11, 11])
        }
    }
}

@Suite struct TenantSetupTests {
    @Test func sameTenantsSameDataAndSeedsAreMixedWithTheUsername() async throws {
        let again = await SandboxServer(configuration: twoTenants).installers()
        let first = await SandboxServer(configuration: twoTenants).installers()
        func identity(_ list: [SandboxInstaller]) -> [String] {
            list.map { "\($0.uuid) \($0.displayName) \($0.groupDisplayName) \($0.tenant ?? "-")" }.sorted()
        }
        #expect(identity(first) == identity(again))

        // The same explicit seed for two tenants still gives two different companies.
        let sameSeed = SandboxServer(configuration: SandboxConfiguration(tenants: [
            SandboxTenant(username: "a@example.com", installers: 20, seed: 42),
            SandboxTenant(username: "b@example.com", installers: 20, seed: 42),
        ]))
        let a = await sameSeed.installers(tenant: "a@example.com"), b = await sameSeed.installers(tenant: "b@example.com")
        #expect(a.count == 20 && b.count == 20)
        #expect(Set(a.map(\.uuid)).isDisjoint(with: b.map(\.uuid)))
        #expect(SandboxTenant(username: "a@example.com").effectiveSeed() != SandboxTenant(username: "b@example.com").effectiveSeed())
        #expect(SandboxTenant(username: "A@example.com").effectiveSeed() == SandboxTenant(username: "a@example.com").effectiveSeed())
        #expect(SandboxTenant(username: "a@example.com", seed: 1).effectiveSeed() != SandboxTenant(username: "a@example.com", seed: 2).effectiveSeed())
        #expect(SandboxCompanyCatalog.derived(username: "a", seed: 9) == SandboxCompanyCatalog.derived(username: "a", seed: 9))
    }

    @Test func withoutTenantsEveryUsernameSharesOneCompany() async throws {
        try await withSandbox(SandboxConfiguration(prepopulatedInstallers: 4)) { sandbox, client in
            let a = try await client.listAll(token: try await client.accessToken(username: acme))
            let g = try await client.listAll(token: try await client.accessToken(username: globex))
            #expect(uuids(a.installers) == uuids(g.installers) && a.totalSize == 4)
            #expect(await sandbox.installers().allSatisfy { $0.tenant == nil && $0.listed })
            #expect(await sandbox.installers(tenant: "anyone@example.com").count == 4)
            #expect(await sandbox.catalog(tenant: acme) == SandboxCatalog.standard)
            #expect(await sandbox.companies().map(\.username) == [nil])
            #expect(await sandbox.requestLog().compactMap(\.tenant) == [acme, acme, globex, globex])
        }
    }

    @Test func fiftyTenantsStartFast() async throws {
        let tenants = (0..<50).map { SandboxTenant(username: "customer\($0)@msp.example", installers: 20) }
        let clock = ContinuousClock()
        let started = clock.now
        let sandbox = SandboxServer(configuration: SandboxConfiguration(tenants: tenants))
        let elapsed = clock.now - started
        #expect(elapsed < .milliseconds(500), "50 × 20 installers took \(elapsed)")
        #expect(await sandbox.installers().count == 1000)
        #expect(Set(await sandbox.installers().map(\.uuid)).count == 1000)
        #expect(await sandbox.companies().count == 50)
    }

    @Test(arguments: [
        ("acme@example.com:20", "acme@example.com", 20),
        ("acme@example.com", "acme@example.com", 0),
        ("globex@example.com:0", "globex@example.com", 0),
    ])
    func tenantArgumentsParse(text: String, username: String, installers: Int) throws {
        #expect(try SandboxTenant(argument: text) == SandboxTenant(username: username, installers: installers))
    }

    @Test(arguments: [
        ("acme@example.com:x", "whole number"), ("acme@example.com:-1", "whole number"),
        ("acme@example.com:", "whole number"), ("acme@example.com:+3", "whole number"),
        (":5", "username is empty"), ("", "username is empty"), ("  :1", "username is empty"),
    ])
    func badTenantArgumentsSayWhatIsWrong(text: String, mentions: String) throws {
        let error = #expect(throws: SandboxError.self) { try SandboxTenant(argument: text) }
        guard case .invalidTenant(let value, let reason)? = error else {
            Issue.record("expected invalidTenant, got \(String(describing: error))")
            return
        }
        #expect(value == text)
        #expect(reason.contains(mentions), "\(reason)")
        #expect(error?.errorDescription?.contains("USERNAME:N") == true)
    }

    @Test func duplicateOrEmptyTenantsAreRefusedAtStart() async throws {
        #expect(throws: SandboxError.self) {
            try SandboxTenant.validate([SandboxTenant(username: acme), SandboxTenant(username: "Acme@Example.com")])
        }
        let sandbox = SandboxServer(configuration: SandboxConfiguration(tenants: [
            SandboxTenant(username: acme, installers: 2), SandboxTenant(username: acme, installers: 9),
        ]))
        await #expect(throws: SandboxError.self) { try await sandbox.start() }
        #expect(await sandbox.installers().count == 2)  // the first entry is kept
        await #expect(throws: SandboxError.self) {
            try await SandboxServer(configuration: SandboxConfiguration(tenants: [SandboxTenant(username: " ")])).start()
        }
    }
}

@Suite struct UnlistingTests {
    @Test func unlistedInstallersAreLostUntilListedAgain() async throws {
        try await withSandbox(SandboxConfiguration(prepopulatedInstallers: 3)) { sandbox, client in
            let token = try await client.accessToken()
            let before = await sandbox.installers()
            let uuid = before[1].uuid
            let fetched = try await client.send("GET", "/v1/installers/\(uuid)", token: token)
            #expect(fetched.status == 200)

            #expect(await sandbox.setListed(uuid: uuid, false))
            let hidden = try await client.listAll(token: token)
            #expect(!uuids(hidden.installers).contains(uuid) && hidden.totalSize == 2)
            #expect(try await client.send("GET", "/v1/installers/\(uuid)", token: token).status == 404)
            #expect(try await client.send("DELETE", "/v1/installers/\(uuid)", token: token).status == 404)
            #expect(await sandbox.installer(uuid: uuid)?.listed == false)
            #expect(await sandbox.installer(uuid: uuid)?.deleted == false)

            #expect(await sandbox.setListed(uuid: uuid, true))
            #expect(uuids(try await client.listAll(token: token).installers) == before.map(\.uuid))
            let again = try await client.send("GET", "/v1/installers/\(uuid)", token: token)
            #expect(again.status == 200)
            #expect(again.body == fetched.body)
            #expect(await sandbox.installers() == before)

            #expect(await sandbox.setListed(uuid: UUID().uuidString.lowercased(), false) == false)
        }
    }

    @Test func controlEndpointsUnlistAndRelist() async throws {
        try await withSandbox(twoTenants) { sandbox, client in
            let token = try await client.accessToken(username: globex)
            let target = try #require(await sandbox.installers(tenant: globex).last)

            let unlist = try await client.send("POST", "/_sandbox/installers/\(target.uuid)/unlist")
            #expect(unlist.status == 200)
            #expect(unlist.object?.isEmpty == true)
            #expect(try await client.listAll(token: token).totalSize == 6)
            #expect(try await client.send("GET", "/v1/installers/\(target.uuid)", token: token).status == 404)
            let dump = try await client.send("GET", "/_sandbox/installers", query: ["tenant": globex])
            let entries = try #require(try JSONSerialization.jsonObject(with: dump.body) as? [[String: Any]])
            #expect(entries.first { $0["uuid"] as? String == target.uuid }?["listed"] as? Bool == false)

            #expect(try await client.send("POST", "/_sandbox/installers/\(target.uuid)/relist").status == 200)
            #expect(try await client.listAll(token: token).totalSize == 7)
            #expect(await sandbox.installer(uuid: target.uuid) == target)

            let unknown = UUID().uuidString.lowercased()
            #expect(try await client.send("POST", "/_sandbox/installers/\(unknown)/unlist").status == 404)
            #expect(try await client.send("POST", "/_sandbox/installers/\(unknown)/relist").status == 404)
            #expect(try await client.send("POST", "/_sandbox/installers/\(target.uuid)/forget").status == 404)
        }
    }
}

@Suite struct TenantBinaryTests {
    /// Runs the binary with `arguments` until `body` returns; `body` gets its base URL.
    private func withBinary(_ arguments: [String], _ body: (URL) async throws -> Void) async throws {
        let (process, first) = try launchSandboxBinary(["--port", "0"] + arguments)
        defer { if process.isRunning { process.terminate() } }
        let url = try #require(URL(string: String(first.dropFirst("listening on ".count))), "first line: \(first)")
        try await body(url)
        process.terminate()
        process.waitUntilExit()
    }

    @Test func tenantOptionGivesEachUsernameItsCompany() async throws {
        try await withBinary(["--tenant", "\(acme):3", "--tenant", globex]) { url in
            let client = SandboxClient(baseURL: url)
            let ofAcme = try await client.listAll(token: try await client.accessToken(username: acme))
            let ofGlobex = try await client.listAll(token: try await client.accessToken(username: globex))
            #expect(ofAcme.totalSize == 3 && ofAcme.installers.count == 3)
            #expect(ofGlobex.totalSize == 0)
        }
    }

    @Test(arguments: [
        (["--tenant", "acme@example.com:many"], "--tenant"),
        (["--tenant", "a@example.com", "--tenant", "A@example.com:2"], "twice"),
        (["--installers", "3", "--tenant", "a@example.com:2"], "cannot be combined"),
    ])
    func badTenantOptionsAreUsageErrors(arguments: [String], mentions: String) throws {
        let (status, message) = try runSandboxBinary(arguments)
        #expect(status == 64)
        #expect(message.contains(mentions), "\(message)")
    }
}
