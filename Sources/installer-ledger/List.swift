import ArgumentParser
import InstallerLedger

/// The selection options shared by `list` and, later, other commands that pick installers.
struct InstallerFilterOptions: ParsableArguments {
    @Option(help: ArgumentHelp("usable, unusable, deleted, pending or all.", valueName: "status"),
            completion: .list(InstallerStatus.allCases.map(\.rawValue) + ["pending", "all"]))
    var status: String = "all"

    @Option(name: .customLong("expiring-within"), help: ArgumentHelp(
        "Usable installers that expire within this time from now (90m, 12h, 30d, 2w).", valueName: "duration"),
            transform: ValueParsing.duration)
    var expiringWithin: LedgerDuration?

    @Flag(help: "Installers whose expiry has passed.")
    var expired = false

    @Option(help: ArgumentHelp("windows, macos or linux.", valueName: "os"), completion: .list(["windows", "macos", "linux"]),
            transform: ValueParsing.os)
    var os: OperatingSystemFamily?

    @Option(help: ArgumentHelp("A security group uuid or a device group name (case-insensitive).", valueName: "uuid-or-name"))
    var group: String?

    @Option(help: ArgumentHelp("A product id or product name (case-insensitive).", valueName: "id-or-name"))
    var product: String?

    @Option(help: ArgumentHelp("A subscription uuid.", valueName: "uuid"))
    var subscription: String?

    @Option(name: .customLong("created-after"), help: ArgumentHelp("Created at or after this date.", valueName: "date"),
            transform: ValueParsing.date)
    var createdAfter: Timestamp?

    @Option(name: .customLong("created-before"), help: ArgumentHelp("Created before this date.", valueName: "date"),
            transform: ValueParsing.date)
    var createdBefore: Timestamp?

    @Option(help: ArgumentHelp("Display name contains this text (case-insensitive).", valueName: "text"))
    var name: String?

    @Option(help: ArgumentHelp(
        "created, expires or name (default: expires with --expiring-within/--expired, else created).", valueName: "order"),
            completion: ValueParsing.values(InstallerSort.self))
    var sort: String?

    @Option(help: ArgumentHelp("Show at most this many.", valueName: "n"))
    var limit: Int?

    func validate() throws {
        if let limit, limit < 0 { throw ValidationError("--limit must be 0 or more") }
        if !["all", "pending"].contains(status.lowercased()) {
            _ = try ValueParsing.choice(status, InstallerStatus.self, what: "status (or all, pending)")
        }
        if let sort { _ = try ValueParsing.choice(sort, InstallerSort.self, what: "sort order") }
        if isPending {
            let unsupported = [("--expiring-within", expiringWithin != nil), ("--expired", expired), ("--product", product != nil),
                               ("--subscription", subscription != nil), ("--created-after", createdAfter != nil),
                               ("--created-before", createdBefore != nil), ("--sort", sort != nil)]
            if let (option, _) = unsupported.first(where: \.1) {
                throw ValidationError("\(option) does not apply to pending creations (they have no products or expiry yet); use --name, --os, --group or --limit with --status pending")
            }
        }
    }

    /// `--status pending`: creations whose outcome is not known yet, rather than installers.
    var isPending: Bool { status.lowercased() == "pending" }

    /// The library filter these options describe.
    var filter: InstallerFilter {
        var f = InstallerFilter()
        f.status = InstallerStatus(rawValue: status.lowercased())
        f.expiringWithin = expiringWithin
        f.expired = expired
        f.operatingSystemFamilyId = os?.rawValue
        f.group = group
        f.product = product
        f.subscriptionUuid = subscription
        f.createdAfter = createdAfter
        f.createdBefore = createdBefore
        f.nameContains = name
        f.sort = sort.flatMap { InstallerSort(rawValue: $0.lowercased()) }
            ?? (expiringWithin != nil || expired ? .expires : .created)
        f.limit = limit
        return f
    }
}

extension InstallerLedgerCommand {
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List installers in the ledger, with filters.",
            discussion: """
                Filters combine (AND). Download URLs are never shown here ('show' shows them).

                --status pending lists creations sent to ESET whose outcome is not known yet (local id, \
                name, OS, group, requested at, plan key); 'sync' resolves them.

                --as-of DATE answers from the history: an installer is listed if ESET created it by \
                then; its fields are today's with every later change undone; its status comes from the \
                status events up to then (recorded, became_unusable, deleted), and a usable installer \
                whose expiry had passed counts as unusable (expired); before the ledger first recorded \
                an installer it counts as usable. Filters, --expiring-within and \
                --expired apply to that state, with DATE as "now". With --status pending: the creations \
                still unresolved at that time.

                Examples:
                  installer-ledger list
                  installer-ledger list --expiring-within 30d
                  installer-ledger list --status usable --group "Branch Vienna" --os windows
                  installer-ledger list --product "ESET PROTECT Entry" --format csv > installers.csv
                  installer-ledger list --name vienna --format json
                  installer-ledger list --as-of 2026-03-31 --status usable --group Vienna
                  installer-ledger list --status pending
                """)

        @OptionGroup var global: GlobalOptions
        @OptionGroup var selection: InstallerFilterOptions
        @OptionGroup var accounts: ReadScopeOptions
        @OptionGroup var clock: ClockOptions

        @Option(name: .customLong("as-of"), help: ArgumentHelp(
            "The state on this date, rebuilt from the history (a date means the end of that UTC day; a timestamp that instant).",
            valueName: "date"), transform: ValueParsing.asOf)
        var asOf: Timestamp?

        @OptionGroup var output: ListFormatOptions

        func run() async throws {
            try await withExitCodes {
                let ledger = try global.openExistingLedger()
                var filter = selection.filter
                filter.scope = try accounts.scope(ledger)
                if selection.isPending {
                    var renderer = PendingCreationListRenderer(format: output.format, showsAccount: try accounts.showsAccount(ledger))
                    let pending = try ledger.pendingCreations(matching: filter, asOf: asOf)
                    try StandardOutput.stream(&renderer) { emit in if !pending.isEmpty { try emit(pending) } }
                    return
                }
                let now = asOf ?? clock.current
                var renderer = InstallerListRenderer(format: output.format, now: now, showsAccount: try accounts.showsAccount(ledger))
                let withChildren = renderer.needsChildren
                try StandardOutput.stream(&renderer) { emit in
                    if let asOf {
                        try ledger.forEachInstaller(asOf: asOf, matching: filter, withChildren: withChildren, emit)
                    } else {
                        try ledger.forEachInstaller(matching: filter, at: now, withChildren: withChildren, emit)
                    }
                }
            }
        }
    }
}

extension ValueParsing {
    /// An `--as-of` value: a date (the end of that UTC day) or an RFC 3339 instant.
    static func asOf(_ text: String) throws -> Timestamp {
        do {
            return try Timestamp(asOf: text)
        } catch {
            throw ValidationError("'\(text)' is not a date: use 2026-03-31 (the end of that day, UTC) or an RFC 3339 timestamp such as 2026-03-31T12:00:00Z (\(error))")
        }
    }
}
