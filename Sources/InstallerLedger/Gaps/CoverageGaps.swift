
/// The installer that last covered a group or product, as `gaps` shows it.
public struct CoveringInstaller: Sendable, Equatable {
    public var uuid: String
    public var displayName: String
    public var status: InstallerStatus
    public var expireTime: Timestamp?

    public init(uuid: String, displayName: String, status: InstallerStatus, expireTime: Timestamp?) {
        self.uuid = uuid
        self.displayName = displayName
        self.status = status
        self.expireTime = expireTime
    }
}

/// A device group or product that will have no usable installer at the date asked about.
public struct CoverageGap: Sendable, Equatable {
    /// What is left without an installer.
    public enum Kind: String, Sendable, CaseIterable {
        case group, product
    }

    public var kind: Kind
    /// The security group uuid (empty: installers without one, whose devices land in the group
    /// of a same-name device or Lost & found), or the product id.
    public var id: String
    /// The group's or product's display name as the newest installer names it.
    public var name: String
    /// The installer that covered it longest.
    public var lastInstaller: CoveringInstaller
    /// When that installer stops (or stopped) being usable: its expiry, or when it was found
    /// unusable. The gap starts then.
    public var coveredUntil: Timestamp
    /// The account (customer company) whose group or product it is: another customer's
    /// installers never cover it.
    public var account: String

    public init(kind: Kind, id: String, name: String, lastInstaller: CoveringInstaller, coveredUntil: Timestamp,
                account: String = "") {
        self.account = account
        self.kind = kind
        self.id = id
        self.name = name
        self.lastInstaller = lastInstaller
        self.coveredUntil = coveredUntil
    }
}

/// The groups and products the ledger watches that will have no usable installer at `at`.
public struct CoverageGaps: Sendable, Equatable {
    /// The date asked about.
    public var at: Timestamp
    /// How many device groups and products the ledger watches.
    public var groupsWatched: Int
    public var productsWatched: Int
    /// Groups first, then products; each by the date the gap starts, then name.
    public var gaps: [CoverageGap]

    public init(at: Timestamp, groupsWatched: Int, productsWatched: Int, gaps: [CoverageGap]) {
        self.at = at
        self.groupsWatched = groupsWatched
        self.productsWatched = productsWatched
        self.gaps = gaps
    }

    public var isEmpty: Bool { gaps.isEmpty }

    /// The gaps that start at or before `date` (for a report: those inside its critical window).
    public func starting(by date: Timestamp) -> [CoverageGap] { gaps.filter { $0.coveredUntil <= date } }
}

/// One installer as the coverage analysis needs it.
public struct CoverageRecord: Sendable, Equatable {
    public var uuid: String
    public var displayName: String
    public var securityGroupUuid: String
    public var groupDisplayName: String
    public var status: InstallerStatus
    public var statusChangedAt: Timestamp
    public var createTime: Timestamp?
    public var expireTime: Timestamp?
    /// (product id, product display name) of its activated products.
    public var products: [(id: Int64, name: String)]
    /// The account it belongs to: coverage is per account.
    public var account: String

    public init(uuid: String, displayName: String, securityGroupUuid: String, groupDisplayName: String, status: InstallerStatus,
                statusChangedAt: Timestamp, createTime: Timestamp?, expireTime: Timestamp?, products: [(id: Int64, name: String)],
                account: String = "") {
        self.account = account
        self.uuid = uuid
        self.displayName = displayName
        self.securityGroupUuid = securityGroupUuid
        self.groupDisplayName = groupDisplayName
        self.status = status
        self.statusChangedAt = statusChangedAt
        self.createTime = createTime
        self.expireTime = expireTime
        self.products = products
    }

    public static func == (a: CoverageRecord, b: CoverageRecord) -> Bool {
        a.uuid == b.uuid && a.displayName == b.displayName && a.securityGroupUuid == b.securityGroupUuid
            && a.groupDisplayName == b.groupDisplayName && a.status == b.status && a.statusChangedAt == b.statusChangedAt
            && a.createTime == b.createTime && a.expireTime == b.expireTime && a.account == b.account
            && a.products.map(\.id) == b.products.map(\.id) && a.products.map(\.name) == b.products.map(\.name)
    }

    /// Whether it can still be used to install at `date`: the ledger holds it usable and it
    /// has not expired by then.
    public func isUsable(at date: Timestamp) -> Bool {
        status == .usable && (expireTime.map { $0 > date } ?? true)
    }

