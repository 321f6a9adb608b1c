import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
@testable import ESETConnectSandbox

/// Create bodies are read as gRPC-gateway's protojson reads them: a field of the wrong JSON type
/// is a 400 naming it (schemathesis and hand tests against ESET's OpenAPI found `true` taken for
/// Windows, `"true"` stored as false and `"deviceEnrollment": "x"` ignored).
@Suite struct CreateFieldTypeTests {
    /// A create body in raw JSON: a valid Windows installer with `fields` replaced or added
    /// (raw JSON values; `nil` leaves a field out), and `top` members beside `installer`.
    static func body(_ fields: [String: String?] = [:], top: [String: String] = [:]) -> String {
        var installer: [String: String?] = [
            "displayName": #""Fidelity""#, "operatingSystemFamilyId": "1", "preferredLanguageCode": #""de-de""#,
        ]
        installer.merge(fields) { $1 }
        let members = installer.compactMap { key, value in value.map { "\"\(key)\":\($0)" } }.sorted()
        let others = top.map { "\"\($0.key)\":\($0.value)" }.sorted()
        return "{" + (["\"installer\":{" + members.joined(separator: ",") + "}"] + others).joined(separator: ",") + "}"
    }

    private func post(_ body: String, _ client: SandboxClient) async throws -> Answer {
        try await client.send("POST", "/v1/installers", token: try await client.accessToken(), body: Data(body.utf8),
                              contentType: "application/json")
    }

