import ArgumentParser
import ESETConnectSandbox
import Foundation
import InstallerLedger

extension InstallerLedgerCommand {
    struct Demo: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Walk through the main job against a simulated ESET Connect, without credentials or network.",
            discussion: """
                Starts the ESET Connect simulator (the library behind eset-connect-sandbox) on 127.0.0.1 with \
                two customer companies, each with a few installers already there, "created elsewhere", and a \
                fresh ledger in a new temporary folder. Then it runs this very binary, step by step, as you \
                would type it: create, a bulk create --from a small plan (twice: the second run creates \
                nothing), sync, list, show, history; then a second customer's account, sync --all, and a \
                reconcile, report, gaps, rotate preview and export over both. Credentials reach each step \
                through its environment only. The folder is removed at the end unless --keep.

                Examples:
                  installer-ledger demo
                  installer-ledger demo --keep
                """)

        @Option(help: ArgumentHelp("Use this NEW ledger file instead of one in the temporary folder (refused if it exists).", valueName: "path"))
        var db: String?

        @Flag(help: "Keep the temporary folder (ledger and plan) and say where it is.")
        var keep = false

        func validate() throws {
            if let db, PostgresURL.isPostgres(db) {
                throw ValidationError("the demo writes a new ledger file; give a path, not a PostgreSQL URL")
            }
        }

        func run() async throws {
            try await withExitCodes {
                if let db, FileManager.default.fileExists(atPath: db) {
                    throw CommandFailure(status: .usage, message: "\(db) exists: the demo needs a new ledger file, give another --db or none")
                }
                let folder = try DemoFolder()
                // Ctrl-C removes the folder before quitting (the steps die with it).
                let kept = keep
                Interrupts.onInterrupt {
                    // The step running now goes first: it would make the folder again.
                    DemoWalkthrough.stopRunningStep()
                    if !kept { folder.remove() }
                    StandardError.write("\ndemo: interrupted\(kept ? "" : "; removed \(folder.path)")\n")
                }
                defer { if !keep { folder.remove() } }
                let sandbox = SandboxServer(configuration: SandboxConfiguration(
                    password: DemoWalkthrough.password, tenants: DemoWalkthrough.tenants))
                let url = try await sandbox.start()
                do {
                    // The first customer's own device groups, in place of the built-in table's.
                    let own = await sandbox.catalog(tenant: DemoWalkthrough.username).deviceGroups.map(\.uuid)
                    let groups = Dictionary(zip(SandboxCatalog.standard.deviceGroups.map(\.uuid), own)) { a, _ in a }
                    let walkthrough = DemoWalkthrough(folder: folder.path, ledgerPath: db ?? folder.path + "/ledger.sqlite",
                                                      apiURL: url.absoluteString, groups: groups)
                    try await walkthrough.run()
                } catch {
                    await sandbox.stop()
                    throw error
                }
                await sandbox.stop()
                StandardError.write(keep
                    ? "\ndemo: kept \(folder.path) (try: INSTALLER_LEDGER_DB=\(db ?? folder.path + "/ledger.sqlite") installer-ledger list)\n"
                    : "\ndemo: done; removed \(folder.path)\n")
            }
        }
    }
}

/// One step of the demo: a command line of `installer-ledger` (or `cat FILE`), with
/// placeholders `{dir}` (the demo folder), `{plan}` (the bulk plan) and `{installer}` (a short
/// id of the first installer created). `api` steps get `--api-url`.
struct DemoStep {
    var title: String
    var arguments: [String]
    var api = false
    /// Exit codes that are part of the story (e.g. `report`'s 1 for WARNING).
    var expectedStatus: Set<Int32> = [0]

    init(_ title: String, _ arguments: [String], api: Bool = false, expectedStatus: Set<Int32> = [0]) {
        self.title = title
        self.arguments = arguments
        self.api = api
        self.expectedStatus = expectedStatus
    }
}

/// The demo's story, as data: add a step with one line.
struct DemoWalkthrough {
    static let password = "sandbox"
    static let username = "demo@example.com"
    /// The second customer's API user and the variable its account reads the password from.
    static let secondUsername = "api@globex.example"
    static let secondPasswordVariable = "GLOBEX_PASSWORD"
    static let installersElsewhere = 6
    /// With this seed, of the first customer's installers created elsewhere one has just
    /// expired and three expire within 30 days (5, 9 and 16 days): something for
    /// `list --expiring-within` and reports.
    static let seed: UInt64 = 204
    /// Two customer companies at the simulated ESET.
    static let tenants = [SandboxTenant(username: username, installers: installersElsewhere, seed: seed),
                          SandboxTenant(username: secondUsername, installers: 4)]

