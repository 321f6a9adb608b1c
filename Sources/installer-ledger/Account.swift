import ArgumentParser
import Foundation
import InstallerLedger

extension InstallerLedgerCommand {
    struct AccountCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "account",
            abstract: "Manage the ESET accounts this ledger keeps (one per customer company).",
            discussion: """
                An account is one ESET Connect identity: a name for the ledger, a region (or an API base URL), \
                a username, and where its password comes from: an environment variable or a file only its \
                owner can read. The password itself is never stored.

                A ledger with one account needs no account command at all: the first API run makes 'default' \
                from ESET_CONNECT_USERNAME, --region and ESET_CONNECT_PASSWORD (or --password-file).

                Examples:
                  installer-ledger account add acme --region eu --username api@acme.example --password-env ACME_PASSWORD
                  installer-ledger account add globex --region us --username api@globex.example --password-file /etc/installer-ledger/globex.password
                  installer-ledger account list
                  installer-ledger sync --all
                """,
            subcommands: [Add.self, List.self, Show.self, Update.self, Rename.self, Remove.self])
    }
}

/// The identity and password source options of `account add` and `account update`.
struct AccountIdentityOptions: ParsableArguments {
    @Option(help: ArgumentHelp("ESET region: eu, de, us, jpn or ca.", valueName: "region"), completion: ValueParsing.regions)
    var region: String?

    @Option(name: .customLong("api-url"), help: ArgumentHelp(
        "Instead of a region: one base URL serving /oauth/token and /v1/... (https, or http on loopback).", valueName: "url"))
    var apiURL: String?

    @Option(help: ArgumentHelp("The ESET Connect API user.", valueName: "user"))
    var username: String?

    @Option(name: .customLong("password-env"), help: ArgumentHelp(
        "Read the password from this environment variable at each run.", valueName: "var"))
    var passwordEnv: String?

    @Option(name: .customLong("password-file"), help: ArgumentHelp(
        "Read the password from this file at each run (mode 0600; refused when group- or world-readable).", valueName: "path"),
            completion: .file())
    var passwordFile: String?

    func validate() throws {
        if region != nil, apiURL != nil { throw ValidationError("give either --region or --api-url, not both") }
        if passwordEnv != nil, passwordFile != nil { throw ValidationError("give either --password-env or --password-file, not both") }
        if let region, !ESETConnectConfiguration.regions.contains(region) {
            throw ValidationError("'\(region)' is not an ESET region: use \(ESETConnectConfiguration.regions.joined(separator: ", "))")
        }
        if let apiURL {
            do { _ = try ESETConnectConfiguration(apiURL: apiURL, username: "-", password: "-") } catch let error as ESETConnectError {
                throw ValidationError(error.description)
            }
        }
        if let username, username.isEmpty || username.contains(where: \.isNewline) { throw ValidationError("--username must not be empty") }
        if let passwordEnv {
            let ok = passwordEnv.first.map { $0 == "_" || ($0.isASCII && $0.isLetter) } == true
                && passwordEnv.allSatisfy { $0 == "_" || ($0.isASCII && ($0.isLetter || $0.isNumber)) }
            guard ok else { throw ValidationError("'\(passwordEnv)' is not an environment variable name: use letters, digits and '_', not starting with a digit") }
        }
        if let passwordFile {
            // The same check as at every run: it must exist and be readable by its owner only.
            do { _ = try ESETConnectConfiguration.readPasswordFile(passwordFile) } catch let error as ESETConnectError {
                throw ValidationError(error.description)
            }
        }
    }

    var endpoint: Account.Endpoint? { region.map(Account.Endpoint.region) ?? apiURL.map(Account.Endpoint.apiURL) }

    var passwordSource: Account.PasswordSource? {
        passwordEnv.map(Account.PasswordSource.environment)
            ?? passwordFile.map { Account.PasswordSource.file(URL(fileURLWithPath: $0).standardizedFileURL.path) }
    }
}

/// A validated account name argument.
func accountName(_ text: String) throws -> String {
    guard Account.isValidName(text) else { throw ValidationError(AccountError.invalidName(text).description) }
    return text
}

