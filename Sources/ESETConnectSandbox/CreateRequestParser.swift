import Foundation

/// Validates a `POST /v1/installers` body the way ESET's gateway does: first as protojson reads
/// it into the request message (every field of the wrong JSON type is a 400 naming it; int64
/// fields as numbers or strings; `null` is "not set"; unknown keys ignored), then as the service
/// checks it (read-only fields ignored).
enum CreateRequestParser {
    struct Invalid: Error {
        var message: String
    }

    /// Languages with a localised installer; others fall back to `en-us`.
    static let languages: Set<String> = [
        "en-us", "de-de", "sk-sk", "cs-cz", "fr-fr", "fr-ca", "es-es", "es-cl", "it-it", "ja-jp", "pl-pl",
        "pt-br", "nl-nl", "hu-hu", "ru-ru", "uk-ua", "zh-cn", "zh-tw", "ko-kr", "sv-se", "da-dk", "fi-fi",
        "nb-no", "tr-tr", "ro-ro", "hr-hr", "sl-si", "bg-bg", "el-gr", "lt-lt", "lv-lv", "et-ee",
    ]

    /// Component ids the OpenAPI file lists as supported.
    static let acceptedComponentIds: Set<Int64> = [13, 19, 20, 27, 29, 30, 167, 209, 210, 215, 230, 231]

    /// The request in `body`; a `securityGroupUuid` must name a group of `catalog` (the caller's company).
    static func parse(_ body: Data, catalog: SandboxCompanyCatalog = SandboxCatalog.standard)
        throws(Invalid) -> InstallerRequest
    {
        let bytes = [UInt8](body)
        let checker = ProtoJSONChecker(bytes: bytes)
        let document: JSONNode?
        do {
            document = try StrictJSONParser.parse(bytes)
        } catch {
            let (line, column) = StrictJSONParser.position(of: error.offset, in: bytes)
            throw Invalid(message: "proto: syntax error (line \(line):\(column)): \(error.detail); the request body must be a JSON object")
        }
        // An empty body is an empty message to gRPC-gateway, which then lacks `installer`.
        let root = document ?? JSONNode(value: .object([]), start: 0, end: 0)
        guard case .object = root.value else {
            throw checker.error(at: root.start, "unexpected token \(root.excerpt(in: bytes)); the request body must be a JSON object")
        }
        try checker.check(root, as: .createInstallerRequest)

        // The types are right from here on; what follows is the service's own validation.
        guard let installer = root["installer"] else {
            throw Invalid(message: "installer: required")
        }
        let displayName = (installer["displayName"]?.string ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        guard !displayName.isEmpty else { throw Invalid(message: "installer.displayName: must not be empty") }

        let os = installer["operatingSystemFamilyId"]?.int64 ?? 0
        switch os {
        case 1, 3: break
        case 2: throw Invalid(message: "installer.operatingSystemFamilyId: Linux installers (2) cannot be created through the API")
        default: throw Invalid(message: "installer.operatingSystemFamilyId: must be 1 (Windows) or 3 (macOS), got \(os)")
        }

        let language = (installer["preferredLanguageCode"]?.string ?? "").lowercased().replacingOccurrences(of: "_", with: "-")
        var groupIndex: Int?
        if let groupUuid = installer["deviceEnrollment"]?["securityGroupUuid"]?.string, !groupUuid.isEmpty {
            guard let index = catalog.groupIndex(uuid: groupUuid) else {
                throw Invalid(message: "installer.deviceEnrollment.securityGroupUuid: unknown security group \(groupUuid)")
            }
            groupIndex = index
        }

        var components: [Int64] = []
        for item in root["requestedComponentIds"]?.array ?? [] {
            guard let id = item.int64, acceptedComponentIds.contains(id) else {
                throw Invalid(message: "requestedComponentIds: unsupported component id \(item.excerpt(in: bytes))")
            }
            if !components.contains(id) { components.append(id) }
        }

        return InstallerRequest(
            displayName: displayName, operatingSystemFamilyId: os,
            preferredLanguageCode: languages.contains(language) ? language : "en-us",
            groupIndex: groupIndex,
            enableCloudScannerFeedback: installer["enableCloudScannerFeedback"]?.bool ?? false,
            enablePuaDetection: installer["enablePuaDetection"]?.bool ?? false,
            sendAnonymousDiagnosticData: installer["sendAnonymousDiagnosticData"]?.bool ?? false,
            componentIds: components)
    }
}

extension Error {
    /// The message of a validation error, for the Status body.
    var message: String {
        (self as? CreateRequestParser.Invalid)?.message ?? String(describing: self)
    }
}
