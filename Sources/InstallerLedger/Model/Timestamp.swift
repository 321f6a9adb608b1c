/// A UTC instant with nanosecond precision, stored in the ledger as an integer count of
/// nanoseconds since 1970-01-01T00:00:00Z so that it sorts and compares correctly in SQL.
///
/// The representable range is 1677-09-21 to 2262-04-11; anything outside is rejected as
/// out of range when parsed.
public struct Timestamp: Hashable, Comparable, Sendable {
    /// Nanoseconds since the Unix epoch.
    public var nanoseconds: Int64

    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

    /// An instant from whole seconds since the Unix epoch.
    public init(seconds: Int64) { self.nanoseconds = seconds * 1_000_000_000 }

    public static func < (a: Timestamp, b: Timestamp) -> Bool { a.nanoseconds < b.nanoseconds }

    /// Whole seconds since the epoch, rounded down.
    public var seconds: Int64 {
        nanoseconds >= 0 ? nanoseconds / 1_000_000_000 : (nanoseconds - 999_999_999) / 1_000_000_000
    }

    /// This instant moved by a duration, saturating at the representable range.
    public func adding(_ duration: LedgerDuration) -> Timestamp {
        let (sum, overflow) = nanoseconds.addingReportingOverflow(duration.nanoseconds)
        if overflow { return Timestamp(nanoseconds: duration.nanoseconds > 0 ? .max : .min) }
        return Timestamp(nanoseconds: sum)
    }

    /// This instant moved back by a duration.
    public func subtracting(_ duration: LedgerDuration) -> Timestamp {
        adding(LedgerDuration(nanoseconds: -duration.nanoseconds))
    }
}

// MARK: - RFC 3339

extension Timestamp {
    /// Why a text is not a timestamp.
    public enum ParseError: Error, Equatable, CustomStringConvertible {
        /// The text does not have the RFC 3339 shape.
        case malformed
        /// A field is outside its calendar range, or the instant outside 1677–2262.
        case outOfRange

        public var description: String {
            switch self {
            case .malformed: "not an RFC 3339 timestamp (expected e.g. 2026-05-01T12:00:00Z)"
            case .outOfRange: "a timestamp out of range (years 1677–2262, valid calendar fields)"
            }
        }
    }

