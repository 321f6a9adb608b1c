import ArgumentParser
import ESETConnectSandbox
import Foundation

/// `eset-connect-sandbox`: runs the ESET Connect simulator until SIGINT or SIGTERM.
struct SandboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eset-connect-sandbox",
        abstract: "A local simulator of the ESET Connect token and installer endpoints, on loopback.",
        discussion: """
            Prints "listening on http://HOST:PORT" as its first line on stdout, then
            serves POST /oauth/token, /v1/installers... and the control endpoints
            /_sandbox/knobs, /_sandbox/clock?advance=SECONDS,
            /_sandbox/installers[?tenant=USERNAME], POST /_sandbox/installers/UUID/unlist
            and .../relist, /_sandbox/companies and /_sandbox/requests until SIGINT or
            SIGTERM. Any username is accepted with the configured password.

            Without --tenant every username shares one company of --installers
            installers. With --tenant (repeatable) each listed username is a company of
            its own, with its own installers, device groups and licences, and sees only
            those; any other username gets a new empty company of its own. --installers
            and --tenant cannot be combined: give each tenant its count as USERNAME:N,
            e.g. --tenant acme@example.com:20 --tenant globex@example.com:5
            """)

    @Option(help: "Loopback address to listen on (127.0.0.1, ::1 or localhost).")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on; 0 picks a free one.")
    var port: UInt16 = 0

    @Option(help: "Password the token endpoint accepts (any username).")
    var password = "sandbox"

    @Option(name: .customLong("installers"),
            help: "Number of generated installers present at start, shared by every username (default 0; not with --tenant).")
    var installers: Int?

    @Option(name: .customLong("tenant"),
            help: ArgumentHelp("A company of its own for USERNAME, with N generated installers (default 0). Repeat for more tenants.",
                               valueName: "username[:n]"))
    var tenantArguments: [String] = []

    @Option(help: "Seed of the generated installers (same seed, same installers); with --tenant, mixed with each username.")
    var seed: UInt64 = SandboxConfiguration.defaultSeed

    @Option(name: .customLong("latency-ms"), help: "Delay before every answer, in milliseconds.")
    var latencyMilliseconds = 0

    @Option(name: .customLong("rate-limit"), help: "Requests per second allowed before answering 429.")
    var rateLimit: Int?

    @Option(name: .customLong("retry-after"), help: "Retry-After seconds sent with 429 answers.")
    var retryAfter: Int?

    @Option(name: .customLong("accepted-202"), help: "Answer each successful request 202 this many times before its result.")
    var accepted202 = 0

    @Option(name: .customLong("token-lifetime"), help: "Access-token lifetime in seconds.")
    var tokenLifetime: Int = 3600

    @Flag(name: .customLong("int64-as-numbers"), help: "Encode int64 fields as JSON numbers instead of strings.")
    var int64AsNumbers = false

    @Flag(name: .customLong("keep-alive"), help: "Keep connections open between requests (by default every answer closes its connection, so dropped connections reach curl-based clients as errors).")
    var keepAlive = false

    func validate() throws {
        guard ["127.0.0.1", "::1", "[::1]", "localhost"].contains(host.lowercased()) || host.hasPrefix("127.") else {
            throw ValidationError("--host must be a loopback address (127.0.0.1, ::1 or localhost); the sandbox never listens on a network, got '\(host)'.")
        }
        guard (installers ?? 0) >= 0 else { throw ValidationError("--installers must be 0 or more.") }
        let tenants = try parsedTenants()
        guard installers == nil || tenants.isEmpty else {
            throw ValidationError("--installers and --tenant cannot be combined: --installers fills the one company every username shares, --tenant gives each username its own; write the count as --tenant USERNAME:N.")
        }
        guard latencyMilliseconds >= 0 else { throw ValidationError("--latency-ms must be 0 or more.") }
        guard rateLimit.map({ $0 > 0 }) ?? true else { throw ValidationError("--rate-limit must be at least 1.") }
        guard retryAfter.map({ $0 >= 0 }) ?? true else { throw ValidationError("--retry-after must be 0 or more.") }
        guard accepted202 >= 0 else { throw ValidationError("--accepted-202 must be 0 or more.") }
        guard tokenLifetime > 0 else { throw ValidationError("--token-lifetime must be at least 1 second.") }
    }

    /// The `--tenant` values as tenants.
    /// - Throws: `ValidationError` (a usage error) naming the bad value.
    func parsedTenants() throws -> [SandboxTenant] {
        do {
            let tenants = try tenantArguments.map(SandboxTenant.init(argument:))
            try SandboxTenant.validate(tenants)
            return tenants
        } catch {
            throw ValidationError("--tenant: \(error.errorDescription ?? String(describing: error))")
        }
    }

    func run() async throws {
        // Caught before the port is printed: whoever reads the line may send SIGTERM at once.
        let termination = await TerminationSignal.caught()
        let sandbox = SandboxServer(configuration: SandboxConfiguration(
            host: host, port: port, password: password, prepopulatedInstallers: installers ?? 0, seed: seed,
            tokenLifetime: TimeInterval(tokenLifetime), int64AsStrings: !int64AsNumbers, keepAlive: keepAlive,
            knobs: SandboxKnobs(
                latencyMilliseconds: latencyMilliseconds, accepted202Count: accepted202,
                rateLimitPerSecond: rateLimit, retryAfterSeconds: retryAfter),
            tenants: try parsedTenants()))
        let url = try await sandbox.start()
        // Unbuffered: a parent process reads this line from a pipe before it sends anything.
        FileHandle.standardOutput.write(Data("listening on \(url.absoluteString)\n".utf8))
        let signal = await termination.wait()
        FileHandle.standardError.write(Data("eset-connect-sandbox: received \(signal), stopping\n".utf8))
        await sandbox.stop()
    }
}

