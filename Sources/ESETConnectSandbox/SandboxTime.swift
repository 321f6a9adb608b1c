import Foundation

/// Timestamps as integer microseconds since 1970 (exact, cheap to compare), with RFC 3339
/// formatting and calendar-month arithmetic in UTC.
enum SandboxTime {
    static func micros(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
    }

    static func date(_ micros: Int64) -> Date {
        Date(timeIntervalSince1970: Double(micros) / 1_000_000)
    }

    /// `micros` plus `months` calendar months, the day clamped to the target month (31 Aug + 6 = 28/29 Feb).
    static func adding(months: Int, to micros: Int64) -> Int64 {
        let (days, timeOfDay) = split(micros)
        let (y, m, d) = civil(fromDays: days)
        let total = Int(y) * 12 + (m - 1) + months
        let year = Int64(total.floorDiv(12)), month = total.floorMod(12) + 1
        let day = min(d, daysIn(month: month, year: year))
        return SandboxTime.days(year: year, month: month, day: day) * 86_400_000_000 + timeOfDay
    }

    /// RFC 3339 in UTC: `2026-01-31T08:15:02.123Z`, with 3 or 6 fractional digits (none when whole).
    static func format(_ micros: Int64) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(27)
        append(micros, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends the quoted-free RFC 3339 form of `micros` to `bytes`.
    static func append(_ micros: Int64, to bytes: inout [UInt8]) {
        let (days, timeOfDay) = split(micros)
        let (y, m, d) = civil(fromDays: days)
        let seconds = Int(timeOfDay / 1_000_000), fraction = Int(timeOfDay % 1_000_000)
        digits(Int(y), 4, &bytes); bytes.append(UInt8(ascii: "-"))
        digits(m, 2, &bytes); bytes.append(UInt8(ascii: "-"))
        digits(d, 2, &bytes); bytes.append(UInt8(ascii: "T"))
        digits(seconds / 3600, 2, &bytes); bytes.append(UInt8(ascii: ":"))
        digits(seconds / 60 % 60, 2, &bytes); bytes.append(UInt8(ascii: ":"))
        digits(seconds % 60, 2, &bytes)
        if fraction != 0 {
            bytes.append(UInt8(ascii: "."))
            if fraction % 1000 == 0 { digits(fraction / 1000, 3, &bytes) } else { digits(fraction, 6, &bytes) }
        }
        bytes.append(UInt8(ascii: "Z"))
    }

    private static func digits(_ value: Int, _ width: Int, _ bytes: inout [UInt8]) {
        var divisor = 1
        for _ in 1..<width { divisor *= 10 }
        var value = value
        while divisor > 0 {
            bytes.append(UInt8(ascii: "0") + UInt8(value / divisor % 10))
            value %= divisor
            divisor /= 10
        }
    }

    private static func split(_ micros: Int64) -> (days: Int64, timeOfDay: Int64) {
        let perDay: Int64 = 86_400_000_000
        let days = micros >= 0 ? micros / perDay : (micros - perDay + 1) / perDay
        return (days, micros - days * perDay)
    }

    private static func daysIn(month: Int, year: Int64) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    // Howard Hinnant's civil calendar algorithms (proleptic Gregorian).
    private static func civil(fromDays z: Int64) -> (year: Int64, month: Int, day: Int) {
        let z = z + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = Int(doy - (153 * mp + 2) / 5 + 1)
        let month = Int(mp < 10 ? mp + 3 : mp - 9)
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    private static func days(year: Int64, month: Int, day: Int) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = Int64((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1)
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}

private extension Int {
    func floorDiv(_ d: Int) -> Int { self >= 0 ? self / d : (self - d + 1) / d }
    func floorMod(_ d: Int) -> Int { self - floorDiv(d) * d }
}

/// SplitMix64: a small, fast generator whose output depends only on its seed.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension RandomNumberGenerator {
    /// A random RFC 4122 version-4 UUID in lowercase.
    mutating func uuidString() -> String {
        var bytes = [UInt8](repeating: 0, count: 16)
        let a = next(), b = next()
        for i in 0..<8 { bytes[i] = UInt8(truncatingIfNeeded: a >> (8 * UInt64(i))) }
        for i in 0..<8 { bytes[8 + i] = UInt8(truncatingIfNeeded: b >> (8 * UInt64(i))) }
        bytes[6] = bytes[6] & 0x0F | 0x40
        bytes[8] = bytes[8] & 0x3F | 0x80
        var out: [UInt8] = []
        out.reserveCapacity(36)
        for (i, byte) in bytes.enumerated() {
            if i == 4 || i == 6 || i == 8 || i == 10 { out.append(UInt8(ascii: "-")) }
            out.append(hexDigits[Int(byte >> 4)])
            out.append(hexDigits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `count` random lowercase hex digits.
    mutating func hexString(count: Int) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(count)
        var word = next(), left = 16
        for _ in 0..<count {
            if left == 0 { word = next(); left = 16 }
            out.append(hexDigits[Int(word & 0x0F)])
            word >>= 4
            left -= 1
        }
        return String(decoding: out, as: UTF8.self)
    }
}

private let hexDigits = Array("0123456789abcdef".utf8)
