import Foundation

/// What a create request asks for, after validation.
struct InstallerRequest: Sendable {
    var displayName: String
    var operatingSystemFamilyId: Int64
    var preferredLanguageCode: String
    var groupIndex: Int?
    var enableCloudScannerFeedback: Bool
    var enablePuaDetection: Bool
    var sendAnonymousDiagnosticData: Bool
    var componentIds: [Int64]
}

/// Makes installers the way ESET fills them in: uuid, download URL, times, products, components.
enum InstallerGenerator {
    /// Host of generated download URLs; `.invalid` never resolves (RFC 2606).
    static let downloadHost = "download.sandbox.invalid"

    /// A new installer for `request`, created at `nowMicros`.
    static func make(_ request: InstallerRequest, nowMicros: Int64, using rng: inout some RandomNumberGenerator)
        -> InstallerRecord
    {
        let uuid = rng.uuidString()
        return InstallerRecord(
            uuid: uuid, displayName: request.displayName,
            operatingSystemFamilyId: request.operatingSystemFamilyId,
            preferredLanguageCode: request.preferredLanguageCode, groupIndex: request.groupIndex,
            enableCloudScannerFeedback: request.enableCloudScannerFeedback,
            enablePuaDetection: request.enablePuaDetection,
            sendAnonymousDiagnosticData: request.sendAnonymousDiagnosticData,
            downloadUrl: "https://\(downloadHost)/installers/\(uuid)/\(rng.hexString(count: 32))",
            createMicros: nowMicros, expireMicros: SandboxTime.adding(months: 6, to: nowMicros),
            componentIds: request.componentIds.isEmpty
                ? SandboxCatalog.defaultComponentIds(operatingSystemFamilyId: request.operatingSystemFamilyId)
                : request.componentIds)
    }

    /// `count` installers as an administrator's scripts would have left them: created over the
    /// last ~7 months (so some have expired and some expire within 30 days), spread over the
    /// groups of `catalog`, mostly Windows. The same seed gives the same installers (times relative
    /// to `nowMicros`).
    static func prepopulated(count: Int, seed: UInt64, nowMicros: Int64,
                             catalog: SandboxCompanyCatalog = SandboxCatalog.standard) -> [InstallerRecord]
    {
        var rng = SeededGenerator(seed: seed)
        let span: Int64 = 212 * 86_400_000_000, minimumAge: Int64 = 3_600_000_000
        var records: [InstallerRecord] = []
        records.reserveCapacity(count)
        for number in 0..<count {
            let isMac = Int.random(in: 0..<4, using: &rng) == 0
            let os: Int64 = isMac ? 3 : 1
            let groupIndex = Int.random(in: 0..<(catalog.deviceGroups.count + 2), using: &rng)
            let group = groupIndex < catalog.deviceGroups.count ? groupIndex : nil
            var components: [Int64] = isMac
                ? [13, Bool.random(using: &rng) ? 231 : 230]
                : [13, [27, 27, 27, 19, 20].randomElement(using: &rng)!]
            if !isMac, Int.random(in: 0..<5, using: &rng) == 0 { components.append(167) }
            if !isMac, Int.random(in: 0..<8, using: &rng) == 0 { components.append(210) }
            let request = InstallerRequest(
                displayName: displayName(number: number, place: group.map { catalog.placeNames[$0] },
                                         isMac: isMac, using: &rng),
                operatingSystemFamilyId: os,
                preferredLanguageCode: ["en-us", "en-us", "en-us", "de-de", "sk-sk", "cs-cz", "fr-fr", "ja-jp"]
                    .randomElement(using: &rng)!,
                groupIndex: group,
                enableCloudScannerFeedback: Int.random(in: 0..<10, using: &rng) > 0,
                enablePuaDetection: Int.random(in: 0..<10, using: &rng) > 1,
                sendAnonymousDiagnosticData: Bool.random(using: &rng),
                componentIds: components)
            let age = Int64.random(in: minimumAge...span, using: &rng)
            records.append(make(request, nowMicros: nowMicros - age, using: &rng))
        }
        return records
    }

    private static func displayName(number: Int, place: String?, isMac: Bool, using rng: inout SeededGenerator)
        -> String
    {
        let place = place ?? "Unassigned"
        let os = isMac ? "macOS" : "Windows"
        switch Int.random(in: 0..<100, using: &rng) {
        case 0: return "=HYPERLINK(\"http://example.invalid\",\"\(place)\")"
        case 1: return "Sales, EMEA \"Q\(number % 4 + 1)\" – \(os)"
        case 2: return "+\(number) helpdesk"
        case 3: return "@reception \(os)"
        case 4..<40: return "\(place) – \(os)"
        case 40..<70: return "\(place) \(os) #\(number % 97 + 1)"
        default: return "\(os) rollout \(place) batch \(number % 50 + 1)"
        }
    }
}
