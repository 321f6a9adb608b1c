import ArgumentParser
import Foundation
import InstallerLedger
import Logging

/// Options every command takes: where the ledger is and how much to log.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "The ledger: a SQLite file, or a postgresql://[user@]host[:port]/dbname[?sslmode=...] URL (env INSTALLER_LEDGER_DB; default $XDG_DATA_HOME/installer-ledger/ledger.sqlite).",
        valueName: "path"), completion: .file())
    var db: String?

    @Flag(name: .shortAndLong, help: "Log what happens to stderr (secrets are never logged).")
    var verbose = false

    /// The ledger path from --db, the environment, or the default.
    var ledgerPath: String {
        let env = ProcessInfo.processInfo.environment
        if let db, !db.isEmpty { return db }
        if let fromEnv = env["INSTALLER_LEDGER_DB"], !fromEnv.isEmpty { return fromEnv }
        return Ledger.defaultPath(environment: env)
    }

    /// Opens (creating if needed) the ledger.
    func openLedger() throws -> Ledger { try opened(Ledger.open(path: ledgerPath)) }

    private func opened(_ ledger: Ledger) -> Ledger {
        Logger(label: "installer-ledger").debug("opened ledger", metadata: ["path": "\(ledger.path)"])
        return ledger
    }

    /// Opens the ledger for a command that only reads: a missing file is never created.
    /// - Throws: `CommandFailure` (66) saying there is no ledger at that path and how to make one.
    func openExistingLedger() throws -> Ledger {
        let path = ledgerPath
        // A PostgreSQL database without the ledger's tables is refused (66), never given them.
        if PostgresURL.isPostgres(path) { return try opened(Ledger.openExisting(path: path)) }
        guard FileManager.default.fileExists(atPath: path) else {
            throw CommandFailure(status: .noInput, message: "there is no ledger at \(path); create one with 'installer-ledger import FILE' or 'installer-ledger sync', or name another with --db")
        }
        return try openLedger()
    }

    /// Sets up logging once, at the start of `main`, before any client or ledger exists, so
    /// every logger made later logs at the level `-v` asked for.
    static func bootstrapLogging(verbose: Bool) {
        LoggingSystem.bootstrapOnce(level: verbose ? .debug : .warning)
    }
}

extension LoggingSystem {
    nonisolated(unsafe) private static var bootstrapped = false

    /// Installs a stderr handler at `level` the first time it is called.
    static func bootstrapOnce(level: Logger.Level) {
        guard !bootstrapped else { return }
        bootstrapped = true
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}

// MARK: - Value parsing

/// Command-line values with messages that say what is accepted.
enum ValueParsing {
    static func duration(_ text: String) throws -> LedgerDuration {
        guard let d = LedgerDuration(parsing: text) else {
            throw ValidationError("'\(text)' is not a duration: use \(LedgerDuration.accepted)")
        }
        return d
    }

    /// A duration, or `off`.
    static func durationOrOff(_ text: String) throws -> LedgerDuration? {
        if text.lowercased() == "off" { return nil }
        guard let d = LedgerDuration(parsing: text) else {
            throw ValidationError("'\(text)' is not a duration: use \(LedgerDuration.accepted), or off")
        }
        return d
    }

    static func date(_ text: String) throws -> Timestamp {
        do {
            return try Timestamp(commandLine: text)
        } catch {
            throw ValidationError("'\(text)' is not a date: use 2026-05-01 or an RFC 3339 timestamp such as 2026-05-01T12:00:00Z (\(error))")
        }
    }

    static func os(_ text: String) throws -> OperatingSystemFamily {
        guard let os = OperatingSystemFamily(word: text), os != .unspecified else {
            throw ValidationError("'\(text)' is not an operating system: use windows, macos or linux")
        }
        return os
    }

    static func choice<T: RawRepresentable & CaseIterable>(_ text: String, _: T.Type, what: String) throws -> T where T.RawValue == String {
        guard let v = T(rawValue: text.lowercased()) else {
            throw ValidationError("'\(text)' is not a \(what): use \(T.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return v
    }
}

/// The one `--now` option, for back-dating and tests, in every command that has it.
struct ClockOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Run as if the current time were this (RFC 3339 or YYYY-MM-DD).", valueName: "timestamp"),
            transform: ValueParsing.date)
    var now: Timestamp?

    var current: Timestamp { now ?? .now() }
}

/// `--account NAME` (repeatable) of the commands that read: which accounts to cover; every
/// account that is not archived by default.
struct ReadScopeOptions: ParsableArguments {
    @Option(name: .customLong("account"), help: ArgumentHelp(
        "Only this account's installers (repeatable; env INSTALLER_LEDGER_ACCOUNT; default: every account).", valueName: "name"))
    var accounts: [String] = []

    func validate() throws {
        for name in names where !Account.isValidName(name) { throw ValidationError(AccountError.invalidName(name).description) }
    }

    /// The names given, else `INSTALLER_LEDGER_ACCOUNT`, else none (every account).
    var names: [String] {
        if !accounts.isEmpty { return accounts }
        if let env = ProcessInfo.processInfo.environment["INSTALLER_LEDGER_ACCOUNT"], !env.isEmpty { return [env] }
        return []
    }

    /// The scope, checked against the ledger's accounts.
    /// - Throws: `AccountError.unknown` naming the accounts there are.
    func scope(_ ledger: Ledger) throws -> AccountScope { try ledger.scope(named: names) }

    /// Whether tables need an ACCOUNT column: the read covers more than one account.
    func showsAccount(_ ledger: Ledger) throws -> Bool {
        if names.count > 1 { return true }
        return try names.isEmpty && ledger.accounts().filter { $0.archivedAt == nil }.count > 1
    }
}

// MARK: - Choices, typed and completed

extension ValueParsing {
    /// A transform for one of an enum's values (case-insensitive), refused with what is accepted.
    static func choiceOf<T: RawRepresentable & CaseIterable & Sendable>(_: T.Type, what: String)
        -> @Sendable (String) throws -> T where T.RawValue == String
    {
        { text in try choice(text, T.self, what: what) }
    }

    /// Shell completion listing an enum's values.
    static func values<T: RawRepresentable & CaseIterable>(_: T.Type) -> CompletionKind where T.RawValue == String {
        .list(T.allCases.map(\.rawValue))
    }

    /// ESET's regions, for completion.
    static let regions = CompletionKind.list(ESETConnectConfiguration.regions)
}

/// `--format` of the commands that list rows (list, history, gaps, account list).
struct ListFormatOptions: ParsableArguments {
    @Option(help: ArgumentHelp("table, json, ndjson or csv.", valueName: "format"), completion: ValueParsing.values(OutputFormat.self),
            transform: ValueParsing.choiceOf(OutputFormat.self, what: "format"))
    var format: OutputFormat = .table
}
