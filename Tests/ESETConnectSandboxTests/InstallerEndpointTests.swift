import Foundation
import Testing
@testable import ESETConnectSandbox

@Suite struct InstallerEndpointTests {
    @Test func createAnswersAFilledInInstaller() async throws {
        try await withSandbox { sandbox, client in
            let token = try await client.accessToken()
            let before = await sandbox.now()
            let answer = try await client.create(windowsInstaller(), token: token)
            let after = await sandbox.now()
            #expect(answer.status == 200)
            let installer = try #require(answer.installer)

            let uuid = try #require(installer["uuid"] as? String)
            #expect(UUID(uuidString: uuid) != nil)
            let downloadURL = try #require(URL(string: installer["downloadUrl"] as? String ?? ""))
            #expect(downloadURL.scheme == "https")
            #expect(downloadURL.host == "download.sandbox.invalid")
            #expect(downloadURL.path.contains(uuid))
            #expect(installer["displayName"] as? String == "Vienna Office – Windows")
            #expect(installer["preferredLanguageCode"] as? String == "de-de")
            #expect(installer["usable"] as? Bool == true)
            #expect(installer["enablePuaDetection"] as? Bool == true)
            #expect(installer["sendAnonymousDiagnosticData"] as? Bool == false)

            let created = try #require(parseTimestamp(installer["createTime"] as? String ?? ""))
            let expires = try #require(parseTimestamp(installer["expireTime"] as? String ?? ""))
            // Created while the request was answered (by the sandbox clock; createTime has
            // microseconds, so allow one either side), however long a loaded machine took.
            #expect(created >= before.addingTimeInterval(-0.000_001) && created <= after.addingTimeInterval(0.000_001))
            var utc = Calendar(identifier: .gregorian)
            utc.timeZone = TimeZone(identifier: "UTC")!
            let sixMonths = try #require(utc.date(byAdding: .month, value: 6, to: created))
            #expect(abs(expires.timeIntervalSince(sixMonths)) < 0.001)

            let enrollment = try #require(installer["deviceEnrollment"] as? [String: Any])
            #expect(enrollment["securityGroupUuid"] as? String == SandboxCatalog.deviceGroups[5].uuid)
            #expect(enrollment["groupDisplayName"] as? String == "Vienna Office")

            let components = try #require(installer["installedComponents"] as? [[String: Any]])
            #expect(components.compactMap { $0["id"] as? String } == ["13", "27"])
            #expect(components.allSatisfy { ($0["name"] as? String)?.isEmpty == false && $0["displayName"] != nil })

            let products = try #require(installer["activatedProducts"] as? [[String: Any]])
            #expect((1...3).contains(products.count))
            for product in products {
                for key in ["poolUuid", "poolDisplayName", "productId", "productDisplayName", "subscriptionUuid", "subscriptionSupportCode"] {
                    #expect((product[key] as? String)?.isEmpty == false, "\(key)")
                }
            }
            #expect(await sandbox.installers().map(\.uuid) == [uuid])
        }
    }

    @Test func macOSWithoutGroupGoesToLostAndFoundWithLicenceDefaults() async throws {
        try await withSandbox { _, client in
            let token = try await client.accessToken()
            let answer = try await client.create(
                ["displayName": "Mac rollout", "operatingSystemFamilyId": 3, "preferredLanguageCode": "tlh-x"], token: token)
            #expect(answer.status == 200)
            let installer = try #require(answer.installer)
            let enrollment = try #require(installer["deviceEnrollment"] as? [String: Any])
            #expect(enrollment["groupDisplayName"] as? String == "Lost & found")
            let components = try #require(installer["installedComponents"] as? [[String: Any]])
            #expect(components.compactMap { $0["id"] as? String } == ["13", "231"])
            #expect(installer["preferredLanguageCode"] as? String == "en-us")
        }
    }

