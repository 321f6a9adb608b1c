/// The verdict of a report, as monitoring plugins (Nagios, Icinga, Zabbix) read exit codes.
public enum ReportStatus: String, Sendable, Equatable, CaseIterable {
    case ok, warning, critical, unknown

    /// 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
    public var exitCode: Int32 {
        switch self {
        case .ok: 0
        case .warning: 1
        case .critical: 2
        case .unknown: 3
        }
    }

    /// `OK`, `WARNING`, `CRITICAL`, `UNKNOWN`.
    public var word: String { rawValue.uppercased() }

    /// The verdict of several checks: UNKNOWN as soon as one cannot tell ("cannot tell"
    /// must never read as fine, nor as expired), else the worst of them.
    public static func combined(_ statuses: [ReportStatus]) -> ReportStatus {
        if statuses.contains(.unknown) { return .unknown }
        if statuses.contains(.critical) { return .critical }
        if statuses.contains(.warning) { return .warning }
        return .ok
    }
}

/// The report's thresholds: `--warn`, `--critical`, `--max-sync-age`, `--expired-within`.
public struct ReportThresholds: Sendable, Equatable {
    /// Usable installers expiring within this are a WARNING (default 30d).
    public var warn: LedgerDuration
    /// Usable installers expiring within this are CRITICAL (default 7d).
    public var critical: LedgerDuration
    /// The last successful sync or reconcile may be this old before the report is UNKNOWN
    /// (default 26h); nil (`off`): freshness is not checked (a ledger fed by `import`).
    public var maxSyncAge: LedgerDuration?
    /// Installers that expired within this before now are CRITICAL news (default 26h, so a
    /// nightly run with a random delay never misses one between two runs).
    public var expiredWithin: LedgerDuration

    public init(warn: LedgerDuration = .days(30), critical: LedgerDuration = .days(7), maxSyncAge: LedgerDuration? = .hours(26),
                expiredWithin: LedgerDuration = .hours(26)) {
        self.warn = warn
        self.critical = critical
        self.maxSyncAge = maxSyncAge
        self.expiredWithin = expiredWithin
    }
}

/// One check that contributes to the verdict; every section that can raise the status
/// adds one, and the report's status is ``ReportStatus/combined(_:)`` of them all.
public struct ReportCheck: Sendable, Equatable {
    /// Stable identifier (`ledger`, `freshness`, `expired`, `critical`, `warning`, …).
    public var id: String
    public var status: ReportStatus
    /// A sentence for people, with the next step when it is not OK.
    public var message: String

    public init(id: String, status: ReportStatus, message: String) {
        self.id = id
        self.status = status
        self.message = message
    }
}

/// An installer as a report shows it: never its download URL.
public struct ReportInstaller: Sendable, Equatable {
    public var uuid: String
    public var displayName: String
    public var operatingSystem: String
    public var groupUuid: String
    public var groupName: String
    public var productIds: [Int64]
    public var productNames: [String]
    public var expireTime: Timestamp?
    public var status: InstallerStatus
    public var statusReason: String?
    /// The account (customer company) it belongs to.
    public var account: String

    public init(uuid: String, displayName: String, operatingSystem: String, groupUuid: String, groupName: String,
                productIds: [Int64], productNames: [String], expireTime: Timestamp?, status: InstallerStatus,
                statusReason: String?, account: String = "") {
        self.account = account
        self.uuid = uuid
        self.displayName = displayName
        self.operatingSystem = operatingSystem
        self.groupUuid = groupUuid
        self.groupName = groupName
        self.productIds = productIds
        self.productNames = productNames
        self.expireTime = expireTime
        self.status = status
        self.statusReason = statusReason
    }

