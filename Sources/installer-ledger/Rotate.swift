import ArgumentParser
import Foundation
import InstallerLedger

extension InstallerLedgerCommand {
    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replace installers that expire soon with new ones of the same settings.",
            discussion: """
                ESET installers cannot be extended. For each usable installer expiring within --within that \
                has no successor yet, rotate creates a replacement with the same display name, OS, language, \
                security group, flags and components, through the same no-loss path as 'create' (pending \
                first), and links old and new ('superseded' event; 'show' and 'list --format json' name the \
                successor and predecessor).

                Re-running creates nothing twice: a replacement whose outcome was uncertain is never re-sent \
                ('sync' resolves and links it). --output writes the new download links (a secret; the file \
                is mode 0600) for whoever updates deployment scripts, including replacements of earlier runs \
                not handed over yet. Download URLs are never printed.

                Exit codes as 'create': 0 all done, 75 some outcome uncertain, 69 ESET unavailable, \
                77 credentials refused, 65 ESET refused a replacement, 74 the hand-over file.

                Examples:
                  installer-ledger rotate --dry-run
                  installer-ledger rotate --within 30d --output handover.csv
                  installer-ledger rotate --group "Vienna Office" --output handover.json --delete-old --yes
                """)

        @OptionGroup var global: GlobalOptions
        @OptionGroup var api: APIOptions
        @OptionGroup var clock: ClockOptions

        @Option(help: ArgumentHelp("Replace usable installers expiring within this time (default 14d).", valueName: "duration"),
                transform: ValueParsing.duration)
        var within: LedgerDuration = RotationSelection.defaultWithin

        @Option(help: ArgumentHelp("Only this security group uuid or device group name (case-insensitive).", valueName: "uuid-or-name"))
        var group: String?

        @Option(help: ArgumentHelp("Only windows, macos or linux installers.", valueName: "os"), transform: ValueParsing.os)
        var os: OperatingSystemFamily?

        @Option(help: ArgumentHelp("Only installers whose display name contains this text (case-insensitive).", valueName: "text"))
        var name: String?

        @Option(help: ArgumentHelp("Write old uuid, new uuid, new download URL and expiry here (mode 0600).", valueName: "file"),
                completion: .file())
        var output: String?

        @Option(name: .customLong("output-format"), help: ArgumentHelp(
            "csv or json (default: json for a .json file, else csv).", valueName: "format"),
                completion: ValueParsing.values(HandOverFormat.self),
                transform: ValueParsing.choiceOf(HandOverFormat.self, what: "hand-over format"))
        var outputFormat: HandOverFormat?

        @Flag(name: .customLong("dry-run"), help: "Show the plan; create, link and write nothing.")
        var dryRun = false

        @Flag(name: .customLong("delete-old"), help: "Revoke each old installer at ESET once its replacement exists.")
        var deleteOld = false

        @Flag(help: "Do not ask before revoking old installers (needed with --delete-old in scripts).")
        var yes = false

        func validate() throws {
            if outputFormat != nil, output == nil { throw ValidationError("--output-format needs --output FILE") }
        }

        func selection(_ scope: AccountScope) -> RotationSelection {
            var s = RotationSelection(within: within, group: group, operatingSystemFamilyId: os?.rawValue, nameContains: name)
            s.scope = scope
            return s
        }

        func run() async throws {
            try await withExitCodes {
                let ledger = try global.openLedger()
                let now = clock.current
                // A dry run reads every account (or the one named); a rotation creates for one.
                var account: Account?
                var client: ESETConnectClient?
                if !dryRun { (account, client) = try api.client(for: ledger) }
                let scope = try account.map(AccountScope.only) ?? ledger.scope(named: api.accountName.map { [$0] } ?? [])
                let selection = selection(scope)
                let plan = try InstallerRotation.plan(ledger: ledger, selection: selection, at: now, deleteOld: deleteOld)
                var out = StandardOutput()
                if dryRun {
                    try out.write(RotationRendering.planTable(plan))
                    let handOver = try ledger.pendingHandOver(selection)
                    if !handOver.isEmpty { try out.write("\(handOver.count) earlier replacement(s) not handed over yet (--output lists them)\n") }
                    return try out.flush()
                }
                if let output { try HandOverFile.checkWritable(output) }
                if plan.possibleRevocations > 0, !yes, try !confirmRevocation(plan) {
                    StandardError.write("nothing done; run without --delete-old to rotate without revoking\n")
                    return
                }
                let fixed = clock.now
                let rotation = InstallerRotation(ledger: ledger, client: client!, account: account, now: { fixed ?? .now() })
                let summary = try await rotation.run(plan) { result in
                    try? out.write(RotationRendering.resultLine(result))
                    try? out.flush()
                }
                if let output { try writeHandOver(ledger, selection, to: output, now: clock.current, out: &out) }
                try out.write("rotate: \(summary.line)\n")
                try out.flush()
                if let error = summary.exitError { throw error }
            }
        }

        /// Asks on a terminal; refuses (usage error) without one.
        func confirmRevocation(_ plan: RotationPlan) throws -> Bool {
            try confirm("""
                After creating \(plan.creations) replacement(s), revoke up to \(plan.possibleRevocations) old installer(s) at ESET? \
                Their download links stop working at once.
                """, refusal: "refusing to revoke old installers without confirmation")
        }

        func writeHandOver(_ ledger: Ledger, _ selection: RotationSelection, to path: String, now: Timestamp,
                           out: inout StandardOutput) throws {
            let entries = try ledger.pendingHandOver(selection)
            let format = outputFormat ?? HandOverFormat(path: path)
            // An interrupt must not leave a temporary file full of download URLs behind.
            try HandOverFile.write(entries, to: path, format: format, willCreate: Interrupts.removeOnInterrupt)
            try ledger.markHandedOver(predecessors: entries.map(\.predecessor.uuid), at: now)
            try out.write("hand-over: \(entries.count) replacement(s) written to \(path)\n")
        }
    }
}
