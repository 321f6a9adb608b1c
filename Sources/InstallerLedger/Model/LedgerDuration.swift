/// A length of time given on the command line: `90m`, `12h`, `30d`, `2w` (also `45s`).
public struct LedgerDuration: Hashable, Sendable, CustomStringConvertible {
    /// The length in nanoseconds.
    public var nanoseconds: Int64

    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

    /// A duration of whole seconds.
    public static func seconds(_ s: Int64) -> LedgerDuration { LedgerDuration(nanoseconds: s * 1_000_000_000) }
    /// A duration of whole days.
    public static func days(_ d: Int64) -> LedgerDuration { .seconds(d * 86_400) }
    /// A duration of whole hours.
    public static func hours(_ h: Int64) -> LedgerDuration { .seconds(h * 3600) }

    /// What a duration looks like, for usage errors.
    public static let accepted = "a number followed by s, m, h, d or w, e.g. 90m, 12h, 30d, 2w"

    /// Parses `<number><unit>`; `nil` when the text is not a duration.
    public init?(parsing text: String) {
        guard let unit = text.last, text.count >= 2,
              let value = Int64(text.dropLast()), value >= 0 else { return nil }
        let factor: Int64
        switch unit {
        case "s": factor = 1
        case "m": factor = 60
        case "h": factor = 3600
        case "d": factor = 86_400
        case "w": factor = 604_800
        default: return nil
        }
        let (secs, o1) = value.multipliedReportingOverflow(by: factor)
        let (ns, o2) = secs.multipliedReportingOverflow(by: 1_000_000_000)
        guard !o1, !o2 else { return nil }
        self.nanoseconds = ns
    }

    /// The shortest exact form: `30d`, `12h`, `90m`.
    public var description: String {
        let s = nanoseconds / 1_000_000_000
        for (unit, f) in [("w", Int64(604_800)), ("d", 86_400), ("h", 3600), ("m", 60)] where s != 0 && s % f == 0 {
            return "\(s / f)\(unit)"
        }
        return "\(s)s"
    }
}
