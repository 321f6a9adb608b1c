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

        @Option(help: ArgumentHelp("Only events of this kind (repeatable).", valueName: "kind"))
        var kind: [String] = []

        @Option(help: ArgumentHelp("Show at most this many.", valueName: "n"))
        var limit: Int?

        @Option(help: ArgumentHelp("table, json, ndjson or csv.", valueName: "format"))
        var format: String = "table"

        func validate() throws {
            _ = try ValueParsing.choice(format, OutputFormat.self, what: "format")
            for k in kind { _ = try ValueParsing.choice(k, EventKind.self, what: "event kind") }
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
                filter.kinds = Set(kind.compactMap { EventKind(rawValue: $0.lowercased()) })
                filter.limit = limit
                var renderer = EventListRenderer(format: OutputFormat(rawValue: format.lowercased())!,
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
