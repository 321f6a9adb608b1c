import ArgumentParser
import Foundation
import InstallerLedger
import Logging

/// Options of commands that call ESET Connect. Credentials come from the environment or a
/// password file, never from the command line.
struct APIOptions: ParsableArguments {
    @Option(help: ArgumentHelp("ESET region: eu, de, us, jpn or ca (env ESET_CONNECT_REGION; default eu).", valueName: "region"))
    var region: String?

    @Option(name: .customLong("api-url"), help: ArgumentHelp(
        "One base URL serving /oauth/token and /v1/... (a sandbox or proxy; env ESET_CONNECT_API_URL). https only, except on loopback.",
        valueName: "url"))
    var apiURL: String?

    @Option(name: .customLong("password-file"), help: ArgumentHelp(
        "Read the password from this file (mode 0600) instead of ESET_CONNECT_PASSWORD.", valueName: "path"))
    var passwordFile: String?

    @Option(name: .customLong("rate-limit"), help: ArgumentHelp("Requests per second to allow (default 10, ESET's limit).", valueName: "n"))
    var rateLimit: Double = 10

    func validate() throws {
        guard rateLimit > 0, rateLimit <= 1000 else { throw ValidationError("--rate-limit must be between 0 and 1000 requests per second") }
    }

    /// A client from these options and the environment.
    /// - Throws: `ESETConnectError.configuration` naming what is missing.
    func client() throws -> ESETConnectClient {
        let env = ProcessInfo.processInfo.environment
        guard let username = env["ESET_CONNECT_USERNAME"], !username.isEmpty else {
            throw ESETConnectError.configuration("set ESET_CONNECT_USERNAME (and ESET_CONNECT_PASSWORD or --password-file) to the ESET Connect API user")
        }
        let password: String
        if let passwordFile {
            password = try ESETConnectConfiguration.readPasswordFile(passwordFile)
        } else if let fromEnv = env["ESET_CONNECT_PASSWORD"], !fromEnv.isEmpty {
            password = fromEnv
        } else {
            throw ESETConnectError.configuration("set ESET_CONNECT_PASSWORD or give --password-file with the API user's password")
        }
        let configuration: ESETConnectConfiguration
        if let url = apiURL ?? env["ESET_CONNECT_API_URL"], !url.isEmpty {
            configuration = try ESETConnectConfiguration(apiURL: url, username: username, password: password, rateLimit: rateLimit)
        } else {
            configuration = try ESETConnectConfiguration(region: region ?? env["ESET_CONNECT_REGION"] ?? "eu",
                                                         username: username, password: password, rateLimit: rateLimit)
        }
        return ESETConnectClient(configuration: configuration)
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
