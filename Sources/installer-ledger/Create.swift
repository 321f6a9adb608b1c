import ArgumentParser
import Foundation
import InstallerLedger

extension InstallerLedgerCommand {
    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an installer through ESET Connect and record it at once.",
            discussion: """
                The creation is written to the ledger as pending BEFORE the request is sent. If the answer \
                never arrives (timeout, lost connection, 5xx), the command exits 75 and the creation stays \
                pending: it is never re-sent automatically. Run 'installer-ledger sync' to find out whether \
                ESET created it.

                Prints the uuid, expiry and download URL of the new installer. The download URL is a secret.

                Examples:
                  installer-ledger create --name "Vienna office PCs" --os windows --group 5e0c3c43-...
                  installer-ledger create --name "Sales Macs" --os macos --language de-de --component 13 --component 231
                """)

        @OptionGroup var global: GlobalOptions
        @OptionGroup var api: APIOptions

        @Option(help: ArgumentHelp("The installer's display name.", valueName: "name"))
        var name: String

        @Option(help: ArgumentHelp("windows or macos (ESET does not create Linux installers).", valueName: "os"),
                transform: ValueParsing.os)
        var os: OperatingSystemFamily

        @Option(help: ArgumentHelp("Preferred GUI language, BCP 47 (default en-us).", valueName: "code"))
        var language: String = "en-us"

        @Option(help: ArgumentHelp("Security group uuid devices join (default: ESET's choice, else Lost & found).", valueName: "uuid"))
        var group: String?

        @Flag(inversion: .prefixedNo, help: "Use ESET's cloud scanning (LiveGrid) feedback.")
        var cloudFeedback = true

        @Flag(inversion: .prefixedNo, help: "Detect potentially unwanted applications.")
        var puaDetection = true

        @Flag(inversion: .prefixedNo, help: "Send anonymous diagnostic data to ESET.")
        var diagnostics = false

        @Option(name: .customLong("component"), help: ArgumentHelp(
            "A component id to include (repeatable): 13 agent, 19/27 Windows endpoint, 20 file server, 29/30/230/231 macOS, 167 Inspect, 210 encryption, 209/215 Linux.",
            valueName: "id"))
        var components: [Int64] = []

        var request: CreateInstallerRequest {
            CreateInstallerRequest(displayName: name, operatingSystemFamilyId: os.rawValue, preferredLanguageCode: language,
                                   securityGroupUuid: group, enableCloudScannerFeedback: cloudFeedback,
                                   enablePuaDetection: puaDetection, sendAnonymousDiagnosticData: diagnostics,
                                   requestedComponentIds: components)
        }

        func validate() throws {
            if let problem = request.problem { throw ValidationError(problem) }
        }

        func run() async throws {
            try await withExitCodes {
                let client = try api.client()
                let ledger = try global.openLedger()
                let created = try await InstallerCreation(ledger: ledger, client: client).create(request)
                var out = StandardOutput()
                try out.write(CreatedRendering.text(created))
                try out.flush()
            }
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
