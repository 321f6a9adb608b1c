import Testing
@testable import InstallerLedger

@Suite struct TimestampTests {
    @Test(arguments: [
        ("2026-05-01T12:00:00Z", "2026-05-01T12:00:00Z"),
        ("2026-05-01T12:00:00.5Z", "2026-05-01T12:00:00.500Z"),
        ("2026-05-01T12:00:00.123456789Z", "2026-05-01T12:00:00.123456789Z"),
        ("2026-05-01T12:00:00.123456Z", "2026-05-01T12:00:00.123456Z"),
        ("2026-05-01T14:30:00+02:30", "2026-05-01T12:00:00Z"),
        ("2026-05-01T00:00:00-05:00", "2026-05-01T05:00:00Z"),
        ("2026-05-01t12:00:00z", "2026-05-01T12:00:00Z"),
        ("1970-01-01T00:00:00Z", "1970-01-01T00:00:00Z"),
        ("1969-12-31T23:59:59.9Z", "1969-12-31T23:59:59.900Z"),
        ("2024-02-29T00:00:00Z", "2024-02-29T00:00:00Z"),
    ])
    func parsesAndFormatsRFC3339(input: String, expected: String) throws {
        #expect(try Timestamp(rfc3339: input).rfc3339 == expected)
    }

    @Test(arguments: ["string", "", "2026-05-01", "2026-05-01T12:00:00", "2026-13-01T00:00:00Z", "2025-02-29T00:00:00Z",
                      "2026-05-01T24:00:00Z", "2026-05-01T12:00:00.Z", "2026-05-01T12:00:00.1234567890Z",
                      "2026-05-01T12:00:00+0200", "9999-01-01T00:00:00Z", "1000-01-01T00:00:00Z", "2026-05-01T12:00:00Z "])
    func rejectsInvalid(input: String) {
        #expect(throws: Timestamp.ParseError.self) { try Timestamp(rfc3339: input) }
    }

    @Test func sortsLikeTime() throws {
        let a = try Timestamp(rfc3339: "2026-05-01T12:00:00+02:00")
        let b = try Timestamp(rfc3339: "2026-05-01T11:00:00Z")
        #expect(a < b)
    }

    @Test func commandLineDates() throws {
        #expect(try Timestamp(commandLine: "2026-03-31").rfc3339 == "2026-03-31T00:00:00Z")
        #expect(throws: Timestamp.ParseError.self) { try Timestamp(commandLine: "31.03.2026") }
    }

    @Test func sixMonthsLater() throws {
        #expect(try Timestamp(rfc3339: "2026-08-31T10:00:00Z").addingMonths(6).rfc3339 == "2027-02-28T10:00:00Z")
        #expect(try Timestamp(rfc3339: "2026-06-05T08:14:07Z").addingMonths(6).rfc3339 == "2026-12-05T08:14:07Z")
    }

    @Test(arguments: [("90m", Int64(5400)), ("12h", 43200), ("30d", 2_592_000), ("2w", 1_209_600), ("45s", 45)])
    func durations(text: String, seconds: Int64) {
        #expect(LedgerDuration(parsing: text)?.nanoseconds == seconds * 1_000_000_000)
        #expect(LedgerDuration(parsing: text)?.description == text)
    }

    @Test(arguments: ["", "30", "d", "-1d", "1.5h", "30 d", "3y", "99999999999999999w"])
    func badDurations(text: String) {
        #expect(LedgerDuration(parsing: text) == nil)
    }

    @Test func sha256KnownVectors() {
        #expect(SHA256.hex(Array("".utf8)) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let long = Array(String(repeating: "a", count: 1_000_000).utf8)
        var h = SHA256()
        h.update(long[0..<333_333]); h.update(long[333_333...])
        #expect(h.finalizeHex() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }
}
