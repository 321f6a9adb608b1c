
/// One (account, device group, product set) of the ledger: the key of the index
/// `installers_by_subject` (0007), through which the coverage questions are answered.
struct SubjectKey: Hashable {
    var account: Int64?
    var group: String
    /// `installers.product_ids`: distinct product ids, ascending, comma-separated.
    var productIds: String

    var products: [Int64] { productIds.split(separator: ",").compactMap { Int64($0) } }
}

/// A device group of an account, and a product of an account: what coverage is about.
private struct GroupKey: Hashable { var account: Int64?; var group: String }
private struct ProductKey: Hashable { var account: Int64?; var product: Int64 }

/// The usable installers of one ``SubjectKey`` that have not expired at a time.
struct LiveSubject {
    var key: SubjectKey
    var usable: Int
    var nextExpiry: Int64?
    var lastExpiry: Int64?
    /// How many of them have no expiry (they cover it for good).
    var withoutExpiry: Int

    /// Whether one of them is still usable at `date` (not before the time they were read at).
    func covers(at date: Timestamp) -> Bool { withoutExpiry > 0 || (lastExpiry.map { $0 > date.nanoseconds } ?? false) }
}

/// The coverage questions (`gaps`, and the report's summaries by group and by product),
/// answered from the index `installers_by_subject` (0007) rather than by reading every
/// installer: the usable slice of the index is walked once, in order, and the subjects the
/// ledger watches are found with one seek each. Only an uncovered group or product has
/// its installers read, to name it and the installer that covered it longest.
enum CoverageQueries {
    /// The device groups and products without a usable installer at `date`.
    /// - Parameter live: ``live(_:at:scope:)`` at `date` or earlier, when the caller has it.
    static func coverageGaps(_ db: any LedgerSQL, at date: Timestamp, scope: AccountScope = .all,
                             live: [LiveSubject]? = nil) throws -> CoverageGaps {
        let live = try live ?? Self.live(db, at: date, scope: scope)
        var coveredGroups = Set<GroupKey>(), coveredProducts = Set<ProductKey>()
        for s in live where s.covers(at: date) {
            coveredGroups.insert(GroupKey(account: s.key.account, group: s.key.group))
            for p in s.key.products { coveredProducts.insert(ProductKey(account: s.key.account, product: p)) }
        }
        var groups = [GroupKey: [SubjectKey]](), products = [ProductKey: [SubjectKey]]()
        for k in try watched(db, scope: scope) {
            groups[GroupKey(account: k.account, group: k.group), default: []].append(k)
            for p in k.products { products[ProductKey(account: k.account, product: p), default: []].append(k) }
        }
        let names = try AccountQueries.accountNames(db)
        let accountName = { (id: Int64?) in id.flatMap { names[$0] } ?? "" }
        var groupGaps = [CoverageGap](), productGaps = [CoverageGap]()
        for (g, keys) in groups where !coveredGroups.contains(g) {
            var subject = CoverageAnalysis.Subject()
            try records(db, of: keys, product: nil) { r, _ in subject.consider(r, name: r.groupDisplayName, at: date) }
            if let gap = subject.gap(.group, id: g.group, account: accountName(g.account), at: date) { groupGaps.append(gap) }
        }
        for (p, keys) in products where !coveredProducts.contains(p) {
            var subject = CoverageAnalysis.Subject()
            try records(db, of: keys, product: p.product) { r, name in subject.consider(r, name: name, at: date) }
            if let gap = subject.gap(.product, id: String(p.product), account: accountName(p.account), at: date) {
                productGaps.append(gap)
            }
        }
        return CoverageGaps(at: date, groupsWatched: groups.count, productsWatched: products.count,
                            gaps: CoverageAnalysis.ordered(groupGaps) + CoverageAnalysis.ordered(productGaps))
    }

    /// Each subject's usable installers not expired at `at` (or without an expiry): one walk
    /// over each account's usable slice of `installers_by_subject`, in group order (no sort).
    static let liveSQL = """
        SELECT security_group_uuid, product_ids, count(*), min(expire_time), max(expire_time), count(*) - count(expire_time)
        FROM installers INDEXED BY installers_by_subject
        WHERE account_id IS ? AND status = 'usable' AND (expire_time > ? OR expire_time IS NULL)
        GROUP BY security_group_uuid, product_ids
        """