    @Test func requestedComponentsAndInt64StringsAreAccepted() async throws {
        try await withSandbox { _, client in
            let token = try await client.accessToken()
            var installer = windowsInstaller()
            installer["operatingSystemFamilyId"] = "1"
            let answer = try await client.create(installer, components: ["13", 27, 167, 210], token: token)
            #expect(answer.status == 200)
            let created = try #require(answer.installer)
            let ids = (created["installedComponents"] as? [[String: Any]])?.compactMap { $0["id"] as? String }
            #expect(ids == ["13", "27", "167", "210"])
            let products = (created["activatedProducts"] as? [[String: Any]])?.compactMap { $0["productDisplayName"] as? String }
            #expect(products?.count == 3)
            #expect(products?.contains("ESET Inspect") == true)
        }
    }

    @Test(arguments: [
        (#"{"installer":{"displayName":"Linux servers","operatingSystemFamilyId":2}}"#, "Linux"),
        (#"{"installer":{"displayName":"Unspecified","operatingSystemFamilyId":"0"}}"#, "operatingSystemFamilyId"),
        (#"{"installer":{"displayName":"No OS"}}"#, "operatingSystemFamilyId"),
        (#"{"installer":{"displayName":"Unknown OS","operatingSystemFamilyId":7}}"#, "operatingSystemFamilyId"),
        (#"{"installer":{"displayName":"","operatingSystemFamilyId":1}}"#, "displayName"),
        (#"{"installer":{"displayName":"Bad component","operatingSystemFamilyId":1},"requestedComponentIds":[13,99]}"#, "component"),
        (#"{"installer":{"displayName":"Bad group","operatingSystemFamilyId":1,"deviceEnrollment":{"securityGroupUuid":"6c1d7f9e-0000-4000-8000-000000000000"}}}"#, "security group"),
        (#"{"displayName":"No envelope","operatingSystemFamilyId":1}"#, "installer"),
        (#"not json"#, "JSON"),
    ])
    func invalidCreationsAre400(body: String, mentions: String) async throws {
        try await withSandbox { sandbox, client in
            let token = try await client.accessToken()
            let answer = try await client.send("POST", "/v1/installers", token: token, body: Data(body.utf8),
                                               contentType: "application/json")
            #expect(answer.status == 400)
            #expect(answer.object?["code"] as? Int == 3)
            #expect((answer.object?["message"] as? String)?.contains(mentions) == true)
            #expect(answer.header("request-id") != nil)
            #expect(await sandbox.installers(includeDeleted: true).isEmpty)
        }
    }

    @Test func getAndDeleteThenNotFound() async throws {
        try await withSandbox { sandbox, client in
            let token = try await client.accessToken()
            let uuid = try #require(try await client.create(windowsInstaller(), token: token).installer?["uuid"] as? String)

            let fetched = try await client.send("GET", "/v1/installers/\(uuid)", token: token)
            #expect(fetched.status == 200)
            #expect(fetched.installer?["uuid"] as? String == uuid)

            let deleted = try await client.send("DELETE", "/v1/installers/\(uuid)", token: token)
            #expect(deleted.status == 200)
            #expect(deleted.object?.isEmpty == true)

            let gone = try await client.send("GET", "/v1/installers/\(uuid)", token: token)
            #expect(gone.status == 404)
            #expect(gone.object?["code"] as? Int == 5)
            #expect(try await client.send("DELETE", "/v1/installers/\(uuid)", token: token).status == 404)
            #expect(try await client.send("GET", "/v1/installers/\(UUID().uuidString.lowercased())", token: token).status == 404)

            let listed = try await client.send("GET", "/v1/installers", token: token)
            #expect((listed.object?["installers"] as? [Any])?.isEmpty == true)
            #expect(await sandbox.installers().isEmpty)
            #expect(await sandbox.installers(includeDeleted: true).map(\.deleted) == [true])
        }
    }

    @Test func listPagesThroughEveryInstallerOnce() async throws {
        try await withSandbox(SandboxConfiguration(prepopulatedInstallers: 120)) { sandbox, client in
            let token = try await client.accessToken()
            var seen: [String] = [], pageToken = "", sizes: [Int] = []
            repeat {
                let answer = try await client.send("GET", "/v1/installers", query: ["pageSize": "50", "pageToken": pageToken], token: token)
                #expect(answer.status == 200)
                let object = try #require(answer.object)
                let page = try #require(object["installers"] as? [[String: Any]])
                sizes.append(page.count)
                seen += page.compactMap { $0["uuid"] as? String }
                #expect(object["totalSize"] as? String == "120")
                pageToken = object["nextPageToken"] as? String ?? ""
                #expect(pageToken.count <= 128)
            } while !pageToken.isEmpty && sizes.count < 10
            #expect(sizes == [50, 50, 20])
            #expect(Set(seen).count == 120)
            #expect(seen == (await sandbox.installers()).map(\.uuid))
        }
    }

    @Test func pageSizeDefaultsTo50AndClampsTo1000() async throws {
        try await withSandbox(SandboxConfiguration(prepopulatedInstallers: 1001)) { _, client in
            let token = try await client.accessToken()
            for (size, expected) in [(nil, 50), ("0", 50), ("5000", 1000)] as [(String?, Int)] {
                let answer = try await client.send("GET", "/v1/installers", query: size.map { ["pageSize": $0] } ?? [:], token: token)
                #expect((answer.object?["installers"] as? [Any])?.count == expected)
                #expect((answer.object?["nextPageToken"] as? String)?.isEmpty == false)
            }
        }
    }

    @Test func badListParametersAre400() async throws {
        try await withSandbox(SandboxConfiguration(prepopulatedInstallers: 3)) { _, client in
            let token = try await client.accessToken()
            for query in [["pageToken": "not-a-token"], ["pageToken": String(repeating: "a", count: 129)],
                          ["pageSize": "-1"], ["pageSize": "ten"], ["usable": "maybe"]] {
                let answer = try await client.send("GET", "/v1/installers", query: query, token: token)
                #expect(answer.status == 400, "\(query)")
                #expect(answer.object?["code"] as? Int == 3)
            }
        }
    }

    @Test func usableFilterFollowsTheSandboxClock() async throws {
        try await withSandbox(SandboxConfiguration(prepopulatedInstallers: 300)) { sandbox, client in
            func total(_ usable: String?) async throws -> Int {
                let answer = try await client.send("GET", "/v1/installers", query: usable.map { ["usable": $0] } ?? [:],
                                                   token: try await client.accessToken())
                return Int(answer.object?["totalSize"] as? String ?? "") ?? -1
            }
            let usable = try await total("true"), unusable = try await total("false")
            #expect(usable + unusable == 300)
            #expect(usable == (await sandbox.installers()).filter(\.usable).count)
            #expect(unusable > 0 && usable > unusable)

            let page = try await client.send("GET", "/v1/installers", query: ["usable": "false", "pageSize": "1000"],
                                             token: try await client.accessToken())
            let flags = (page.object?["installers"] as? [[String: Any]])?.compactMap { $0["usable"] as? Bool }
            #expect(flags?.count == unusable && flags?.allSatisfy { !$0 } == true)

            await sandbox.advanceClock(by: 190 * 86_400)
            #expect(try await total("true") == 0)
            #expect(try await total(nil) == 300)
            #expect(await sandbox.installers().allSatisfy { !$0.usable })
        }
    }

    @Test func advancingTheClockExpiresACreatedInstaller() async throws {
        try await withSandbox { sandbox, client in
            let token = try await client.accessToken()
            let uuid = try #require(try await client.create(windowsInstaller(), token: token).installer?["uuid"] as? String)
            await sandbox.advanceClock(by: 183 * 86_400)
            let fetched = try await client.send("GET", "/v1/installers/\(uuid)", token: await client.accessToken())
            #expect(fetched.installer?["usable"] as? Bool == false)
        }
    }

    @Test func int64FieldsAreStringsOrNumbersAsConfigured() async throws {
        for asStrings in [true, false] {
            try await withSandbox(SandboxConfiguration(prepopulatedInstallers: 2, int64AsStrings: asStrings)) { _, client in
                let token = try await client.accessToken()
                let answer = try await client.send("GET", "/v1/installers", token: token)
                let object = try #require(answer.object)
                let installer = try #require((object["installers"] as? [[String: Any]])?.first)
                let product = try #require((installer["activatedProducts"] as? [[String: Any]])?.first)
                let component = try #require((installer["installedComponents"] as? [[String: Any]])?.first)
                for value in [object["totalSize"], installer["operatingSystemFamilyId"], product["productId"], component["id"]] {
                    #expect((value is String) == asStrings)
                }
            }
        }
    }
}
