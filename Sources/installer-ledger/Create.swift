import ArgumentParser
import Foundation
import InstallerLedger

extension InstallerLedgerCommand {
    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create installers through ESET Connect and record each one at once.",
            discussion: """
                Each creation is written to the ledger as pending BEFORE the request is sent. If the answer \
                never arrives (timeout, lost connection, 5xx), the command exits 75 and the creation stays \
                pending: it is never re-sent automatically. Run 'installer-ledger sync' to find out whether \
                ESET created it.

                Prints the uuid, expiry and download URL of each new installer. The download URL is a secret.

                BULK: --from FILE (or - for stdin) creates one installer per line of a CSV file with a header \
                row, or of an NDJSON file (one JSON object per line). Fields (CSV columns / JSON keys): \
                name and os (windows or macos) are required; language (default en-us), group (security \
                group uuid), cloud_feedback (default true), pua_detection (default true), diagnostics \
                (default false) and components (ids separated by ';', e.g. 13;27, or a JSON array) are \
                optional; an empty value takes the default. The whole file is checked first: one bad line \
                and nothing is sent (exit 65, naming the file, line and field). Up to --concurrency \
                creations are in flight at once, under --rate-limit; each success is recorded as it happens. \
                Ends with 'N created, N skipped (already done), N failed, N uncertain'.

                RE-RUNNING A PLAN is safe: each line is identified by a plan key, the SHA-256 of its \
                normalised settings plus its occurrence number among identical lines. The file name and the \
                line order do not matter, so you may reorder the plan or append lines. Lines already created \
                are skipped; lines whose outcome is uncertain (pending) are not sent again until \
                'installer-ledger sync' resolves them; lines that failed are tried again. To create one more \
                installer identical to an existing line, add another identical line (the same line in another \
                plan file counts as the same plan line). Ctrl-C stops starting \
                new lines and waits for those in flight (a second Ctrl-C quits at once).

                Exit codes of --from: 0 every line done; 75 some outcome uncertain (run sync, then the same \
                command); 65 some lines refused by ESET; 69 ESET unavailable or 77 credentials refused (the run \
                stops sending, the rest is 'not sent'); 130 interrupted.

                Examples:
                  installer-ledger create --name "Vienna office PCs" --os windows --group 5e0c3c43-...
                  installer-ledger create --name "Sales Macs" --os macos --language de-de --component 13 --component 231
                  installer-ledger create --from examples/bulk-plan.csv
                  installer-ledger create --from plan.ndjson --format ndjson --concurrency 2
                """)

        @OptionGroup var global: GlobalOptions
        @OptionGroup var api: APIOptions

        @Option(help: ArgumentHelp("The installer's display name.", valueName: "name"))
        var name: String?

        @Option(help: ArgumentHelp("windows or macos (ESET does not create Linux installers).", valueName: "os"),
                transform: ValueParsing.os)
        var os: OperatingSystemFamily?

        @Option(help: ArgumentHelp("Preferred GUI language, BCP 47 (default en-us).", valueName: "code"))
        var language: String?

        @Option(help: ArgumentHelp("Security group uuid devices join (default: ESET's choice, else Lost & found).", valueName: "uuid"))
        var group: String?

        @Flag(inversion: .prefixedNo, help: "Use ESET's cloud scanning (LiveGrid) feedback (default on).")
        var cloudFeedback: Bool?

        @Flag(inversion: .prefixedNo, help: "Detect potentially unwanted applications (default on).")
        var puaDetection: Bool?

        @Flag(inversion: .prefixedNo, help: "Send anonymous diagnostic data to ESET (default off).")
        var diagnostics: Bool?

        @Option(name: .customLong("component"), help: ArgumentHelp(
            "A component id to include (repeatable): 13 agent, 19/27 Windows endpoint, 20 file server, 29/30/230/231 macOS, 167 Inspect, 210 encryption, 209/215 Linux.",
            valueName: "id"))
        var components: [Int64] = []

        @Option(help: ArgumentHelp("Create one installer per line of this CSV or NDJSON plan (- for stdin); see the description above.", valueName: "file"),
                completion: .file(extensions: ["csv", "ndjson", "jsonl"]))
        var from: String?

        @Option(help: ArgumentHelp("With --from: creations in flight at once, 1 to 16.", valueName: "n"))
        var concurrency: Int = 4

        @Option(help: ArgumentHelp("With --from: text, or ndjson (one JSON object per line, for scripts).", valueName: "format"),
                completion: .list(["text", "ndjson"]))
        var format: String = "text"

        var request: CreateInstallerRequest {
            CreateInstallerRequest(displayName: name ?? "", operatingSystemFamilyId: os?.rawValue ?? 0,
                                   preferredLanguageCode: language ?? "en-us", securityGroupUuid: group,
                                   enableCloudScannerFeedback: cloudFeedback ?? true, enablePuaDetection: puaDetection ?? true,
                                   sendAnonymousDiagnosticData: diagnostics ?? false, requestedComponentIds: components)
        }

        func validate() throws {
            guard (1...16).contains(concurrency) else { throw ValidationError("--concurrency must be between 1 and 16") }
            guard ["text", "ndjson"].contains(format.lowercased()) else {
                throw ValidationError("'\(format)' is not a format for create: use text or ndjson")
            }
            if from == nil && format.lowercased() != "text" {
                throw ValidationError("--format applies to --from; one installer is always printed as text")
            }
            if from != nil {
                let given = [("--name", name != nil), ("--os", os != nil), ("--language", language != nil), ("--group", group != nil),
                             ("--[no-]cloud-feedback", cloudFeedback != nil), ("--[no-]pua-detection", puaDetection != nil),
                             ("--[no-]diagnostics", diagnostics != nil), ("--component", !components.isEmpty)]
                    .filter(\.1).map(\.0)
                if !given.isEmpty {
                    throw ValidationError("--from takes every setting from the plan: remove \(given.joined(separator: ", ")) or put it in the plan's lines")
                }
                return
            }
            guard name != nil else { throw ValidationError("give --name and --os for one installer, or --from FILE for many") }
            guard os != nil else { throw ValidationError("give --os windows or --os macos") }
            if let problem = request.problem { throw ValidationError(problem) }
        }

        func run() async throws {
            try await withExitCodes {
                if let from {
                    try await createMany(from: from)
                    return
                }
                let ledger = try global.openLedger()
                let (account, client) = try api.client(for: ledger)
                let created = try await InstallerCreation(ledger: ledger, client: client, account: account).create(request)
                var out = StandardOutput()
                try out.write(CreatedRendering.text(created))
                try out.flush()
            }
        }

        /// `--from`: check the whole plan, then create what is not done yet.
        func createMany(from path: String) async throws {
            let plan = try CreationPlan.read(path: path)
            let ledger = try global.openLedger()
            // A plan's `account` column creates for several customers in one run: every
            // account is checked (and its client made) before anything is sent.
            var parts = [(CreationPlan, Account, ESETConnectClient)]()
            for name in plan.accounts {
                if let name, let other = api.accountName, name != other {
                    throw AccountError.invalid("the plan's line for account '\(name)' is not for --account \(other): remove --account, or the account column")
                }
                let account = try ledger.accountForRun(named: name ?? api.accountName, credentials: api.credentials, at: .now())
                parts.append((plan.lines(for: name), account, try api.client(for: account)))
            }
            let stop = BulkCreation.Stop()
            Interrupts.stopOnFirstInterrupt { stop.request() }
            defer { Interrupts.endStopping() }
            var renderer = BulkRendering(ndjson: format.lowercased() == "ndjson", total: plan.lines.count,
                                         progress: isatty(2) == 1)
            renderer.drawBar()
            var summary = BulkSummary(total: plan.lines.count)
            // One customer's refused credentials or outage does not stop the others' lines.
            for (part, account, client) in parts {
                guard !stop.isRequested else {
                    summary.notSent += part.lines.count
                    continue
                }
                let done = try await BulkCreation(ledger: ledger, client: client, account: account, concurrency: concurrency)
                    .run(part, stop: stop) { renderer.outcome($0) }
                summary.add(done)
            }
            if stop.isRequested { summary.interrupted = true }
            renderer.finish(summary)
            try BulkRendering.exitStatus(summary)
        }
    }
}