    /// From the ledger's copy; the download URL is left behind.
    public init(_ e: LedgerInstaller) {
        let i = e.installer
        self.init(uuid: i.uuid, displayName: i.displayName, operatingSystem: OperatingSystemFamily.word(forId: i.operatingSystemFamilyId),
                  groupUuid: i.deviceEnrollment.securityGroupUuid, groupName: i.deviceEnrollment.groupDisplayName,
                  productIds: i.activatedProducts.map(\.productId), productNames: i.activatedProducts.map(\.productDisplayName),
                  expireTime: i.expireTime, status: e.status, statusReason: e.statusReason, account: e.account)
    }

    /// Whole days until expiry at `now`, negative once expired (as `list` counts them).
    public func daysLeft(at now: Timestamp) -> Int64? {
        guard let expiry = expireTime else { return nil }
        return now.wholeDays(to: expiry)
    }

    /// The group as people name it: its display name, else its uuid, else `(no group)`.
    public var groupLabel: String { ReportCoverage.label(name: groupName, key: groupUuid, none: "(no group)") }
}

/// How many usable installers one device group or product has, and until when.
public struct ReportCoverage: Sendable, Equatable {
    /// The group's uuid or the product's id (as text); empty for "no group".
    public var key: String
    public var name: String
    /// Usable installers not expired at the report's time.
    public var usable: Int
    /// The soonest expiry among them.
    public var nextExpiry: Timestamp?
    /// The latest expiry among them: covered until then without a new installer.
    public var coveredUntil: Timestamp?
    /// The account whose group or product it is.
    public var account: String

    public init(key: String, name: String, usable: Int, nextExpiry: Timestamp?, coveredUntil: Timestamp?, account: String = "") {
        self.account = account
        self.key = key
        self.name = name
        self.usable = usable
        self.nextExpiry = nextExpiry
        self.coveredUntil = coveredUntil
    }

    /// The name, else the key, else `none`.
    public var label: String { Self.label(name: name, key: key, none: "(no group)") }

    static func label(name: String, key: String, none: String) -> String {
        !name.isEmpty ? name : (!key.isEmpty ? key : none)
    }
}

/// Installers in the ledger by status.
public struct ReportCounts: Sendable, Equatable {
    public var usable = 0
    public var unusable = 0
    public var deleted = 0

    public init(usable: Int = 0, unusable: Int = 0, deleted: Int = 0) {
        self.usable = usable
        self.unusable = unusable
        self.deleted = deleted
    }
}

/// How many installers each listing section holds, in all and per account: the lists
/// themselves may be cut short (the text and HTML formats show the first 50 of each, so
/// their report reads no more than that).
public struct ReportSectionTotals: Sendable, Equatable {
    public struct Counts: Sendable, Equatable {
        public var expired = 0
        public var critical = 0
        public var warning = 0

        public init(expired: Int = 0, critical: Int = 0, warning: Int = 0) {
            self.expired = expired
            self.critical = critical
            self.warning = warning
        }
    }

    public var all = Counts()
    /// By account name.
    public var byAccount = [String: Counts]()

    public init(all: Counts = Counts(), byAccount: [String: Counts] = [:]) {
        self.all = all
        self.byAccount = byAccount
    }

    /// The totals of complete lists.
    init(expired: [ReportInstaller], critical: [ReportInstaller], warning: [ReportInstaller]) {
        all = Counts(expired: expired.count, critical: critical.count, warning: warning.count)
        for i in expired { byAccount[i.account, default: Counts()].expired += 1 }
        for i in critical { byAccount[i.account, default: Counts()].critical += 1 }
        for i in warning { byAccount[i.account, default: Counts()].warning += 1 }
    }
}

/// What the ledger holds for a report, read in one consistent snapshot by
/// ``Ledger/reportSnapshot(thresholds:format:at:includeUsable:scope:listLimit:)``.
public struct ReportSnapshot: Sendable, Equatable {
    /// The last successful sync, or reconcile that asked ESET, at or before now.
    public var lastRefresh: Timestamp?
    /// Installers whose expiry falls in (now - expired-within, now] and that were usable until then.
    public var expiredInWindow: [ReportInstaller]
    /// Usable installers expiring in (now, now + warn], soonest first.
    public var expiringWithinWarn: [ReportInstaller]
    public var byGroup: [ReportCoverage]
    public var byProduct: [ReportCoverage]
    public var counts: ReportCounts
    /// Every usable, not yet expired installer (only read for formats that list them all).
    public var usable: [ReportInstaller]?
    /// Groups and products without a usable installer at now + warn (`nil`: none known).
    public var coverageGaps: CoverageGaps?
    /// Each account in the report's scope with its last successful refresh (by name).
    public var accounts: [AccountRefresh] = []
    /// The sections' sizes when the lists were read cut short; nil: the lists are complete.
    public var totals: ReportSectionTotals?