    /// Parses RFC 3339 (`2026-05-01T12:00:00Z`, 0–9 fractional digits, `Z` or `±HH:MM`).
    /// - Throws: `ParseError` naming what is wrong.
    public init(rfc3339 text: some StringProtocol) throws(ParseError) {
        var bytes = Array(text.utf8)
        // Tolerate lower-case separators, which RFC 3339 allows.
        for i in bytes.indices where bytes[i] == UInt8(ascii: "t") || bytes[i] == UInt8(ascii: "z") {
            bytes[i] -= 32
        }
        guard bytes.count >= 20 else { throw .malformed }
        func digits(_ start: Int, _ count: Int) throws(ParseError) -> Int64 {
            var value: Int64 = 0
            for i in start..<(start + count) {
                let b = bytes[i]
                guard b >= 0x30, b <= 0x39 else { throw .malformed }
                value = value * 10 + Int64(b - 0x30)
            }
            return value
        }
        func expect(_ i: Int, _ c: Character) throws(ParseError) {
            guard i < bytes.count, bytes[i] == c.asciiValue! else { throw .malformed }
        }
        let year = try digits(0, 4)
        try expect(4, "-")
        let month = try digits(5, 2)
        try expect(7, "-")
        let day = try digits(8, 2)
        guard bytes[10] == UInt8(ascii: "T") || bytes[10] == UInt8(ascii: " ") else { throw .malformed }
        let hour = try digits(11, 2)
        try expect(13, ":")
        let minute = try digits(14, 2)
        try expect(16, ":")
        let second = try digits(17, 2)
        var i = 19
        var nanos: Int64 = 0
        if bytes[i] == UInt8(ascii: ".") {
            i += 1
            var count = 0
            while i < bytes.count, bytes[i] >= 0x30, bytes[i] <= 0x39 {
                guard count < 9 else { throw .malformed }
                nanos = nanos * 10 + Int64(bytes[i] - 0x30)
                count += 1
                i += 1
            }
            guard count > 0 else { throw .malformed }
            for _ in count..<9 { nanos *= 10 }
        }
        guard i < bytes.count else { throw .malformed }
        var offsetSeconds: Int64 = 0
        if bytes[i] == UInt8(ascii: "Z") {
            i += 1
        } else if bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") {
            let sign: Int64 = bytes[i] == UInt8(ascii: "+") ? 1 : -1
            guard bytes.count == i + 6 else { throw .malformed }
            let oh = try digits(i + 1, 2)
            try expect(i + 3, ":")
            let om = try digits(i + 4, 2)
            guard oh < 24, om < 60 else { throw .outOfRange }
            offsetSeconds = sign * (oh * 3600 + om * 60)
            i += 6
        } else {
            throw .malformed
        }
        guard i == bytes.count else { throw .malformed }
        guard (1...12).contains(month), day >= 1, day <= Self.daysIn(month: month, year: year),
              hour < 24, minute < 60, second < 60 else { throw .outOfRange }
        let days = Self.daysFromCivil(year: year, month: month, day: day)
        let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds
        let (scaled, o1) = secs.multipliedReportingOverflow(by: 1_000_000_000)
        let (total, o2) = scaled.addingReportingOverflow(nanos)
        guard !o1, !o2 else { throw .outOfRange }
        self.nanoseconds = total
    }

    /// Parses a command-line date: `2026-05-01` (midnight UTC) or an RFC 3339 timestamp.
    public init(commandLine text: String) throws(ParseError) {
        if text.utf8.count == 10 {
            try self.init(rfc3339: text + "T00:00:00Z")
        } else {
            try self.init(rfc3339: text)
        }
    }

    /// RFC 3339 in UTC with `Z`; fractional digits only when present (3, 6 or 9 of them).
    public var rfc3339: String {
        var out = [UInt8]()
        out.reserveCapacity(30)
        appendRFC3339(to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends `rfc3339`'s bytes without allocating (exports format millions of them).
    public func appendRFC3339(to out: inout [UInt8]) {
        var secs = nanoseconds / 1_000_000_000
        var nanos = nanoseconds % 1_000_000_000
        if nanos < 0 { nanos += 1_000_000_000; secs -= 1 }
        var days = secs / 86_400
        var rem = secs % 86_400
        if rem < 0 { rem += 86_400; days -= 1 }
        let (y, m, d) = Self.civilFromDays(days)
        @inline(__always) func put(_ v: Int64, _ width: Int) {
            var divisor: Int64 = 1
            for _ in 1..<width { divisor &*= 10 }
            var x = v
            while divisor > 0 { out.append(UInt8(truncatingIfNeeded: 0x30 &+ x / divisor % 10)); x %= divisor; divisor /= 10 }
        }
        put(y, 4); out.append(UInt8(ascii: "-")); put(m, 2); out.append(UInt8(ascii: "-")); put(d, 2)
        out.append(UInt8(ascii: "T"))
        put(rem / 3600, 2); out.append(UInt8(ascii: ":")); put(rem / 60 % 60, 2); out.append(UInt8(ascii: ":")); put(rem % 60, 2)
        if nanos != 0 {
            out.append(UInt8(ascii: "."))
            if nanos % 1_000_000 == 0 { put(nanos / 1_000_000, 3) }
            else if nanos % 1000 == 0 { put(nanos / 1000, 6) }
            else { put(nanos, 9) }
        }
        out.append(UInt8(ascii: "Z"))
    }

    /// The calendar date in UTC, `YYYY-MM-DD`.
    public var dateString: String { String(rfc3339.prefix(10)) }

    static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    // Howard Hinnant's days_from_civil / civil_from_days.
    static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civilFromDays(_ z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    /// This instant plus whole calendar months (day clamped to the month's length), as
    /// ESET computes the six-month expiry.
    public func addingMonths(_ months: Int64) -> Timestamp {
        let secsPerDay: Int64 = 86_400
        var days = nanoseconds / 1_000_000_000 / secsPerDay
        var rem = nanoseconds - days * secsPerDay * 1_000_000_000
        if rem < 0 { rem += secsPerDay * 1_000_000_000; days -= 1 }
        let (y, m, d) = Self.civilFromDays(days)
        let total = y * 12 + (m - 1) + months
        let ny = total / 12, nm = total % 12 + 1
        let nd = min(d, Self.daysIn(month: nm, year: ny))
        return Timestamp(nanoseconds: Self.daysFromCivil(year: ny, month: nm, day: nd) * secsPerDay * 1_000_000_000 + rem)
    }
}

#if canImport(Foundation)
import Foundation

extension Timestamp {
    /// The current instant from the system clock.
    public static func now() -> Timestamp {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Timestamp(nanoseconds: Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec))
    }

    /// The same instant as a Foundation `Date` (microsecond precision).
    public var date: Date { Date(timeIntervalSince1970: Double(nanoseconds) / 1e9) }
}
#endif

// MARK: - Day counting

extension Timestamp {
    /// Whole days from this instant to `date`, rounded towards the past (negative once
    /// `date` is past): how `list` and `report` count days left.
    public func wholeDays(to date: Timestamp) -> Int64 {
        let diff = date.nanoseconds - nanoseconds
        let day: Int64 = 86_400_000_000_000
        return diff >= 0 ? diff / day : -((-diff + day - 1) / day)
    }
}