/// How a new installer is printed.
enum CreatedRendering {
    static func text(_ i: Installer) -> String {
        """
        created \(i.uuid)  "\(i.displayName)"
          expires:      \(i.expireTime?.rfc3339 ?? "-")
          group:        \(i.deviceEnrollment.groupDisplayName.isEmpty ? "-" : i.deviceEnrollment.groupDisplayName)
          products:     \(i.activatedProducts.map(\.productDisplayName).joined(separator: ", "))
          download URL: \(i.downloadUrl)

        """
    }
}

/// The output of `create --from`: one result per line on stdout as it happens (text or
/// NDJSON), a progress bar on stderr when stderr is a terminal, and the summary.
struct BulkRendering {
    let ndjson: Bool
    let total: Int
    let progress: Bool
    var done = 0
    var created = 0
    var failed = 0
    var uncertain = 0
    var barShown = false
    var barWidth = 0
    /// ANSI escapes only where the terminal has them (not with TERM=dumb).
    let escapes = ProgressLine.supportsEscapes(environment: ProcessInfo.processInfo.environment)

    init(ndjson: Bool, total: Int, progress: Bool) {
        self.ndjson = ndjson
        self.total = total
        self.progress = progress
    }

    mutating func outcome(_ outcome: BulkOutcome) {
        done += 1
        switch outcome.result {
        case .created: created += 1
        case .failed: failed += 1
        case .uncertain, .stillPending: uncertain += 1
        case .skipped, .elsewhere: break
        }
        clearBar()
        writeOut(ndjson ? Self.json(outcome) : Self.text(outcome))
        drawBar()
    }