    public init(lastRefresh: Timestamp? = nil, expiredInWindow: [ReportInstaller] = [],
                expiringWithinWarn: [ReportInstaller] = [], byGroup: [ReportCoverage] = [], byProduct: [ReportCoverage] = [],
                counts: ReportCounts = ReportCounts(), usable: [ReportInstaller]? = nil, coverageGaps: CoverageGaps? = nil) {
        self.lastRefresh = lastRefresh
        self.expiredInWindow = expiredInWindow
        self.expiringWithinWarn = expiringWithinWarn
        self.byGroup = byGroup
        self.byProduct = byProduct
        self.counts = counts
        self.usable = usable
        self.coverageGaps = coverageGaps
    }
}

/// An account of a report and when the ledger last learned what ESET has for it.
public struct AccountRefresh: Sendable, Equatable {
    public var account: String
    /// The end of its last successful sync, or reconcile that asked ESET; nil: never.
    public var lastRefresh: Timestamp?

    public init(account: String, lastRefresh: Timestamp?) {
        self.account = account
        self.lastRefresh = lastRefresh
    }
}

/// The nightly expiry report: its sections, the checks they raise, and the verdict.
///
/// Extending it: a new section (as coverage gaps) is a stored property filled in
/// ``make(snapshot:thresholds:now:)``, a ``ReportCheck`` appended to ``checks`` when it can
/// raise the status (the verdict is always combined from every check, never decided
/// ad hoc), and a block in each renderer; the JSON ``schemaVersion`` only changes when
/// existing keys change meaning or go away.
public struct ExpiryReport: Sendable, Equatable {
    /// Version of the JSON keys; adding keys keeps it, changing or removing them bumps it.
    /// 2: `recentlyExpired` (within `--expired-within`) replaced `expiredSincePreviousReport`,
    /// `previousReportAt` went away, `thresholds.maxSyncAge` may be `off`.
    public static let schemaVersion = 2

    public var generatedAt: Timestamp
    public var thresholds: ReportThresholds
    /// False when the ledger could not be read: the report is then UNKNOWN and empty.
    public var ledgerReadable: Bool
    public var lastRefresh: Timestamp?
    /// Where "recently expired" starts: now - `--expired-within`.
    public var windowStart: Timestamp
    /// Installers that expired within `--expired-within` and had no usable successor.
    public var recentlyExpired: [ReportInstaller]
    /// Usable installers expiring in (now, now + critical].
    public var critical: [ReportInstaller]
    /// Usable installers expiring in (now + critical, now + warn].
    public var warning: [ReportInstaller]
    /// How many each of those three sections holds (the lists may be cut short).
    public var totals: ReportSectionTotals
    public var byGroup: [ReportCoverage]
    public var byProduct: [ReportCoverage]
    public var counts: ReportCounts
    /// Every usable installer (for the Prometheus per-installer gauge), when read.
    public var usable: [ReportInstaller]?
    /// Device groups and products with no usable installer at now + warn (`at`), soonest gap
    /// first; those whose gap starts by now + critical are ``criticalGaps``.
    public var coverageGaps: CoverageGaps
    /// Every check, in the order they are shown; the verdict is combined from all of them.
    public var checks: [ReportCheck]
    /// The accounts the report covers, with their last refresh.
    public var accounts: [AccountRefresh] = []

    /// Whether rows name their account (the report covers more than one).
    public var namesAccounts: Bool { accounts.count > 1 }