    static func live(_ db: any LedgerSQL, at: Timestamp, scope: AccountScope) throws -> [LiveSubject] {
        var live = [LiveSubject]()
        for account in try accounts(db, scope: scope) {
            let rows = try SQLRow.fetchCursor(db, sql: liveSQL, arguments: [account, at.nanoseconds])
            while let row = try rows.next() {
                live.append(LiveSubject(key: SubjectKey(account: account, group: row[0], productIds: row[1]), usable: row[2],
                                        nextExpiry: row[3], lastExpiry: row[4], withoutExpiry: row[5]))
            }
        }
        return live
    }

    /// The subjects the ledger watches: those of an installer that is not deleted. A loose
    /// index scan: one or two seeks per distinct (account, status, group, product set), the
    /// next product set in the group, else the next group (two seeks on equality and one
    /// range cost half what one row-value comparison does). Stepped through SQLite's C API
    /// (``any SQLStatement``): thousands of one-row queries, where GRDB's per-query bookkeeping
    /// would cost more than the seeks.
    static let watchedSQL = {
        let select = "SELECT security_group_uuid, product_ids FROM installers INDEXED BY installers_by_subject WHERE account_id IS ?1 AND status = ?2"
        return (first: "\(select) ORDER BY security_group_uuid, product_ids LIMIT 1",
                sameGroup: "\(select) AND security_group_uuid = ?3 AND product_ids > ?4 ORDER BY product_ids LIMIT 1",
                nextGroup: "\(select) AND security_group_uuid > ?3 ORDER BY security_group_uuid, product_ids LIMIT 1")
    }()

    static func watched(_ db: any LedgerSQL, scope: AccountScope) throws -> Set<SubjectKey> {
        let firstGroup = try db.prepare(sql: watchedSQL.first)
        let sameGroup = try db.prepare(sql: watchedSQL.sameGroup)
        let nextGroup = try db.prepare(sql: watchedSQL.nextGroup)
        var keys = Set<SubjectKey>()
        for account in try accounts(db, scope: scope) {
            for status in [InstallerStatus.usable, .unusable] {
                func step(_ statement: any SQLStatement, after key: SubjectKey?) throws -> SubjectKey? {
                    statement.bind(1, account)
                    statement.bind(2, status.rawValue)
                    if let key {
                        statement.bind(3, key.group)
                        if statement === sameGroup { statement.bind(4, key.productIds) }
                    }
                    var found: SubjectKey?
                    try statement.forEachRow { row in found = SubjectKey(account: account, group: row.text(0), productIds: row.text(1)) }
                    return found
                }
                var key = try step(firstGroup, after: nil)
                while let current = key {
                    keys.insert(current)
                    key = try step(sameGroup, after: current) ?? step(nextGroup, after: current)
                }
            }
        }
        return keys
    }

