import ArgumentParser
import InstallerLedger

/// The selection options shared by `list` and, later, other commands that pick installers.
struct InstallerFilterOptions: ParsableArguments {
    @Option(help: ArgumentHelp("usable, unusable, deleted, pending or all.", valueName: "status"))
    var status: String = "all"

    @Option(name: .customLong("expiring-within"), help: ArgumentHelp(
        "Usable installers that expire within this time from now (90m, 12h, 30d, 2w).", valueName: "duration"),
            transform: ValueParsing.duration)
    var expiringWithin: LedgerDuration?

    @Flag(help: "Installers whose expiry has passed.")
    var expired = false

    @Option(help: ArgumentHelp("windows, macos or linux.", valueName: "os"), transform: ValueParsing.os)
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
        "created, expires or name (default: expires with --expiring-within/--expired, else created).", valueName: "order"))
    var sort: String?

    @Option(help: ArgumentHelp("Show at most this many.", valueName: "n"))
    var limit: Int?

    func validate() throws {
        if let limit, limit < 0 { throw ValidationError("--limit must be 0 or more") }
        if !["all", "pending"].contains(status.lowercased()) {
            _ = try ValueParsing.choice(status, InstallerStatus.self, what: "status (or all, pending)")
        }
        if let sort { _ = try ValueParsing.choice(sort, InstallerSort.self, what: "sort order") }
    }

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

                Examples:
                  installer-ledger list
                  installer-ledger list --expiring-within 30d
                  installer-ledger list --status usable --group "Branch Vienna" --os windows
                  installer-ledger list --product "ESET PROTECT Entry" --format csv > installers.csv
                  installer-ledger list --name vienna --format json
                """)

        @OptionGroup var global: GlobalOptions
        @OptionGroup var selection: InstallerFilterOptions
        @OptionGroup var clock: ClockOptions

        @Option(help: ArgumentHelp("table, json, ndjson or csv.", valueName: "format"))
        var format: String = "table"

        func validate() throws {
            _ = try ValueParsing.choice(format, OutputFormat.self, what: "format")
        }

        func run() async throws {
            try await withExitCodes {
                let ledger = try global.openLedger()
                let now = clock.current
                var renderer = InstallerListRenderer(format: OutputFormat(rawValue: format.lowercased())!, now: now)
                let withChildren = renderer.needsChildren
                try StandardOutput.stream(&renderer) { emit in
                    if selection.status.lowercased() == "pending" { return }
                    try ledger.forEachInstaller(matching: selection.filter, at: now, withChildren: withChildren, emit)
                }
            }
        }
    }
}