    /// The verdict.
    public var status: ReportStatus { ReportStatus.combined(checks.map(\.status)) }

    /// The report for a snapshot of the ledger at `now`. Pure: no I/O, no clock.
    ///
    /// An installer expiring exactly at now + critical is CRITICAL, exactly at now + warn a
    /// WARNING, exactly at now expired; a refresh exactly `maxSyncAge` old is still fresh.
    public static func make(snapshot: ReportSnapshot, thresholds: ReportThresholds, now: Timestamp) -> ExpiryReport {
        let d = ReportFormatting.duration
        let criticalEnd = now.adding(thresholds.critical)
        let warnEnd = now.adding(thresholds.warn)
        let soon = snapshot.expiringWithinWarn.filter { i in i.expireTime.map { $0 > now && $0 <= warnEnd } ?? false }
        let critical = soon.filter { $0.expireTime! <= criticalEnd }
        let warning = soon.filter { $0.expireTime! > criticalEnd }
        var report = ExpiryReport(
            generatedAt: now, thresholds: thresholds, ledgerReadable: true, lastRefresh: snapshot.lastRefresh,
            windowStart: now.subtracting(thresholds.expiredWithin),
            recentlyExpired: snapshot.expiredInWindow, critical: critical, warning: warning,
            totals: snapshot.totals ?? ReportSectionTotals(expired: snapshot.expiredInWindow, critical: critical, warning: warning),
            byGroup: snapshot.byGroup, byProduct: snapshot.byProduct, counts: snapshot.counts, usable: snapshot.usable,
            coverageGaps: snapshot.coverageGaps ?? CoverageGaps(at: warnEnd, groupsWatched: 0, productsWatched: 0, gaps: []),
            checks: [])
        report.accounts = snapshot.accounts
        let gaps = report.coverageGaps.gaps.count, criticalGaps = report.criticalGaps.count
        let totals = report.totals.all
        report.checks = [
            freshnessCheck(lastRefresh: snapshot.lastRefresh, accounts: snapshot.accounts, thresholds: thresholds, now: now),
            countCheck(id: "expired", count: totals.expired, raises: .critical,
                       what: "expired within \(d(thresholds.expiredWithin))",
                       next: "create replacements where devices still need an installer ('installer-ledger gaps' shows groups left without one)"),
            countCheck(id: "critical", count: totals.critical, raises: .critical,
                       what: "\(totals.critical == 1 ? "expires" : "expire") within \(d(thresholds.critical))",
                       next: "replace \(totals.critical == 1 ? "it" : "them") now ('installer-ledger rotate --within \(d(thresholds.critical))')"),
            countCheck(id: "warning", count: totals.warning, raises: .warning,
                       what: "\(totals.warning == 1 ? "expires" : "expire") within \(d(thresholds.warn))",
                       next: "plan \(totals.warning == 1 ? "its" : "their") replacement ('installer-ledger rotate --within \(d(thresholds.warn))')"),
            gapsCheck(gaps: gaps, critical: criticalGaps, thresholds: thresholds),
        ]
        return report
    }

    /// The report when the ledger cannot be read (or the report ran out of time): UNKNOWN,
    /// with the reason in the long output and `short` on the first line.
    public static func unavailable(reason: String, short: String = "cannot read the ledger", thresholds: ReportThresholds,
                                   now: Timestamp) -> ExpiryReport {
        var report = ExpiryReport(
            generatedAt: now, thresholds: thresholds, ledgerReadable: false, lastRefresh: nil,
            windowStart: now, recentlyExpired: [], critical: [], warning: [], totals: ReportSectionTotals(), byGroup: [], byProduct: [],
            counts: ReportCounts(), usable: nil, coverageGaps: CoverageGaps(at: now, groupsWatched: 0, productsWatched: 0, gaps: []),
            checks: [ReportCheck(id: "ledger", status: .unknown, message: reason)])
        report.unavailableSummary = short
        return report
    }