    /// The accounts that have installers (nil: installers recorded before any account), in
    /// scope: one seek each on the index's first column.
    static func accounts(_ db: any LedgerSQL, scope: AccountScope) throws -> [Int64?] {
        if let ids = scope.ids { return ids.sorted() }
        var found = [Int64?]()
        if try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM installers WHERE account_id IS NULL)") == true {
            found.append(nil)
        }
        var after = Int64.min
        while let next = try Int64.fetchOne(db, sql: "SELECT min(account_id) FROM installers WHERE account_id > ?",
                                            arguments: [after]) {
            found.append(next)
            after = next
        }
        return found
    }

    /// The installers that are not deleted under `keys`, in the ledger's order (rowid, as a
    /// full read would meet them), each with the display name of `product` when given.
    static func records(_ db: any LedgerSQL, of keys: [SubjectKey], product: Int64?,
                        _ body: (CoverageRecord, String) throws -> Void) throws {
        var found = [(id: Int64, record: CoverageRecord, name: String)]()
        for key in keys {
            let rows = try SQLRow.fetchCursor(db, sql: """
                SELECT i.id, i.uuid, i.display_name, i.group_display_name, i.status, i.status_changed_at, i.create_time,
                  i.expire_time, (SELECT p.product_display_name FROM activated_products p
                                  WHERE p.installer_uuid = i.uuid AND p.product_id = ? ORDER BY p.position LIMIT 1)
                FROM installers i
                WHERE i.status IN ('usable', 'unusable') AND i.account_id IS ? AND i.security_group_uuid = ? AND i.product_ids = ?
                """, arguments: [product, key.account, key.group, key.productIds])
            while let row = try rows.next() {
                found.append((row[0], CoverageRecord(
                    uuid: row[1], displayName: row[2], securityGroupUuid: key.group, groupDisplayName: row[3],
                    status: InstallerStatus(rawValue: row[4]) ?? .unusable, statusChangedAt: Timestamp(nanoseconds: row[5]),
                    createTime: (row[6] as Int64?).map(Timestamp.init(nanoseconds:)),
                    expireTime: (row[7] as Int64?).map(Timestamp.init(nanoseconds:)), products: []), row[8] ?? ""))
            }
        }
        found.sort { $0.id < $1.id }
        for f in found { try body(f.record, f.name) }
    }

    /// The report's usable installers by account and device group, and by account and
    /// product, from the live subjects: count, next expiry, covered until, and the name the
    /// installer expiring last gives it (one without an expiry counts as last).
    static func summaries(_ db: any LedgerSQL, live: [LiveSubject], names: [Int64: String]) throws -> (byGroup: [ReportCoverage], byProduct: [ReportCoverage]) {
        struct Tally {
            var usable = 0
            var next: Int64?
            var last: Int64?
            /// Where the installer expiring last is: the keys holding one without an expiry
            /// (`forGood`), else those whose last expiry is `last`.
            var namingKeys = [SubjectKey]()
            var forGood = false

            mutating func add(_ s: LiveSubject) {
                usable += s.usable
                if let n = s.nextExpiry { next = min(next ?? n, n) }
                if s.withoutExpiry > 0 {
                    if !forGood { (namingKeys, forGood) = ([], true) }
                    namingKeys.append(s.key)
                } else if !forGood, let l = s.lastExpiry {
                    if last.map({ l > $0 }) ?? true { namingKeys = [s.key] } else if l == last { namingKeys.append(s.key) }
                }
                if let l = s.lastExpiry { last = max(last ?? l, l) }
            }
        }
        var groups = [GroupKey: Tally](), products = [ProductKey: Tally]()
        for s in live {
            groups[GroupKey(account: s.key.account, group: s.key.group), default: Tally()].add(s)
            for p in s.key.products { products[ProductKey(account: s.key.account, product: p), default: Tally()].add(s) }
        }
        /// The group's name, or the product's, as the installer expiring last among `t`'s keys gives it (ties: highest uuid).
        func name(_ t: Tally, product: Int64?) throws -> String {
            var best: (uuid: String, name: String)?
            for key in t.namingKeys {
                guard let row = try SQLRow.fetchOne(db, sql: """
                    SELECT i.uuid, CASE WHEN CAST(? AS BIGINT) IS NULL THEN i.group_display_name ELSE
                      (SELECT p.product_display_name FROM activated_products p
                       WHERE p.installer_uuid = i.uuid AND p.product_id = ? ORDER BY p.position LIMIT 1) END
                    FROM installers i INDEXED BY installers_by_subject
                    WHERE i.account_id IS ? AND i.status = 'usable' AND i.security_group_uuid = ? AND i.product_ids = ?
                      AND i.expire_time IS ?
                    ORDER BY i.uuid DESC LIMIT 1
                    """, arguments: [product, product, key.account, key.group, key.productIds,
                                     t.forGood ? nil : t.last]) else { continue }
                let uuid: String = row[0]
                if best.map({ uuid > $0.uuid }) ?? true { best = (uuid, row[1] ?? "") }
            }
            return best?.name ?? ""
        }
        func coverage(key: String, _ t: Tally, account: Int64?, product: Int64?) throws -> ReportCoverage {
            ReportCoverage(key: key, name: try name(t, product: product), usable: t.usable,
                           nextExpiry: t.next.map(Timestamp.init(nanoseconds:)), coveredUntil: t.last.map(Timestamp.init(nanoseconds:)),
                           account: account.flatMap { names[$0] } ?? "")
        }
        // As SQL's `ORDER BY name COLLATE NOCASE, key, account` did: ASCII letters fold.
        func nocase(_ s: String) -> String {
            String(decoding: s.utf8.map { $0 >= 0x41 && $0 <= 0x5A ? $0 + 32 : $0 }, as: UTF8.self)
        }
        let byGroup = try groups.map { (k, t) in (k.account, try coverage(key: k.group, t, account: k.account, product: nil)) }
            .sorted { a, b in
                let an = nocase(a.1.name), bn = nocase(b.1.name)
                if an != bn { return an < bn }
                if a.1.key != b.1.key { return a.1.key < b.1.key }
                return (a.0 ?? .min) < (b.0 ?? .min)
            }.map(\.1)
        let byProduct = try products.map { (k, t) in (k, try coverage(key: String(k.product), t, account: k.account, product: k.product)) }
            .sorted { a, b in
                let an = nocase(a.1.name), bn = nocase(b.1.name)
                if an != bn { return an < bn }
                if a.0.product != b.0.product { return a.0.product < b.0.product }
                return (a.0.account ?? .min) < (b.0.account ?? .min)
            }.map(\.1)
        return (byGroup, byProduct)
    }
}
