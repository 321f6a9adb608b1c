import GRDB

/// The formats `report` writes.
public enum ReportFormat: String, Sendable, CaseIterable {
    case text, json, csv, markdown, prometheus, html
}

/// What a report run produced: the report (always, UNKNOWN when the ledger could not be
/// read) and the problems met on the way, for stderr.
public struct ReportOutcome: Sendable {
    public var report: ExpiryReport
    /// Why the ledger could not be read (the report is then UNKNOWN).
    public var ledgerProblem: String?
}

/// Makes the nightly report from a ledger file: opens it without ever creating it, reads
/// one snapshot and builds the report. It writes nothing: the verdict is a function of the
/// ledger's state, the time and the thresholds alone.
public struct ExpiryReporter: Sendable {
    public var ledgerPath: String
    public var thresholds: ReportThresholds
    public var format: ReportFormat
    public var now: Timestamp
    /// The accounts to report on (by name); empty: every account that is not archived.
    public var accounts: [String]
    /// Prometheus: read every usable installer for the per-installer gauges.
    public var perInstaller = false

    public init(ledgerPath: String, thresholds: ReportThresholds = ReportThresholds(), format: ReportFormat = .text, now: Timestamp,
                accounts: [String] = []) {
        self.accounts = accounts
        self.ledgerPath = ledgerPath
        self.thresholds = thresholds
        self.format = format
        self.now = now
    }

    /// Never throws: a ledger that cannot be opened or read gives an UNKNOWN report.
    public func run() -> ReportOutcome {
        let snapshot: ReportSnapshot
        do {
            let ledger = try Ledger.openExisting(path: ledgerPath)
            let scope = try ledger.scope(named: accounts)
            snapshot = try ledger.reportSnapshot(thresholds: thresholds, format: format.rawValue, at: now,
                                                 includeUsable: format == .prometheus && perInstaller, scope: scope,
                                                 listLimit: Self.listLimit(format))
        } catch {
            let reason = Self.describe(error, path: ledgerPath)
            let short = (error as? ReportError).map { _ in "no ledger at \(ledgerPath)" } ?? "cannot read the ledger"
            return ReportOutcome(report: .unavailable(reason: reason, short: short, thresholds: thresholds, now: now),
                                 ledgerProblem: reason)
        }
        return ReportOutcome(report: ExpiryReport.make(snapshot: snapshot, thresholds: thresholds, now: now))
    }

    /// How many installers of each section a format shows: the text and HTML formats (read
    /// by people) the first ``ReportRendering/textRowsShown``, Prometheus none (it counts
    /// them), the others every one.
    static func listLimit(_ format: ReportFormat) -> Int? {
        switch format {
        case .text, .html: ReportRendering.textRowsShown
        case .prometheus: 0
        case .json, .csv, .markdown: nil
        }
    }

    static func describe(_ error: any Error, path: String) -> String {
        switch error {
        case let e as any ClassifiedError: return e.description
        case let e as DatabaseError: return "cannot read the ledger \(path): \(DatabaseFailure(e).description)"
        default: return "cannot read the ledger \(path): \(String(describing: error).replacingOccurrences(of: "\n", with: " "))"
        }
    }
}