    static let steps: [DemoStep] = [
        DemoStep("Create one installer; it is recorded as pending before the request is sent", [
            "create", "--name", "Vienna office PCs", "--os", "windows", "--group", "4fb28e60-7351-40c2-9ea5-619db2c05e05",
            "--component", "13", "--component", "27"], api: true),
        DemoStep("Another, for Macs, in German", [
            "create", "--name", "Sales Macs", "--os", "macos", "--language", "de-de",
            "--group", "72e5b193-a684-43f5-81d8-94c0e5f38108", "--no-diagnostics"], api: true),
        DemoStep("A bulk plan: one installer per line", ["cat", "{plan}"]),
        DemoStep("Create everything in the plan (4 at a time, under the rate limit)", ["create", "--from", "{plan}"], api: true),
        DemoStep("Run it again: lines already done are skipped, nothing is duplicated", ["create", "--from", "{plan}"], api: true),
        DemoStep("Adopt what other scripts created, refresh the rest", ["sync"], api: true),
        DemoStep("Everything the ledger knows", ["list"]),
        DemoStep("What expires within 30 days", ["list", "--expiring-within", "30d"]),
        DemoStep("One installer in full (the download URL is a secret)", ["show", "{installer}"]),
        DemoStep("Its history", ["history", "{installer}"]),
        DemoStep("A second customer: its own ESET account (the password stays in a variable of its own)", [
            "account", "add", "globex", "--region", "eu", "--username", secondUsername, "--password-env", secondPasswordVariable]),
        DemoStep("The first API run made the first customer's account 'default'; give it its customer's name",
                 ["account", "rename", "default", "acme"]),
        DemoStep("Every customer at once, each with its own token and rate limit", ["sync", "--all"], api: true),
        DemoStep("The accounts, with their installers and last sync", ["account", "list"]),
        DemoStep("The second customer's installers (reads take --account, and name the account)", ["list", "--account", "globex"]),
        DemoStep("Mark what stopped working, for every customer: expired, unusable or gone at ESET", ["reconcile", "--all"], api: true),
        DemoStep("The nightly report for cron, over every customer: exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN", ["report"],
                 expectedStatus: [0, 1, 2]),
        DemoStep("Which groups and products will have no usable installer in 30 days", ["gaps"]),
        DemoStep("Replace what expires within 30 days, with the same settings (preview)", ["rotate", "--within", "30d", "--dry-run"], api: true),
        DemoStep("CSV for auditors, with a SHA-256 manifest beside it", ["export", "--output", "{dir}/installers.csv"]),
        DemoStep("The manifest", ["cat", "{dir}/installers.csv.sha256"]),
    ]

    static let plan = """
        name,os,language,group,cloud_feedback,pua_detection,diagnostics,components
        Brno branch PCs,windows,cs-cz,50c39f71-8462-41d3-8fb6-72aec3d16f06,true,true,false,13;27
        Finance laptops,windows,en-us,61d4a082-9573-42e4-90c7-83bfd4e27007,true,true,false,13;27;210
        Lobby kiosks,windows,,83f6c2a4-b795-4406-92e9-a5d1f6049209,,false,,
        Design studio Macs,macos,en-gb,1c8f5b3d-402e-4d9f-8b72-3e6a8f9d2b02,true,true,false,13;231

        """

    let folder: String
    let ledgerPath: String
    let apiURL: String
    /// The built-in table's group uuids the steps name, to the first customer's own.
    var groups: [String: String] = [:]

    /// A step's text with the first customer's group uuids.
    func ownGroups(_ text: String) -> String {
        groups.reduce(text) { $0.replacingOccurrences(of: $1.key, with: $1.value) }
    }

    func run() async throws {
        let planPath = folder + "/bulk-plan.csv"
        guard FileManager.default.createFile(atPath: planPath, contents: Data(ownGroups(Self.plan).utf8)) else {
            throw CommandFailure(status: .ioError, message: "cannot write the demo plan to \(planPath)")
        }
        let executable = try Self.ownExecutable()
        var environment = ProcessInfo.processInfo.environment.filter {
            !$0.key.hasPrefix("ESET_CONNECT_") && $0.key != "INSTALLER_LEDGER_DB"
        }
        environment["INSTALLER_LEDGER_DB"] = ledgerPath
        environment["ESET_CONNECT_USERNAME"] = Self.username
        environment["ESET_CONNECT_PASSWORD"] = Self.password
        environment[Self.secondPasswordVariable] = Self.password

        var out = StandardOutput()
        try out.write("""
            installer-ledger demo: the main job, against a simulated ESET Connect on this machine.
              ESET Connect:  \(apiURL) (loopback only; two customers, \(Self.installersElsewhere) and \(Self.tenants[1].installers) installers already there, created elsewhere)
              ledger:        \(ledgerPath) (new)
              credentials:   given to each step in ESET_CONNECT_USERNAME, ESET_CONNECT_PASSWORD and \(Self.secondPasswordVariable), never on the command line

            $ export INSTALLER_LEDGER_DB=\(Self.quoted(ledgerPath))

            """)
        try out.flush()

        var installer = ""
        for step in Self.steps {
            let arguments = step.arguments.map {
                ownGroups($0.replacingOccurrences(of: "{dir}", with: folder).replacingOccurrences(of: "{plan}", with: planPath)
                    .replacingOccurrences(of: "{installer}", with: installer))
            }
            try out.write("# \(step.title)\n")
            if arguments.first == "cat" {
                try out.write("$ " + arguments.map(Self.quoted).joined(separator: " ") + "\n")
                for path in arguments.dropFirst() {
                    try out.write((try? String(contentsOfFile: path, encoding: .utf8)) ?? "")
                }
                try out.write("\n")
                try out.flush()
                continue
            }
            var argv = arguments
            if step.api { argv.insert(contentsOf: ["--api-url", apiURL], at: 1) }
            try out.write("$ installer-ledger " + argv.map(Self.quoted).joined(separator: " ") + "\n")
            try out.flush()
            let (status, output): (Int32, String)
            do {
                (status, output) = try await Self.runChild(executable, argv, environment: environment)
            } catch {
                Self.awaitInterruptIfStopping()
                throw error
            }
            if !step.expectedStatus.contains(status) { Self.awaitInterruptIfStopping() }
            try out.write(output)
            if !output.isEmpty && !output.hasSuffix("\n") { try out.write("\n") }
            try out.write("\n")
            try out.flush()
            guard step.expectedStatus.contains(status) else {
                throw CommandFailure(status: .internalError, message: "demo step '\(arguments.joined(separator: " "))' exited \(status); please report it")
            }
            if installer.isEmpty, let uuid = Self.firstCreatedUuid(in: output) { installer = String(uuid.prefix(8)) }
        }
    }