    /// When it stops being usable: its expiry, or when it was found unusable if earlier.
    /// `nil` for a usable installer without a known expiry.
    var usableUntil: Timestamp? {
        switch status {
        case .usable: return expireTime
        case .unusable, .deleted: return min(expireTime ?? statusChangedAt, statusChangedAt)
        }
    }
}

/// Finds coverage gaps, without I/O.
public enum CoverageAnalysis {
    /// The groups and products of `records` that none of them covers at `date`.
    ///
    /// Watched are the groups and products of every record passed (the ledger passes every
    /// installer not deleted), per account: a device group belongs to one company, and another
    /// customer's installers never cover it. Each gap names the record that covered it longest.
    public static func gaps(of records: [CoverageRecord], at date: Timestamp) -> CoverageGaps {
        struct GroupKey: Hashable { var account: String; var group: String }
        struct ProductKey: Hashable { var account: String; var product: Int64 }
        var groups = [GroupKey: Subject]()
        var products = [ProductKey: Subject]()
        for r in records {
            groups[GroupKey(account: r.account, group: r.securityGroupUuid), default: Subject()].consider(r, name: r.groupDisplayName, at: date)
            for p in r.products {
                products[ProductKey(account: r.account, product: p.id), default: Subject()].consider(r, name: p.name, at: date)
            }
        }
        let groupGaps = groups.compactMap { $0.value.gap(.group, id: $0.key.group, account: $0.key.account, at: date) }
        let productGaps = products.compactMap { $0.value.gap(.product, id: String($0.key.product), account: $0.key.account, at: date) }
        return CoverageGaps(at: date, groupsWatched: groups.count, productsWatched: products.count,
                            gaps: ordered(groupGaps) + ordered(productGaps))
    }

    /// What the records of one group or product say about it at a date, fed one record at
    /// a time in the ledger's order (rowid): the name of the newest that names it, whether one
    /// covers it, and the one that covered it longest.
    struct Subject {
        var name = ""
        var nameFrom: Timestamp?
        var covered = false
        var last: CoverageRecord?

        mutating func consider(_ r: CoverageRecord, name: String, at date: Timestamp) {
            if r.isUsable(at: date) { covered = true }
            let created = r.createTime ?? Timestamp(nanoseconds: .min)
            if !name.isEmpty, nameFrom.map({ created >= $0 }) ?? true {
                self.name = name
                nameFrom = created
            }
            if let last {
                let a = r.usableUntil ?? Timestamp(nanoseconds: .max), b = last.usableUntil ?? Timestamp(nanoseconds: .max)
                if a > b || (a == b && created > (last.createTime ?? Timestamp(nanoseconds: .min))) { self.last = r }
            } else {
                last = r
            }
        }

        /// Its gap, or nil when a record covers it at `date` (or none was considered).
        func gap(_ kind: CoverageGap.Kind, id: String, account: String, at date: Timestamp) -> CoverageGap? {
            guard !covered, let last else { return nil }
            return CoverageGap(
                kind: kind, id: id, name: name.isEmpty ? (kind == .group ? "(no security group)" : "product \(id)") : name,
                lastInstaller: CoveringInstaller(uuid: last.uuid, displayName: last.displayName, status: last.status,
                                                 expireTime: last.expireTime),
                coveredUntil: last.usableUntil ?? date, account: account)
        }
    }

    /// By the date the gap starts, then name (case-insensitively), id and account.
    static func ordered(_ gaps: [CoverageGap]) -> [CoverageGap] {
        gaps.sorted { a, b in
            if a.coveredUntil != b.coveredUntil { return a.coveredUntil < b.coveredUntil }
            let an = a.name.lowercased(), bn = b.name.lowercased()
            if an != bn { return an < bn }
            return a.id != b.id ? a.id < b.id : a.account < b.account
        }
    }
}

// MARK: - Reading the ledger

extension Ledger {
    /// The device groups and products that will have no usable installer at `date`.
    ///
    /// Watched are the groups and products of every installer in the ledger that is not
    /// deleted (revoke an installer to stop watching its group); an installer covers them at
    /// `date` when the ledger holds it usable and it expires after `date`. Creations still
    /// pending do not count. Reads one snapshot.
    public func coverageGaps(at date: Timestamp, scope: AccountScope = .all) throws -> CoverageGaps {
        try read { db in try CoverageQueries.coverageGaps(db, at: date, scope: scope) }
    }

}