    mutating func finish(_ summary: BulkSummary) {
        clearBar()
        if ndjson {
            StandardError.write(summary.line + "\n")
        } else {
            writeOut(summary.line + "\n")
        }
    }

    /// Throws the exit status: a stopping error first, then uncertain (75), interrupted (130), failed (65).
    static func exitStatus(_ summary: BulkSummary) throws {
        let notSent = summary.notSent > 0 ? "; \(summary.notSent) line\(summary.notSent == 1 ? "" : "s") not sent: run the same command again once this is fixed" : ""
        if let error = summary.stoppedBy {
            let (status, message) = classify(error)
            throw CommandFailure(status: status, message: message + notSent)
        }
        let uncertain = summary.uncertain + summary.stillPending
        if uncertain > 0 {
            throw CommandFailure(status: .uncertain, message: """
                \(uncertain) creation\(uncertain == 1 ? " has" : "s have") an uncertain outcome and stay\(uncertain == 1 ? "s" : "") pending: \
                run 'installer-ledger sync', then the same create --from again (lines already done are skipped)
                """)
        }
        if summary.elsewhere > 0 {
            throw CommandFailure(status: .uncertain, message: """
                \(summary.elsewhere) line\(summary.elsewhere == 1 ? " was" : "s were") being created by another run at the same moment and \
                not sent by this one: run the same create --from again once it has finished
                """)
        }
        if summary.interrupted && summary.notSent > 0 {
            StandardError.write("installer-ledger: interrupted; \(summary.notSent) lines not sent: run the same command again to create them\n")
            throw ExitCode(130)
        }
        if summary.failed > 0 {
            throw CommandFailure(status: .dataError, message: """
                \(summary.failed) line\(summary.failed == 1 ? "" : "s") failed (see above): fix \(summary.failed == 1 ? "it" : "them") \
                and run the same create --from again; lines already created are skipped
                """)
        }
    }

    static func text(_ o: BulkOutcome) -> String {
        let name = "\"\(o.line.request.displayName)\""
        switch o.result {
        case .created(let i):
            return "line \(o.line.number): created \(i.uuid) \(name) expires \(i.expireTime?.rfc3339 ?? "-") download URL \(i.downloadUrl)\n"
        case .skipped(let uuid):
            return "line \(o.line.number): skipped \(uuid) \(name) (created by an earlier run)\n"
        case .stillPending(let localId):
            return "line \(o.line.number): uncertain \(name): an earlier run's creation \(localId) is still pending; not sent again, run 'installer-ledger sync'\n"
        case .elsewhere(let localId):
            return "line \(o.line.number): in progress elsewhere \(name): another run claimed it at the same moment (creation \(localId)); not sent\n"
        case .uncertain(let error):
            return "line \(o.line.number): uncertain \(name): \(error.description)\n"
        case .failed(let error):
            return "line \(o.line.number): failed \(name): \(classify(error).1)\n"
        }
    }

    static func json(_ o: BulkOutcome) -> String {
        var object = JSONObject()
        object.append("line", .int(Int64(o.line.number)))
        object.append("key", .string(o.line.key))
        object.append("displayName", .string(o.line.request.displayName))
        switch o.result {
        case .created(let i):
            object.append("result", .string("created"))
            object.append("uuid", .string(i.uuid))
            object.append("expireTime", .optionalString(i.expireTime?.rfc3339))
            object.append("downloadUrl", .string(i.downloadUrl))
        case .skipped(let uuid):
            object.append("result", .string("skipped"))
            object.append("uuid", .string(uuid))
        case .stillPending(let localId):
            object.append("result", .string("pending"))
            object.append("pendingId", .string(localId))
        case .elsewhere(let localId):
            object.append("result", .string("elsewhere"))
            object.append("pendingId", .string(localId))
        case .uncertain(let error):
            object.append("result", .string("uncertain"))
            object.append("message", .string(error.description))
        case .failed(let error):
            object.append("result", .string("failed"))
            object.append("message", .string(classify(error).1))
        }
        return JSONValue.object(object).jsonText + "\n"
    }

    func writeOut(_ s: String) {
        var out = StandardOutput()
        try? out.write(s)
        try? out.flush()
    }

    mutating func clearBar() {
        guard barShown else { return }
        StandardError.write(ProgressLine.erase(width: barWidth, escapes: escapes))
        barShown = false
    }

    mutating func drawBar() {
        guard progress, total > 0 else { return }
        let width = 30
        let filled = done * width / total
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        let line = "[\(bar)] \(done)/\(total)  created \(created)  failed \(failed)  uncertain \(uncertain)"
        StandardError.write(line)
        barWidth = line.count
        barShown = true
    }
}