    /// The uuid after the first `created ` in a step's output.
    static func firstCreatedUuid(in text: String) -> String? {
        guard let range = text.range(of: "created ") else { return nil }
        let candidate = text[range.upperBound...].prefix(36)
        return candidate.count == 36 && candidate.allSatisfy({ $0.isHexDigit || $0 == "-" }) ? String(candidate) : nil
    }

    /// This program's own file, to run the steps with.
    static func ownExecutable() throws -> String {
        if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return path }
        if let path = Bundle.main.executablePath { return path }
        let argument0 = CommandLine.arguments[0]
        if argument0.contains("/") { return URL(fileURLWithPath: argument0).standardizedFileURL.path }
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            let candidate = "\(dir)/\(argument0)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw CommandFailure(status: .internalError, message: "cannot find this program's own executable to run the demo steps")
    }

    /// The step's process while it runs, so that Ctrl-C can end it before the folder goes.
    nonisolated(unsafe) static var running: Process?
    /// Set by Ctrl-C: no further step starts.
    nonisolated(unsafe) static var interrupted = false
    static let runningLock = NSLock()

    /// After Ctrl-C a step ends early: wait for the signal's default action, which the
    /// handler raises once the folder is gone, instead of reporting a failed step.
    static func awaitInterruptIfStopping() {
        guard runningLock.withLock({ interrupted }) else { return }
        while true { pause() }
    }

    /// Ends the step that is running, if any, waits for it, and lets no other start.
    static func stopRunningStep() {
        let current: Process? = runningLock.withLock {
            interrupted = true
            return running
        }
        guard let process = current, process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }

    /// Runs a step off the Swift concurrency pool (the simulator keeps answering on it), with
    /// stdout and stderr in one pipe so the output reads as on a terminal.
    static func runChild(_ executable: String, _ arguments: [String], environment: [String: String]) async throws -> (Int32, String) {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: executable)
                process.arguments = arguments
                process.environment = environment
                let pipe = Pipe()
                process.standardOutput = pipe
                process.standardError = pipe
                process.standardInput = FileHandle.nullDevice
                do {
                    try runningLock.withLock {
                        guard !interrupted else { throw CommandFailure(status: .internalError, message: "interrupted") }
                        try process.run()
                        running = process
                    }
                } catch {
                    continuation.resume(throwing: CommandFailure(status: .internalError, message: "cannot run \(executable): \(error)"))
                    return
                }
                let data = pipe.fileHandleForReading.readDataToEndOfFile()
                process.waitUntilExit()
                continuation.resume(returning: (process.terminationStatus, String(decoding: data, as: UTF8.self)))
            }
        }
    }

    /// A word as a shell would need it: bare when safe, else in quotes.
    static func quoted(_ word: String) -> String {
        let safe = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=@%+,{}")
        if !word.isEmpty && word.unicodeScalars.allSatisfy(safe.contains) { return word }
        if !word.contains(where: { "\"$`\\!".contains($0) }) { return "\"\(word)\"" }
        return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}

/// The demo's temporary folder (mode 0700), made with `mkdtemp`.
final class DemoFolder: Sendable {
    let path: String

    init() throws {
        var template = Array((NSTemporaryDirectory() + "/installer-ledger-demo-XXXXXX").utf8CString)
        guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else {
            throw CommandFailure(status: .ioError, message: "cannot make a temporary folder in \(NSTemporaryDirectory()): \(String(cString: strerror(errno)))")
        }
        let made = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        path = URL(fileURLWithPath: made).standardizedFileURL.path
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}
