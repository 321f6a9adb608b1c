import Testing
@testable import InstallerLedger

@Suite struct DecodingTests {
    func decode(_ text: String) throws -> [Installer] {
        var out = [Installer]()
        let bytes = Array(text.utf8)
        try bytes.withUnsafeBufferPointer { buffer in
            try JSONParser.forEachValue(in: bytes) { value, _ in
                try InstallerAnswer.forEachInstaller(in: value, source: buffer) { out.append($0.installer) }
            }
        }
        return out
    }

    func problem(_ text: String) -> String {
        do {
            _ = try decode(text)
            return "no error"
        } catch {
            return "\(error)"
        }
    }

    @Test func realisticGetAnswerWithStringInt64s() throws {
        let installers = try decode("""
            {"installer": {"uuid": "0f1e2d3c-4b5a-4678-9abc-def012345678", "displayName": "Vienna PCs",
              "operatingSystemFamilyId": "1", "preferredLanguageCode": "de-de",
              "deviceEnrollment": {"securityGroupUuid": "5e0c3c43-0000-4000-8000-000000000001", "groupDisplayName": "Branch Vienna"},
              "enableCloudScannerFeedback": true, "downloadUrl": "https://download.example.invalid/x",
              "createTime": "2026-11-20T09:14:07.482915Z", "expireTime": "2027-05-20T09:14:07.482915Z", "usable": true,
              "activatedProducts": [{"poolUuid": "p", "poolDisplayName": "MSP pool", "productId": "9007199254740993",
                 "productDisplayName": "ESET PROTECT Entry", "subscriptionUuid": "s", "subscriptionSupportCode": "3AB-4CD-5EF"}],
              "installedComponents": [{"displayName": "ESET Management Agent", "id": 13, "name": "agent"}],
              "someFutureField": {"nested": [1, 2, 3]}}}
            """)
        let i = try #require(installers.first)
        #expect(i.operatingSystemFamilyId == 1)
        #expect(i.activatedProducts[0].productId == 9_007_199_254_740_993)
        #expect(i.installedComponents == [InstalledComponent(id: 13, name: "agent", displayName: "ESET Management Agent")])
        #expect(i.createTime?.rfc3339 == "2026-11-20T09:14:07.482915Z")
        #expect(i.enablePuaDetection == false)  // omitted → default
        #expect(i.deviceEnrollment.groupDisplayName == "Branch Vienna")
    }

    @Test func omittedFieldsDefault() throws {
        let i = try #require(try decode(#"{"uuid": "abc"}"#).first)
        #expect(i == Installer(uuid: "abc"))
    }

    @Test func everyInputShape() throws {
        let a = Sample.installer(uuid: "a"), b = Sample.installer(uuid: "b"), c = Sample.installer(uuid: "c")
        let bare = JSONValue.object(a.jsonObject(includeDownloadUrl: true)).jsonText
        let list = #"{"installers": [\#(bare), \#(JSONValue.object(b.jsonObject(includeDownloadUrl: true)).jsonText)], "nextPageToken": "", "totalSize": 2}"#
        #expect(try decode(Sample.answer(a)).map(\.uuid) == ["a"])
        #expect(try decode(bare).map(\.uuid) == ["a"])
        #expect(try decode(list).map(\.uuid) == ["a", "b"])
        #expect(try decode("[\(Sample.answer(a)), \(list)]").map(\.uuid) == ["a", "a", "b"])
        #expect(try decode("\(Sample.answer(a))\n\(bare)\n\n\(Sample.answer(c))\n").map(\.uuid) == ["a", "a", "c"])
        #expect(try decode(Sample.answer(a)) == [a])
    }

    @Test func rawAnswerIsKeptVerbatim() throws {
        let text = #"{"installers": [ {"uuid": "x",  "futureField": 1} ]}"#
        let bytes = Array(text.utf8)
        var raws = [String]()
        try bytes.withUnsafeBufferPointer { buffer in
            try InstallerAnswer.forEachInstaller(in: JSONParser.parse(bytes), source: buffer) { raws.append($0.rawJSON) }
        }
        #expect(raws == [#"{"uuid": "x",  "futureField": 1}"#])
    }