    /// Every field of v1CreateInstallerRequest given a JSON type proto3 does not read it from.
    @Test(arguments: [
        // int64: a number or a string holding a whole number; not a bool, a fraction, an array...
        ("operatingSystemFamilyId", "true", "installer.operatingSystemFamilyId"),
        ("operatingSystemFamilyId", "false", "installer.operatingSystemFamilyId"),
        ("operatingSystemFamilyId", #""Windows""#, "installer.operatingSystemFamilyId"),
        ("operatingSystemFamilyId", "1.5", "installer.operatingSystemFamilyId"),
        ("operatingSystemFamilyId", #"" 1""#, "installer.operatingSystemFamilyId"),
        ("operatingSystemFamilyId", #""+1""#, "installer.operatingSystemFamilyId"),
        ("operatingSystemFamilyId", "[1]", "installer.operatingSystemFamilyId"),
        ("operatingSystemFamilyId", #"{"id":1}"#, "installer.operatingSystemFamilyId"),
        ("operatingSystemFamilyId", "99999999999999999999", "installer.operatingSystemFamilyId"),
        // bool: only true or false.
        ("enablePuaDetection", #""true""#, "installer.enablePuaDetection"),
        ("enablePuaDetection", "1", "installer.enablePuaDetection"),
        ("enableCloudScannerFeedback", #""false""#, "installer.enableCloudScannerFeedback"),
        ("enableCloudScannerFeedback", "0", "installer.enableCloudScannerFeedback"),
        ("sendAnonymousDiagnosticData", #""yes""#, "installer.sendAnonymousDiagnosticData"),
        ("sendAnonymousDiagnosticData", "[]", "installer.sendAnonymousDiagnosticData"),
        // string
        ("displayName", "42", "installer.displayName"),
        ("displayName", "true", "installer.displayName"),
        ("displayName", #"["Vienna"]"#, "installer.displayName"),
        ("preferredLanguageCode", "1", "installer.preferredLanguageCode"),
        ("preferredLanguageCode", #"{"code":"de"}"#, "installer.preferredLanguageCode"),
        // message: only an object.
        ("deviceEnrollment", #""x""#, "installer.deviceEnrollment"),
        ("deviceEnrollment", "[]", "installer.deviceEnrollment"),
        ("deviceEnrollment", "true", "installer.deviceEnrollment"),
        ("deviceEnrollment", #"{"securityGroupUuid":5}"#, "installer.deviceEnrollment.securityGroupUuid"),
        ("deviceEnrollment", #"{"groupDisplayName":false}"#, "installer.deviceEnrollment.groupDisplayName"),
        // Read-only fields are part of the message: the gateway checks their type too.
        ("uuid", "1", "installer.uuid"),
        ("downloadUrl", "false", "installer.downloadUrl"),
        ("usable", #""true""#, "installer.usable"),
        ("createTime", "1767225600", "installer.createTime"),
        ("createTime", #""yesterday""#, "installer.createTime"),
        ("expireTime", #""2026-13-01T00:00:00Z""#, "installer.expireTime"),
        ("expireTime", #""2026-02-30T00:00:00Z""#, "installer.expireTime"),
        ("activatedProducts", #"{"productId":"1"}"#, "installer.activatedProducts"),
        ("activatedProducts", "[1]", "installer.activatedProducts[0]"),
        ("activatedProducts", #"[{"poolUuid":"a"},{"productId":true}]"#, "installer.activatedProducts[1].productId"),
        ("activatedProducts", #"[{"subscriptionSupportCode":7}]"#, "installer.activatedProducts[0].subscriptionSupportCode"),
        ("installedComponents", #""13""#, "installer.installedComponents"),
        ("installedComponents", #"[{"id":"x"}]"#, "installer.installedComponents[0].id"),
        ("installedComponents", #"[{"name":3}]"#, "installer.installedComponents[0].name"),
        ("installedComponents", "[null]", "installer.installedComponents[0]"),
    ])
    func aWronglyTypedInstallerFieldIs400NamingIt(field: String, value: String, path: String) async throws {
        try await withSandbox { sandbox, client in
            let answer = try await post(Self.body([field: value]), client)
            #expect(answer.status == 400)
            #expect(answer.object?["code"] as? Int == 3)
            #expect(answer.object?["details"] as? [Any] != nil)
            let message = try #require(answer.object?["message"] as? String)
            #expect(message.hasPrefix("proto: (line 1:"), "\(message)")
            #expect(message.contains("field \(path): "), "\(message)")
            #expect(answer.header("request-id") != nil)
            #expect(await sandbox.installers(includeDeleted: true).isEmpty)
        }
    }

    @Test(arguments: [
        ("requestedComponentIds", "13", "requestedComponentIds"),
        ("requestedComponentIds", #""13,27""#, "requestedComponentIds"),
        ("requestedComponentIds", #"{"0":13}"#, "requestedComponentIds"),
        ("requestedComponentIds", "[13,true]", "requestedComponentIds[1]"),
        ("requestedComponentIds", #"["x"]"#, "requestedComponentIds[0]"),
        ("requestedComponentIds", "[null]", "requestedComponentIds[0]"),
        ("requestedComponentIds", "[13.5]", "requestedComponentIds[0]"),
        ("installer", #""Vienna""#, "installer"),
        ("installer", "[]", "installer"),
        ("installer", "true", "installer"),
    ])
    func aWronglyTypedTopLevelFieldIs400NamingIt(field: String, value: String, path: String) async throws {
        try await withSandbox { sandbox, client in
            let raw = field == "installer" ? "{\"installer\":\(value)}" : Self.body(top: [field: value])
            let answer = try await post(raw, client)
            #expect(answer.status == 400)
            #expect(answer.object?["code"] as? Int == 3)
            let message = try #require(answer.object?["message"] as? String)
            #expect(message.contains("field \(path): "), "\(message)")
            #expect(await sandbox.installers(includeDeleted: true).isEmpty)
        }
    }

    /// The three reported cases, with the exact words and the position protojson gives.
    @Test func theReportedCasesAreRefusedAsTheGatewayWordsThem() async throws {
        try await withSandbox { sandbox, client in
            let os = try await post(#"{"installer":{"displayName":"W","operatingSystemFamilyId":true}}"#, client)
            #expect(os.object?["message"] as? String
                == "proto: (line 1:59): invalid value for int64 field installer.operatingSystemFamilyId: true "
                + "(a whole JSON number or a string holding one is expected)")
            let pua = try await post(#"{"installer":{"displayName":"W","operatingSystemFamilyId":1,"enablePuaDetection":"true"}}"#, client)
            #expect(pua.object?["message"] as? String
                == #"proto: (line 1:82): invalid value for bool field installer.enablePuaDetection: "true" (only true or false is expected)"#)
            let enrollment = try await post(#"{"installer":{"displayName":"W","operatingSystemFamilyId":1,"deviceEnrollment":"x"}}"#, client)
            #expect(enrollment.object?["message"] as? String
                == #"proto: (line 1:80): invalid value for message field installer.deviceEnrollment: "x" (a JSON object is expected)"#)
            #expect([os, pua, enrollment].allSatisfy { $0.status == 400 })
            #expect(await sandbox.installers(includeDeleted: true).isEmpty)
        }
    }

    @Test func positionsCountLinesAndCharacters() async throws {
        try await withSandbox { _, client in
            let body = "{\n  \"installer\": {\n    \"displayName\": \"Wien – Büro\", \"enablePuaDetection\": 1\n  }\n}"
            let answer = try await post(body, client)
            let message = try #require(answer.object?["message"] as? String)
            #expect(message.hasPrefix("proto: (line 3:57): invalid value for bool field installer.enablePuaDetection: 1"), "\(message)")
        }
    }

    /// What proto3 JSON accepts: int64 as a number or a numeric string (`1.0`, `1e0`, `"1"`),
    /// `null` for "not set", read-only fields of the right type (ignored), unknown keys of any type.
    @Test func whatProto3JSONAcceptsIsCreated() async throws {
        try await withSandbox { sandbox, client in
            for os in ["1", #""1""#, "1.0", "1e0", #""1e0""#, "3", #""3""#, "0.3e1"] {
                let answer = try await post(Self.body(["operatingSystemFamilyId": os]), client)
                #expect(answer.status == 200, "\(os): \(String(decoding: answer.body, as: UTF8.self))")
            }
            let body = Self.body([
                "enablePuaDetection": "true", "enableCloudScannerFeedback": "null", "sendAnonymousDiagnosticData": "false",
                "deviceEnrollment": #"{"securityGroupUuid":null,"groupDisplayName":"ignored"}"#,
                "uuid": #""00000000-0000-4000-8000-000000000000""#, "usable": "false", "downloadUrl": "null",
                "createTime": #""2020-01-01T00:00:00.123456789+01:00""#, "expireTime": #""2020-07-01T00:00:00Z""#,
                "activatedProducts": #"[{"productId":"7","poolUuid":"p"}]"#, "installedComponents": #"[{"id":5,"name":"n"}]"#,
                "someNewField": #"{"nested":[1,"two",null]}"#, "operatingSystemFamilyId": #""3""#,
            ], top: ["requestedComponentIds": #"["13", 231, 13.0]"#, "validateOnly": #""yes""#])
            let answer = try await post(body, client)
            #expect(answer.status == 200, "\(String(decoding: answer.body, as: UTF8.self))")
            let created = try #require(answer.installer)
            #expect(created["uuid"] as? String != "00000000-0000-4000-8000-000000000000")
            #expect(created["enablePuaDetection"] as? Bool == true)
            #expect(created["enableCloudScannerFeedback"] as? Bool == false)
            #expect(created["operatingSystemFamilyId"] as? String == "3")
            #expect(created["usable"] as? Bool == true)
            #expect((created["installedComponents"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == ["13", "231"])
            #expect(await sandbox.installers().count == 9)
        }
    }

    /// `"enablePuaDetection": "true"` used to be stored as false: a bool now arrives as it is.
    @Test func boolsAreStoredAsSent() async throws {
        try await withSandbox { sandbox, client in
            for flag in [true, false] {
                let answer = try await post(Self.body([
                    "enablePuaDetection": "\(flag)", "enableCloudScannerFeedback": "\(!flag)", "sendAnonymousDiagnosticData": "\(flag)",
                ]), client)
                #expect(answer.status == 200)
            }
            let stored = await sandbox.installers()
            #expect(stored.map(\.enablePuaDetection) == [true, false])
            #expect(stored.map(\.enableCloudScannerFeedback) == [false, true])
            #expect(stored.map(\.sendAnonymousDiagnosticData) == [true, false])
        }
    }

    @Test(arguments: [
        (#"{"installer":{"displayName":"A","displayName":"B","operatingSystemFamilyId":1}}"#, "duplicate field installer.displayName"),
        (#"{"installer":{"displayName":"A","operatingSystemFamilyId":1},}"#, "syntax error (line 1:62)"),
        (#"{"installer":{"displayName":"A","operatingSystemFamilyId":01}}"#, "syntax error"),
        (#"{"installer":{"displayName":"A","operatingSystemFamilyId":truex}}"#, "syntax error"),
        (#"{"installer":{"displayName":'A'}}"#, "syntax error"),
        (#"{"installer":{"displayName":"A"}} {}"#, "after the top-level value"),
        (#"{"installer":{"displayName":"A\x"}}"#, "invalid escape"),
        (#"["installer"]"#, "the request body must be a JSON object"),
        ("", "installer: required"),
        ("  \n", "installer: required"),
        ("{}", "installer: required"),
        (#"{"installer":null}"#, "installer: required"),
    ])
    func malformedBodiesAre400(body: String, mentions: String) async throws {
        try await withSandbox { sandbox, client in
            let answer = try await post(body, client)
            #expect(answer.status == 400)
            #expect(answer.object?["code"] as? Int == 3)
            let message = try #require(answer.object?["message"] as? String)
            #expect(message.contains(mentions), "\(message)")
            #expect(await sandbox.installers(includeDeleted: true).isEmpty)
        }
    }

    @Test func invalidUTF8InAStringIsRefused() async throws {
        try await withSandbox { _, client in
            var body = Data(#"{"installer":{"displayName":""#.utf8)
            body.append(contentsOf: [0xC3, 0x28])
            body.append(contentsOf: Array(#"","operatingSystemFamilyId":1}}"#.utf8))
            let answer = try await client.send("POST", "/v1/installers", token: try await client.accessToken(), body: body,
                                               contentType: "application/json")
            #expect(answer.status == 400)
            #expect((answer.object?["message"] as? String)?.contains("invalid UTF-8") == true)
        }
    }

    @Test func wholeNumbersFollowProto3() {
        #expect(JSONNode.wholeNumber("13") == 13)
        #expect(JSONNode.wholeNumber("-0") == 0)
        #expect(JSONNode.wholeNumber("1.0") == 1)
        #expect(JSONNode.wholeNumber("1e2") == 100)
        #expect(JSONNode.wholeNumber("1.5e1") == 15)
        #expect(JSONNode.wholeNumber("1500e-2") == 15)
        #expect(JSONNode.wholeNumber("9223372036854775807") == Int64.max)
        #expect(JSONNode.wholeNumber("-9223372036854775808") == Int64.min)
        #expect(JSONNode.wholeNumber("9223372036854775808") == nil)
        #expect(JSONNode.wholeNumber("1.5") == nil)
        #expect(JSONNode.wholeNumber("15e-1") == nil)
        #expect(JSONNode.wholeNumber("1e400") == nil)
        #expect(JSONNode.wholeNumber("0e400") == 0)
    }
}
