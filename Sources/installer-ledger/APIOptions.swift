import ArgumentParser
import Foundation
import InstallerLedger
import Logging

/// Options of commands that call ESET Connect. Credentials come from the account's stored
/// source, the environment or a password file, never from the command line.
struct APIOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "The ledger's ESET account to work for (env INSTALLER_LEDGER_ACCOUNT); implied when the ledger has one.",
        valueName: "name"))
    var account: String?

    @Option(help: ArgumentHelp("ESET region: eu, de, us, jpn or ca (env ESET_CONNECT_REGION; default eu).", valueName: "region"),
            completion: ValueParsing.regions)
    var region: String?

    @Option(name: .customLong("api-url"), help: ArgumentHelp(
        "Send this run's requests to this base URL serving /oauth/token and /v1/... (a sandbox or proxy; env ESET_CONNECT_API_URL); the account stays the same. https only, except on loopback.",
        valueName: "url"))
    var apiURL: String?

    @Option(name: .customLong("password-file"), help: ArgumentHelp(
        "Read the password from this file (mode 0600) instead of the account's source or ESET_CONNECT_PASSWORD.", valueName: "path"),
            completion: .file())
    var passwordFile: String?

    @Option(name: .customLong("rate-limit"), help: ArgumentHelp("Requests per second to allow, per account (default 10, ESET's limit).", valueName: "n"))
    var rateLimit: Double = 10

    func validate() throws {
        guard rateLimit > 0, rateLimit <= 1000 else { throw ValidationError("--rate-limit must be between 0 and 1000 requests per second") }
        if let region, !ESETConnectConfiguration.regions.contains(region) {
            throw ValidationError("'\(region)' is not an ESET region: use \(ESETConnectConfiguration.regions.joined(separator: ", "))")
        }
        if let name = accountName, !Account.isValidName(name) { throw ValidationError(AccountError.invalidName(name).description) }
    }

    /// `--account`, else `INSTALLER_LEDGER_ACCOUNT`.
    var accountName: String? {
        if let account, !account.isEmpty { return account }
        let fromEnv = ProcessInfo.processInfo.environment["INSTALLER_LEDGER_ACCOUNT"]
        return fromEnv?.isEmpty == false ? fromEnv : nil
    }

    /// What this run was given besides the account: environment and options.
    var credentials: RunCredentials {
        let env = ProcessInfo.processInfo.environment
        return RunCredentials(username: env["ESET_CONNECT_USERNAME"], region: region ?? env["ESET_CONNECT_REGION"],
                              transportURL: apiURL ?? env["ESET_CONNECT_API_URL"], passwordFile: passwordFile,
                              environment: env, rateLimit: rateLimit)
    }

    /// The account this run works for (see `Ledger.accountForRun`) and a client that calls
    /// ESET as it.
    /// - Throws: `AccountError`, `ESETConnectError.configuration`.
    func client(for ledger: Ledger) throws -> (Account, ESETConnectClient) {
        let account = try ledger.accountForRun(named: accountName, credentials: credentials, at: .now())
        return (account, try client(for: account))
    }

    /// A client that calls ESET as `account`.
    func client(for account: Account) throws -> ESETConnectClient {
        ESETConnectClient(configuration: try ESETConnectConfiguration(account: account, credentials: credentials))
    }
}

/// Whether both stdin and stderr are a terminal (to ask before destructive steps).
var isInteractive: Bool { isatty(0) == 1 && isatty(2) == 1 }

/// Asks a yes/no question on the terminal (default no). Without a terminal it refuses with
/// a usage error naming `--yes`, so a cron job never hangs or revokes by accident.
func confirm(_ question: String, refusal: String) throws -> Bool {
    guard isInteractive else { throw CommandFailure(status: .usage, message: "\(refusal): add --yes") }
    StandardError.write(question + " [y/N] ")
    guard let answer = readLine() else { return false }
    return ["y", "yes"].contains(answer.lowercased())
}
