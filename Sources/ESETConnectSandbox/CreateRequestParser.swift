import Foundation

/// Validates a `POST /v1/installers` body the way ESET's gateway does: int64 fields as
/// numbers or strings, unknown keys ignored, read-only fields ignored.
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
        guard let root = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] else {
            throw Invalid(message: "request body must be a JSON object")
        }
        guard let installer = root["installer"] as? [String: Any] else {
            throw Invalid(message: "installer: required")
        }
        let displayName = (installer["displayName"] as? String ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        guard !displayName.isEmpty else { throw Invalid(message: "installer.displayName: must not be empty") }

        let os = try int64(installer["operatingSystemFamilyId"], "installer.operatingSystemFamilyId") ?? 0
        switch os {
        case 1, 3: break
        case 2: throw Invalid(message: "installer.operatingSystemFamilyId: Linux installers (2) cannot be created through the API")
        default: throw Invalid(message: "installer.operatingSystemFamilyId: must be 1 (Windows) or 3 (macOS), got \(os)")
        }

        let language = (installer["preferredLanguageCode"] as? String ?? "").lowercased().replacingOccurrences(of: "_", with: "-")
        var groupIndex: Int?
        if let enrollment = installer["deviceEnrollment"] as? [String: Any],
           let groupUuid = enrollment["securityGroupUuid"] as? String, !groupUuid.isEmpty {
            guard let index = catalog.groupIndex(uuid: groupUuid) else {
                throw Invalid(message: "installer.deviceEnrollment.securityGroupUuid: unknown security group \(groupUuid)")
            }
            groupIndex = index
        }

        var components: [Int64] = []
        if let raw = root["requestedComponentIds"], !(raw is NSNull) {
            guard let list = raw as? [Any] else { throw Invalid(message: "requestedComponentIds: must be an array") }
            for item in list {
                guard let id = try int64(item, "requestedComponentIds"), acceptedComponentIds.contains(id) else {
                    throw Invalid(message: "requestedComponentIds: unsupported component id \(item)")
                }
                if !components.contains(id) { components.append(id) }
            }
        }

        return InstallerRequest(
            displayName: displayName, operatingSystemFamilyId: os,
            preferredLanguageCode: languages.contains(language) ? language : "en-us",
            groupIndex: groupIndex,
            enableCloudScannerFeedback: installer["enableCloudScannerFeedback"] as? Bool ?? false,
            enablePuaDetection: installer["enablePuaDetection"] as? Bool ?? false,
            sendAnonymousDiagnosticData: installer["sendAnonymousDiagnosticData"] as? Bool ?? false,
            componentIds: components)
    }

    /// An int64 given as a JSON number or a JSON string (gRPC-gateway accepts both).
    private static func int64(_ value: Any?, _ field: String) throws(Invalid) -> Int64? {
        switch value {
        case nil, is NSNull: return nil
        case let text as String:
            guard let number = Int64(text) else { throw Invalid(message: "\(field): '\(text)' is not an integer") }
            return number
        case let number as NSNumber:
            let double = number.doubleValue
            guard double == double.rounded(), abs(double) < 9.2e18 else {
                throw Invalid(message: "\(field): \(number) is not an integer")
            }
            return number.int64Value
        default:
            throw Invalid(message: "\(field): must be an integer")
        }
    }
}

extension Error {
    /// The message of a validation error, for the Status body.
    var message: String {
        (self as? CreateRequestParser.Invalid)?.message ?? String(describing: self)
    }
}
