import GRDB

/// The formats `report` writes.
public enum ReportFormat: String, Sendable, CaseIterable {
    case text, json, csv, markdown, prometheus
}

/// What a report run produced: the report (always, UNKNOWN when the ledger could not be
/// read) and the problems met on the way, for stderr.
public struct ReportOutcome: Sendable {
    public var report: ExpiryReport
    /// Why the ledger could not be read (the report is then UNKNOWN).
    public var ledgerProblem: String?
    /// Why the run could not be recorded; the verdict does not change because of it.
    public var recordingProblem: String?
}

/// Makes the nightly report from a ledger file: opens it without ever creating it, reads
/// one snapshot, builds the report, and records the run.
public struct ExpiryReporter: Sendable {
    public var ledgerPath: String
    public var thresholds: ReportThresholds
    public var format: ReportFormat
    public var now: Timestamp
    /// The accounts to report on (by name); empty: every account that is not archived.
    public var accounts: [String]

    public init(ledgerPath: String, thresholds: ReportThresholds = ReportThresholds(), format: ReportFormat = .text, now: Timestamp,
                accounts: [String] = []) {
        self.accounts = accounts
        self.ledgerPath = ledgerPath
        self.thresholds = thresholds
        self.format = format
        self.now = now
    }

    /// Never throws: a ledger that cannot be opened or read gives an UNKNOWN report, and a
    /// run that cannot be recorded keeps its verdict.
    public func run() -> ReportOutcome {
        let ledger: Ledger
        let snapshot: ReportSnapshot
        let scope: AccountScope
        do {
            ledger = try Ledger.openExisting(path: ledgerPath)
            scope = try ledger.scope(named: accounts)
            snapshot = try ledger.reportSnapshot(thresholds: thresholds, format: format.rawValue, at: now,
                                                 includeUsable: format == .prometheus, scope: scope)
        } catch {
            let reason = Self.describe(error, path: ledgerPath)
            return ReportOutcome(report: .unavailable(reason: reason, thresholds: thresholds, now: now),
                                 ledgerProblem: reason)
        }
        let report = ExpiryReport.make(snapshot: snapshot, thresholds: thresholds, now: now)
        return ReportOutcome(report: report, recordingProblem: record(report, in: ledger, scope: scope))
    }

    /// Records the run; the problem as a sentence when that fails.
    func record(_ report: ExpiryReport, in ledger: Ledger, scope: AccountScope) -> String? {
        do {
            try ledger.recordReport(report, format: format.rawValue, scope: scope)
            return nil
        } catch {
            return "this report run could not be recorded (\(Self.describe(error, path: ledgerPath))); the verdict stands, but the next report will count expiries since the last recorded one"
        }
    }

    static func describe(_ error: any Error, path: String) -> String {
        switch error {
        case let e as ReportError: return e.description
        case let e as LedgerError: return e.description
        case let e as AccountError: return e.description
        case let e as DatabaseError: return "cannot read the ledger \(path): \(DatabaseFailure(e).description)"
        default: return "cannot read the ledger \(path): \(String(describing: error).replacingOccurrences(of: "\n", with: " "))"
        }
    }
}