    @Test(arguments: [
        (#"{"installer": {"uuid": "a", "createTime": "string"}}"#, "installer.createTime: \"string\" is not an RFC 3339 timestamp"),
        (#"{"installer": {"displayName": "no id"}}"#, "installer.uuid: is missing"),
        (#"{"installer": {"uuid": "a", "usable": "yes"}}"#, "installer.usable: expected true or false, found a string"),
        (#"{"installer": {"uuid": "a", "displayName": 5}}"#, "installer.displayName: expected a string, found a number"),
        (#"{"installers": [{"uuid": "a"}, {"uuid": "b", "activatedProducts": [{"productId": "twelve"}]}]}"#,
         "installers[1].activatedProducts[0].productId: expected an int64"),
        (#"{"installers": [{"uuid": "a"}, {"uuid": "b", "activatedProducts": [{"productId": 1.5}]}]}"#,
         "installers[1].activatedProducts[0].productId: expected an int64"),
        (#"{"uuid": "a", "installedComponents": {"id": 1}}"#, "installedComponents: expected an array, found an object"),
        (#"{"uuid": "a", "expireTime": "2026-02-30T00:00:00Z"}"#, "expireTime: \"2026-02-30T00:00:00Z\" is a timestamp out of range"),
        (#"{"uuid": "a", "displayName": "nul\u0000byte"}"#, "displayName: contains a NUL character"),
        (#"{"hello": "world"}"#, "not an installer answer"),
        (#"[1]"#, "[0]: expected an installer answer object, found a number"),
        (#"{"uuid": "a b"}"#, "uuid: is not an identifier"),
    ])
    func preciseMessages(input: String, expected: String) {
        #expect(problem(input).contains(expected), "\(problem(input))")
    }

    @Test(arguments: [
        (#"{"uuid": "a""#, "line 1, column 13: unexpected end of input inside an object"),
        ("{\"uuid\": \"a\", \"uuid\": \"b\"}", "duplicate key \"uuid\""),
        ("{\"uuid\": \"a\"}\n{\"uuid\": ", "line 2"),
        ("[" + String(repeating: "[", count: 100) + String(repeating: "]", count: 101), "nesting deeper than 64 levels"),
        ("{\"uuid\": \"a\u{1}\"}", "control character"),
        ("{\"uuid\": 01}", "leading zero"),
        ("{\"uuid\": \"\\ud800\"}", "unpaired UTF-16 surrogate"),
        ("{'uuid': 1}", "expected a quoted key"),
    ])
    func syntaxErrors(input: String, expected: String) {
        #expect(problem(input).contains(expected), "\(problem(input))")
    }

    @Test func invalidUTF8IsRejected() {
        let bytes: [UInt8] = Array(#"{"uuid": "a", "displayName": ""#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8)
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(bytes) }
    }

    @Test func escapesAndNonASCIISurvive() throws {
        let i = try #require(try decode(#"{"uuid": "a", "displayName": "Caf\u00e9 \"Ost\" \ud83d\ude00 – Zürich\n"}"#).first)
        #expect(i.displayName == "Café \"Ost\" 😀 – Zürich\n")
    }

    @Test func codableRoundTrip() throws {
        let i = Sample.installer(uuid: "r")
        let data = try JSONEncoderForTests.encode(i)
        let back = try JSONDecoderForTests.decode(Installer.self, from: data)
        #expect(back == i)
    }
}

import Foundation
enum JSONEncoderForTests { static func encode<T: Encodable>(_ v: T) throws -> Data { try JSONEncoder().encode(v) } }
enum JSONDecoderForTests { static func decode<T: Decodable>(_ t: T.Type, from d: Data) throws -> T { try JSONDecoder().decode(t, from: d) } }