extension InstallerLedgerCommand.AccountCommand {
    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add an ESET account to the ledger.",
            discussion: """
                Example:
                  installer-ledger account add acme --region eu --username api@acme.example --password-env ACME_PASSWORD
                """)

        @OptionGroup var global: GlobalOptions
        @Argument(help: ArgumentHelp("Lower-case letters, digits, '.', '_', '-', starting with a letter or digit.", valueName: "name"),
                  transform: accountName)
        var name: String
        @OptionGroup var identity: AccountIdentityOptions

        func validate() throws {
            guard identity.endpoint != nil else { throw ValidationError("give --region REGION or --api-url URL") }
            guard identity.username != nil else { throw ValidationError("give --username USER (the ESET Connect API user)") }
            guard identity.passwordSource != nil else {
                throw ValidationError("give --password-env VAR or --password-file PATH (the password itself is never stored)")
            }
        }

        func run() async throws {
            try await withExitCodes {
                let ledger = try global.openLedger()
                let account = try ledger.addAccount(name: name, endpoint: identity.endpoint!, username: identity.username!,
                                                    passwordSource: identity.passwordSource!, at: .now())
                var out = StandardOutput()
                try out.write("added account \(account.name): \(account.username ?? "") at \(account.endpoint?.description ?? ""), password from \(account.passwordSource?.description ?? "")\n")
                try out.flush()
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the accounts with their installers by status and last successful sync.")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: ListFormatOptions

        func run() async throws {
            try await withExitCodes {
                let ledger = try global.openExistingLedger()
                let summaries = try ledger.accountSummaries()
                var out = StandardOutput()
                try out.write(AccountRendering.list(summaries, format: output.format))
                try out.flush()
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one account.")

        @OptionGroup var global: GlobalOptions
        @Argument(help: ArgumentHelp("The account's name.", valueName: "name"), transform: accountName)
        var name: String
        @Option(help: ArgumentHelp("table or json.", valueName: "format"), completion: .list(["table", "json"]))
        var format = "table"

        func validate() throws {
            guard ["table", "json"].contains(format.lowercased()) else { throw ValidationError("'\(format)' is not a format: use table or json") }
        }

        func run() async throws {
            try await withExitCodes {
                let ledger = try global.openExistingLedger()
                let account = try ledger.account(named: name)
                guard let summary = try ledger.accountSummaries(.only(account)).first else { throw AccountError.unknown(name, known: []) }
                var out = StandardOutput()
                if format.lowercased() == "json" {
                    var w = JSONWriter()
                    w.write(.object(AccountRendering.jsonObject(summary)))
                    try out.write(w.string + "\n")
                } else {
                    try out.write(AccountRendering.detail(summary))
                }
                try out.flush()
            }
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change an account's region or URL, username or password source.",
            discussion: """
                Example:
                  installer-ledger account update acme --password-file /etc/installer-ledger/acme.password
                """)

        @OptionGroup var global: GlobalOptions
        @Argument(help: ArgumentHelp("The account's name.", valueName: "name"), transform: accountName)
        var name: String
        @OptionGroup var identity: AccountIdentityOptions

        func validate() throws {
            guard identity.endpoint != nil || identity.username != nil || identity.passwordSource != nil else {
                throw ValidationError("nothing to change: give --region/--api-url, --username or --password-env/--password-file")
            }
        }

        func run() async throws {
            try await withExitCodes {
                let ledger = try global.openExistingLedger()
                let account = try ledger.updateAccount(name, endpoint: identity.endpoint, username: identity.username,
                                                       passwordSource: identity.passwordSource)
                var out = StandardOutput()
                try out.write("updated account \(account.name): \(account.username ?? "-") at \(account.endpoint?.description ?? "-"), password from \(account.passwordSource?.description ?? "-")\n")
                try out.flush()
            }
        }
    }

    struct Rename: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Rename an account; its installers and history follow.",
            discussion: """
                Example:
                  installer-ledger account rename default acme
                """)

        @OptionGroup var global: GlobalOptions
        @Argument(help: ArgumentHelp("The current name.", valueName: "old"), transform: accountName)
        var old: String
        @Argument(help: ArgumentHelp("The new name.", valueName: "new"), transform: accountName)
        var new: String

        func run() async throws {
            try await withExitCodes {
                let ledger = try global.openExistingLedger()
                try ledger.renameAccount(old, to: new)
                var out = StandardOutput()
                try out.write("renamed account \(old) to \(new)\n")
                try out.flush()
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove an account that has nothing in the ledger, or archive one that has.",
            discussion: """
                The ledger never forgets: an account with installers is refused unless --archive, which keeps \
                it and its whole history but hides it from the defaults of every command (sync --all, reports, \
                list); --account NAME still reads it.

                Example:
                  installer-ledger account remove globex --archive
                """)

        @OptionGroup var global: GlobalOptions
        @Argument(help: ArgumentHelp("The account's name.", valueName: "name"), transform: accountName)
        var name: String
        @Flag(help: "Keep the account and its history, hidden from defaults.")
        var archive = false

        func run() async throws {
            try await withExitCodes {
                let ledger = try global.openExistingLedger()
                let done = try ledger.removeAccount(name, archive: archive, at: .now())
                var out = StandardOutput()
                try out.write(done == .archived ? "archived account \(name): its history stays in the ledger\n" : "removed account \(name)\n")
                try out.flush()
            }
        }
    }
}