    /// The first line's reason when the ledger could not be read.
    var unavailableSummary = "cannot read the ledger"

    /// The accounts whose last refresh is missing or older than `maxSyncAge` at `now`.
    static func staleAccounts(_ accounts: [AccountRefresh], maxSyncAge: LedgerDuration, now: Timestamp) -> [AccountRefresh] {
        accounts.filter { a in a.lastRefresh.map { now.nanoseconds - $0.nanoseconds > maxSyncAge.nanoseconds } ?? true }
    }

    /// `freshness`: UNKNOWN when an account's last refresh is missing or older than
    /// `--max-sync-age`, naming those accounts when the report covers several.
    static func freshnessCheck(lastRefresh: Timestamp?, accounts: [AccountRefresh], thresholds: ReportThresholds,
                               now: Timestamp) -> ReportCheck {
        guard let maxSyncAge = thresholds.maxSyncAge else {
            return ReportCheck(id: "freshness", status: .ok, message:
                "freshness is not checked (--max-sync-age off): the ledger may not know what ESET has")
        }
        if accounts.count > 1 {
            let stale = staleAccounts(accounts, maxSyncAge: maxSyncAge, now: now)
            guard stale.isEmpty else {
                let named = stale.map { a in
                    a.lastRefresh.map { "\(a.account) (last \($0.rfc3339))" } ?? "\(a.account) (never)"
                }
                return ReportCheck(id: "freshness", status: .unknown, message:
                    "\(stale.count) of \(accounts.count) accounts not synced successfully within --max-sync-age \(ReportFormatting.duration(maxSyncAge)): \(named.joined(separator: ", ")); check the nightly job and run 'installer-ledger sync --all'")
            }
        }
        guard let last = lastRefresh else {
            return ReportCheck(id: "freshness", status: .unknown, message:
                "no successful sync or reconcile with ESET is recorded, so the ledger may not know what ESET has; run 'installer-ledger sync'")
        }
        let age = LedgerDuration(nanoseconds: now.nanoseconds - last.nanoseconds)
        guard age.nanoseconds <= maxSyncAge.nanoseconds else {
            return ReportCheck(id: "freshness", status: .unknown, message:
                "the last successful sync or reconcile was \(ReportFormatting.age(age)) ago (\(last.rfc3339)), more than --max-sync-age \(ReportFormatting.duration(maxSyncAge)); check the nightly job and run 'installer-ledger sync'")
        }
        return ReportCheck(id: "freshness", status: .ok,
                           message: "last successful sync or reconcile \(ReportFormatting.age(age)) ago (\(last.rfc3339))")
    }

    /// The gaps that start by now + critical: groups or products already without a usable
    /// installer, or whose last one stops within `--critical`.
    public var criticalGaps: [CoverageGap] { coverageGaps.starting(by: generatedAt.adding(thresholds.critical)) }

    /// `gaps`: CRITICAL when a group or product is, or within `--critical` will be, without a
    /// usable installer; WARNING when one will be within `--warn`.
    static func gapsCheck(gaps: Int, critical: Int, thresholds: ReportThresholds) -> ReportCheck {
        let d = ReportFormatting.duration
        guard gaps > 0 else {
            return ReportCheck(id: "gaps", status: .ok, message:
                "every device group and product keeps a usable installer for \(d(thresholds.warn))")
        }
        let noun = { (n: Int) in n == 1 ? "device group or product" : "device groups or products" }
        if critical > 0 {
            return ReportCheck(id: "gaps", status: .critical, message:
                "\(critical) \(noun(critical)) \(critical == 1 ? "has" : "have") no usable installer within \(d(thresholds.critical))"
                + (gaps > critical ? " (\(gaps) within \(d(thresholds.warn)))" : "")
                + "; replace expiring installers now ('installer-ledger rotate --within \(d(thresholds.warn))') and create one where none is left ('installer-ledger gaps')")
        }
        return ReportCheck(id: "gaps", status: .warning, message:
            "\(gaps) \(noun(gaps)) will have no usable installer within \(d(thresholds.warn)); plan replacements ('installer-ledger rotate --within \(d(thresholds.warn))')")
    }

