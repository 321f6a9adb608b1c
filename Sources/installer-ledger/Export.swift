import ArgumentParser
import InstallerLedger

extension InstallerLedgerCommand {
    // Placeholder while the command is being built; replaced by its real implementation.
    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "(not built yet)", shouldDisplay: false)
        func run() async throws { throw CommandFailure(status: .internalError, message: "not built yet") }
    }
}
