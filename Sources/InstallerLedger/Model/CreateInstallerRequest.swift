/// The body of `POST /v1/installers` (`v1CreateInstallerRequest`): every writable field of
/// an installer plus the requested component ids.
public struct CreateInstallerRequest: Sendable, Equatable, Encodable {
    public var displayName: String
    /// 1 Windows, 3 macOS (ESET refuses Linux through the API).
    public var operatingSystemFamilyId: Int64
    /// BCP 47; ESET falls back to `en-us`.
    public var preferredLanguageCode: String
    /// The group devices join; nil lets ESET choose (same-name device's group, else Lost & found).
    public var securityGroupUuid: String?
    public var enableCloudScannerFeedback: Bool
    public var enablePuaDetection: Bool
    public var sendAnonymousDiagnosticData: Bool
    /// Explicit components; empty lets ESET choose from the licences.
    public var requestedComponentIds: [Int64]

    /// Component ids ESET accepts in `requestedComponentIds`.
    public static let knownComponentIds: Set<Int64> = [13, 19, 20, 27, 29, 30, 167, 209, 210, 215, 230, 231]

    public init(displayName: String, operatingSystemFamilyId: Int64, preferredLanguageCode: String = "en-us",
                securityGroupUuid: String? = nil, enableCloudScannerFeedback: Bool = true, enablePuaDetection: Bool = true,
                sendAnonymousDiagnosticData: Bool = false, requestedComponentIds: [Int64] = []) {
        self.displayName = displayName
        self.operatingSystemFamilyId = operatingSystemFamilyId
        self.preferredLanguageCode = preferredLanguageCode
        self.securityGroupUuid = securityGroupUuid
        self.enableCloudScannerFeedback = enableCloudScannerFeedback
        self.enablePuaDetection = enablePuaDetection
        self.sendAnonymousDiagnosticData = sendAnonymousDiagnosticData
        self.requestedComponentIds = requestedComponentIds
    }

    /// The JSON body, byte for byte the same each time (202 retrieval re-sends it).
    public var json: JSONValue {
        var installer = JSONObject()
        installer.append("displayName", .string(displayName))
        installer.append("operatingSystemFamilyId", .int(operatingSystemFamilyId))
        installer.append("preferredLanguageCode", .string(preferredLanguageCode))
        if let group = securityGroupUuid, !group.isEmpty {
            installer.append("deviceEnrollment", .object(JSONObject(keys: ["securityGroupUuid"], values: [.string(group)])))
        }
        installer.append("enableCloudScannerFeedback", .bool(enableCloudScannerFeedback))
        installer.append("enablePuaDetection", .bool(enablePuaDetection))
        installer.append("sendAnonymousDiagnosticData", .bool(sendAnonymousDiagnosticData))
        var body = JSONObject(keys: ["installer"], values: [.object(installer)])
        if !requestedComponentIds.isEmpty {
            body.append("requestedComponentIds", .array(requestedComponentIds.map { .int($0) }))
        }
        return .object(body)
    }

    public func encode(to encoder: any Encoder) throws { try json.encode(to: encoder) }

    /// Decodes a request saved in the ledger or written in a plan line (ESET's field names).
    public init(json object: JSONObject, path: String = "") throws(InvalidInstallerJSON) {
        let body = FieldReader(object: object, path: path)
        let inner = try body.object("installer") ?? body
        let enrollment = try inner.object("deviceEnrollment")
        let group = try enrollment?.string("securityGroupUuid") ?? ""
        self.init(
            displayName: try inner.string("displayName"),
            operatingSystemFamilyId: try inner.int64("operatingSystemFamilyId"),
            preferredLanguageCode: try inner.string("preferredLanguageCode"),
            securityGroupUuid: group.isEmpty ? nil : group,
            enableCloudScannerFeedback: try inner.bool("enableCloudScannerFeedback"),
            enablePuaDetection: try inner.bool("enablePuaDetection"),
            sendAnonymousDiagnosticData: try inner.bool("sendAnonymousDiagnosticData"),
            requestedComponentIds: [])
        if case .array(let ids)? = object["requestedComponentIds"] {
            for (i, id) in ids.enumerated() {
                let r = FieldReader(object: JSONObject(keys: ["id"], values: [id]), path: "requestedComponentIds[\(i)]")
                requestedComponentIds.append(try r.int64("id"))
            }
        }
    }

    /// Checks what ESET would refuse, so the user hears it before anything is sent.
    /// - Returns: a sentence naming the problem, or nil.
    public var problem: String? {
        if displayName.allSatisfy(\.isWhitespace) { return "the display name is empty" }
        if displayName.utf8.count > 1024 { return "the display name is longer than 1024 bytes" }
        if operatingSystemFamilyId == 2 { return "ESET Connect cannot create Linux installers (only windows and macos)" }
        if operatingSystemFamilyId != 1 && operatingSystemFamilyId != 3 { return "the operating system must be windows (1) or macos (3)" }
        if let bad = requestedComponentIds.first(where: { !Self.knownComponentIds.contains($0) }) {
            return "component \(bad) is not one ESET accepts (\(Self.knownComponentIds.sorted().map(String.init).joined(separator: ", ")))"
        }
        return nil
    }
}