/// SIGINT and SIGTERM, caught from ``caught()`` on (a signal that arrives before ``wait()`` is
/// kept), so a signal sent right after the "listening" line is never lost.
private final class TerminationSignal: @unchecked Sendable {
    private let lock = NSLock()
    private var received: String?
    private var continuation: CheckedContinuation<String, Never>?
    private var sources: [any DispatchSourceSignal] = []

    private init() {}

    /// Starts catching and returns once both signals are caught. `resume()` registers a source
    /// asynchronously, and until libdispatch has installed its handler the `SIG_IGN` set here
    /// discards the signal; the registration handlers say when that is done.
    static func caught() async -> TerminationSignal {
        let termination = TerminationSignal()
        await withCheckedContinuation { (registered: CheckedContinuation<Void, Never>) in
            let group = DispatchGroup()
            for (number, name) in [(SIGINT, "SIGINT"), (SIGTERM, "SIGTERM")] {
                signal(number, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
                source.setEventHandler { termination.deliver(name) }
                group.enter()
                source.setRegistrationHandler { group.leave() }
                source.resume()
                termination.sources.append(source)
            }
            group.notify(queue: .global()) { registered.resume() }
        }
        return termination
    }

    /// Suspends until the first signal has arrived; returns its name.
    func wait() async -> String {
        await withCheckedContinuation { continuation in
            let arrived = lock.withLock { () -> String? in
                if received == nil { self.continuation = continuation }
                return received
            }
            if let arrived { continuation.resume(returning: arrived) }
        }
    }

    private func deliver(_ name: String) {
        let waiting = lock.withLock { () -> CheckedContinuation<String, Never>? in
            guard received == nil else { return nil }
            received = name
            defer { continuation = nil }
            return continuation
        }
        waiting?.resume(returning: name)
    }
}

extension SandboxCommand {
    /// Parses and runs the command. `main.swift` cannot hold `@main`, and in its top-level code
    /// `SandboxCommand.main()` resolves to the synchronous overload (which only prints the help
    /// of an async command), so the async `run()` is called from an async function.
    static func launch() async {
        do {
            let command = try parse()
            try await command.run()
        } catch {
            exit(withError: error)
        }
    }
}

await SandboxCommand.launch()