    static func countCheck(id: String, count: Int, raises: ReportStatus, what: String, next: String) -> ReportCheck {
        let noun = count == 1 ? "installer" : "installers"
        return count == 0
            ? ReportCheck(id: id, status: .ok, message: "no installer \(what)")
            : ReportCheck(id: id, status: raises, message: "\(count) \(noun) \(what); \(next)")
    }

    /// The short first line of a check (monitoring-plugin guidelines): the status and the
    /// counts, e.g. `INSTALLERS CRITICAL - 2 expired, 2 critical, 2 warning, 4 gaps, 6 usable`;
    /// the details go to the long output. Never a `|` (it would start the performance data).
    public var summary: String {
        var text: String
        if !ledgerReadable {
            text = unavailableSummary
        } else {
            text = "\(totals.all.expired) expired, \(totals.all.critical) critical, \(totals.all.warning) warning, "
            text += "\(coverageGaps.gaps.count) \(coverageGaps.gaps.count == 1 ? "gap" : "gaps"), \(counts.usable) usable"
            if checks.contains(where: { $0.id == "freshness" && $0.status == .unknown }), let max = thresholds.maxSyncAge {
                let stale = Self.staleAccounts(accounts, maxSyncAge: max, now: generatedAt)
                let why = accounts.count > 1 ? "not synced within \(ReportFormatting.duration(max)): " + stale.map(\.account).joined(separator: ", ")
                    : lastRefresh == nil ? "never synced" : "not synced within \(ReportFormatting.duration(max))"
                text = why + "; " + text
            }
        }
        return ReportFormatting.plain("INSTALLERS \(status.word) - \(text)")
    }

    /// Monitoring-plugin performance data: `'label'=value;warn;crit` for each count, plus
    /// the age of the last refresh in seconds (`U` when there is none).
    public var performanceData: String {
        guard ledgerReadable else { return "" }
        var parts = [
            "'expired'=\(totals.all.expired);;0",
            "'critical'=\(totals.all.critical);;0",
            "'warning'=\(totals.all.warning);0;",
            "'gaps'=\(coverageGaps.gaps.count);0;",
            "'gaps_critical'=\(criticalGaps.count);;0",
            "'usable'=\(counts.usable);;",
        ]
        if let last = lastRefresh {
            parts.append("'sync_age'=\((generatedAt.nanoseconds - last.nanoseconds) / 1_000_000_000)s;;")
        } else {
            parts.append("'sync_age'=U;;")
        }
        return parts.joined(separator: " ")
    }

    /// The summary with performance data: the first line of the text format.
    public var pluginLine: String {
        let perf = performanceData
        return perf.isEmpty ? summary : summary + " | " + perf
    }
}

/// Small formatting shared by the report renderers.
enum ReportFormatting {
    /// Text for a check's output: a `|` would start Nagios's performance data, so it becomes `¦`.
    static func plain(_ s: String) -> String {
        s.contains("|") ? s.replacingOccurrences(of: "|", with: "¦") : s
    }

    /// A threshold as people write it: `7d` rather than `1w`, `26h`, `90m`.
    static func duration(_ d: LedgerDuration) -> String {
        let s = d.nanoseconds / 1_000_000_000
        for (unit, f) in [("d", Int64(86_400)), ("h", 3600), ("m", 60)] where s != 0 && s % f == 0 {
            return "\(s / f)\(unit)"
        }
        return "\(s)s"
    }

    /// A rough age for people: `45m`, `5h`, `3d 4h`.
    static func age(_ d: LedgerDuration) -> String {
        let s = max(0, d.nanoseconds / 1_000_000_000)
        if s < 3600 { return "\(s / 60)m" }
        if s < 86_400 { return "\(s / 3600)h" }
        let h = s % 86_400 / 3600
        return h == 0 ? "\(s / 86_400)d" : "\(s / 86_400)d \(h)h"
    }
}
