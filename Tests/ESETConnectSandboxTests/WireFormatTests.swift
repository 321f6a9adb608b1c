import Foundation
import Testing
@testable import ESETConnectSandbox

@Suite struct WireFormatTests {
    private func micros(_ text: String) throws -> Int64 {
        SandboxTime.micros(try #require(parseTimestamp(text)))
    }

    @Test(arguments: [
        ("2026-01-15T10:00:00Z", "2026-07-15T10:00:00Z"),
        ("2025-08-31T23:59:59.5Z", "2026-02-28T23:59:59.500Z"),
        ("2027-08-31T12:00:00Z", "2028-02-29T12:00:00Z"),
        ("2026-12-31T00:00:00.25Z", "2027-06-30T00:00:00.250Z"),
    ])
    func sixCalendarMonthsLater(created: String, expected: String) throws {
        #expect(SandboxTime.format(SandboxTime.adding(months: 6, to: try micros(created))) == expected)
    }

    @Test func timestampsAreRFC3339WithFractionsInUTC() {
        #expect(SandboxTime.format(0) == "1970-01-01T00:00:00Z")
        #expect(SandboxTime.format(1_767_225_600_123_000) == "2026-01-01T00:00:00.123Z")
        #expect(SandboxTime.format(1_767_225_600_123_456) == "2026-01-01T00:00:00.123456Z")
    }

    @Test func pageTokensRoundTripAndRejectForgeries() {
        let key = PageKey(createMicros: 1_767_225_600_123_456, uuid: "6bade8d2-797b-496b-b612-494c1ba35fcd")
        #expect(key.token.count <= 128)
        #expect(PageKey(token: key.token) == key)
        #expect(PageKey(token: "p1.!!!") == nil)
        #expect(PageKey(token: "abc") == nil)
    }

    @Test func encodedInstallerIsValidJSONWithEscapedNames() throws {
        let encoder = WireEncoder(int64AsStrings: true, omitDefaultValues: true, includeUnknownFields: true)
        var rng = SeededGenerator(seed: 1)
        var record = InstallerGenerator.make(
            InstallerRequest(displayName: "Sales, \"EMEA\"\n\\ tab\t", operatingSystemFamilyId: 1, preferredLanguageCode: "en-us",
                             groupIndex: nil, enableCloudScannerFeedback: false, enablePuaDetection: true,
                             sendAnonymousDiagnosticData: false, componentIds: []),
            nowMicros: 1_767_225_600_000_000, using: &rng)
        record.encodedPrefix = encoder.encodePrefix(record)
        let object = try #require(try JSONSerialization.jsonObject(with: encoder.installerEnvelope(record, usable: false)) as? [String: Any])
        let installer = try #require(object["installer"] as? [String: Any])
        #expect(installer["displayName"] as? String == "Sales, \"EMEA\"\n\\ tab\t")
        #expect(installer["usable"] == nil)                       // default values omitted
        #expect(installer["enableCloudScannerFeedback"] == nil)
        #expect(installer["enablePuaDetection"] as? Bool == true)
        #expect((installer["deviceEnrollment"] as? [String: Any])?["securityGroupUuid"] == nil)
        #expect(installer["sandboxUndocumentedField"] != nil)
    }
}
