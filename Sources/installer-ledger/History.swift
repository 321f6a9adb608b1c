import ArgumentParser
import InstallerLedger

extension InstallerLedgerCommand {
    struct History: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the event timeline of the ledger or of one installer.",
            discussion: """
                Event kinds: \(EventKind.allCases.map(\.rawValue).joined(separator: ", ")). \
                Sources: \(EventSource.allCases.map(\.rawValue).joined(separator: ", ")).

                Examples:
                  installer-ledger history
                  installer-ledger history 3f1c9a2e
                  installer-ledger history --since 2026-11-01 --kind became_unusable --format csv
                """)

        @OptionGroup var global: GlobalOptions
        @OptionGroup var accounts: ReadScopeOptions

        @Argument(help: ArgumentHelp("An installer's uuid or unique prefix (default: all installers).", valueName: "id"))
        var id: String?

        @Option(help: ArgumentHelp("Events at or after this date.", valueName: "date"), transform: ValueParsing.date)
        var since: Timestamp?

        @Option(help: ArgumentHelp("Events before this date.", valueName: "date"), transform: ValueParsing.date)
        var until: Timestamp?

        @Option(help: ArgumentHelp("Only events of this kind (repeatable).", valueName: "kind"), completion: ValueParsing.values(EventKind.self),
                transform: ValueParsing.choiceOf(EventKind.self, what: "event kind"))
        var kind: [EventKind] = []

        @Option(help: ArgumentHelp("Show at most this many.", valueName: "n"))
        var limit: Int?

        @OptionGroup var output: ListFormatOptions

        func validate() throws {
            if let limit, limit < 0 { throw ValidationError("--limit must be 0 or more") }
        }

        func run() async throws {
            try await withExitCodes {
                let ledger = try global.openExistingLedger()
                var filter = EventFilter()
                filter.scope = try accounts.scope(ledger)
                if let id { filter.installerUuid = try ledger.resolve(id) }
                filter.since = since
                filter.until = until
                filter.kinds = Set(kind)
                filter.limit = limit
                var renderer = EventListRenderer(format: output.format,
                                                 showsAccount: try accounts.showsAccount(ledger))
                try StandardOutput.stream(&renderer) { emit in
                    var batch = [LedgerEvent]()
                    try ledger.forEachEvent(matching: filter) { event in
                        batch.append(event)
                        if batch.count == 500 { try emit(batch); batch.removeAll(keepingCapacity: true) }
                    }
                    if !batch.isEmpty { try emit(batch) }
                }
            }
        }
    }
}
