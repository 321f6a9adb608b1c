/// An ESET Connect installer exactly as the API describes it (`v1Installer` in
/// `installer-management.json`). Field names are ESET's wire names.
public struct Installer: Sendable, Equatable {
    public var uuid: String
    public var displayName: String
    /// 0 unspecified, 1 Windows, 2 Linux, 3 macOS.
    public var operatingSystemFamilyId: Int64
    public var preferredLanguageCode: String
    public var deviceEnrollment: DeviceEnrollment
    public var enableCloudScannerFeedback: Bool
    public var enablePuaDetection: Bool
    public var sendAnonymousDiagnosticData: Bool
    /// A secret: whoever holds it can install and consume licence units until expiry.
    public var downloadUrl: String
    public var createTime: Timestamp?
    public var expireTime: Timestamp?
    public var usable: Bool
    public var activatedProducts: [ActivatedProduct]
    public var installedComponents: [InstalledComponent]

    public init(
        uuid: String, displayName: String = "", operatingSystemFamilyId: Int64 = 0,
        preferredLanguageCode: String = "", deviceEnrollment: DeviceEnrollment = .init(),
        enableCloudScannerFeedback: Bool = false, enablePuaDetection: Bool = false,
        sendAnonymousDiagnosticData: Bool = false, downloadUrl: String = "",
        createTime: Timestamp? = nil, expireTime: Timestamp? = nil, usable: Bool = false,
        activatedProducts: [ActivatedProduct] = [], installedComponents: [InstalledComponent] = []
    ) {
        self.uuid = uuid
        self.displayName = displayName
        self.operatingSystemFamilyId = operatingSystemFamilyId
        self.preferredLanguageCode = preferredLanguageCode
        self.deviceEnrollment = deviceEnrollment
        self.enableCloudScannerFeedback = enableCloudScannerFeedback
        self.enablePuaDetection = enablePuaDetection
        self.sendAnonymousDiagnosticData = sendAnonymousDiagnosticData
        self.downloadUrl = downloadUrl
        self.createTime = createTime
        self.expireTime = expireTime
        self.usable = usable
        self.activatedProducts = activatedProducts
        self.installedComponents = installedComponents
    }
}

/// A product activated by an installer, consuming units from a pool (`v1ActivatedProduct`).
public struct ActivatedProduct: Sendable, Hashable {
    public var poolUuid: String
    public var poolDisplayName: String
    public var productId: Int64
    public var productDisplayName: String
    public var subscriptionUuid: String
    public var subscriptionSupportCode: String

    public init(poolUuid: String = "", poolDisplayName: String = "", productId: Int64 = 0,
                productDisplayName: String = "", subscriptionUuid: String = "", subscriptionSupportCode: String = "") {
        self.poolUuid = poolUuid
        self.poolDisplayName = poolDisplayName
        self.productId = productId
        self.productDisplayName = productDisplayName
        self.subscriptionUuid = subscriptionUuid
        self.subscriptionSupportCode = subscriptionSupportCode
    }
}

/// A platform component the installer drops on the device (`v1PlatformComponent`).
public struct InstalledComponent: Sendable, Hashable {
    public var id: Int64
    public var name: String
    public var displayName: String

    public init(id: Int64 = 0, name: String = "", displayName: String = "") {
        self.id = id
        self.name = name
        self.displayName = displayName
    }
}

/// How a device enrols into management (`v1DeviceEnrollmentSettings`).
public struct DeviceEnrollment: Sendable, Hashable {
    /// The security group joined; empty means "same as an existing device, else Lost & found".
    public var securityGroupUuid: String
    public var groupDisplayName: String

    public init(securityGroupUuid: String = "", groupDisplayName: String = "") {
        self.securityGroupUuid = securityGroupUuid
        self.groupDisplayName = groupDisplayName
    }
}

/// The operating-system families ESET knows, with the words the ledger prints.
public enum OperatingSystemFamily: Int64, Sendable, CaseIterable {
    case unspecified = 0, windows = 1, linux = 2, macos = 3

    /// The word used on the command line and in exports.
    public var word: String {
        switch self {
        case .unspecified: "unspecified"
        case .windows: "windows"
        case .linux: "linux"
        case .macos: "macos"
        }
    }

    /// The family for a command-line word.
    public init?(word: String) {
        guard let match = Self.allCases.first(where: { $0.word == word.lowercased() }) else { return nil }
        self = match
    }

    /// The word for an ESET id, `os-N` when ESET adds a family the ledger does not know yet.
    public static func word(forId id: Int64) -> String { OperatingSystemFamily(rawValue: id)?.word ?? "os-\(id)" }
}
