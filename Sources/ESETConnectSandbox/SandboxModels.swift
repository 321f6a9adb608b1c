import Foundation

/// An installer as the sandbox holds it, for assertions in tests (`installers(tenant:includeDeleted:)`)
/// and for `GET /_sandbox/installers`.
public struct SandboxInstaller: Sendable, Equatable, Codable {
    public var uuid: String
    public var displayName: String
    /// 1 Windows, 3 macOS.
    public var operatingSystemFamilyId: Int64
    public var preferredLanguageCode: String
    /// `nil` when the installer was created without a security group ("Lost & found").
    public var securityGroupUuid: String?
    public var groupDisplayName: String
    public var enableCloudScannerFeedback: Bool
    public var enablePuaDetection: Bool
    public var sendAnonymousDiagnosticData: Bool
    public var downloadUrl: String
    public var createTime: Date
    public var expireTime: Date
    public var activatedProducts: [SandboxActivatedProduct]
    public var installedComponents: [SandboxComponent]
    /// Usable by the sandbox clock at the moment the snapshot was taken (not expired, not deleted).
    public var usable: Bool
    /// Deleted through `DELETE /v1/installers/{uuid}`; deleted installers are no longer listed.
    public var deleted: Bool
    /// The username of the company it belongs to; `nil` in single-company mode, where every
    /// username shares one company.
    public var tenant: String?
    /// `false` while ESET "lost" it (``SandboxServer/setListed(uuid:_:)``): the API neither lists
    /// nor finds it.
    public var listed: Bool = true
}

/// A licence unit consumer of an installer, as in `activatedProducts[]`.
public struct SandboxActivatedProduct: Sendable, Equatable, Codable {
    public var poolUuid: String
    public var poolDisplayName: String
    public var productId: Int64
    public var productDisplayName: String
    public var subscriptionUuid: String
    public var subscriptionSupportCode: String
}

/// A platform component of an installer, as in `installedComponents[]`.
public struct SandboxComponent: Sendable, Equatable, Codable {
    public var displayName: String
    public var id: Int64
    public var name: String
}

/// A device group of a company that `deviceEnrollment.securityGroupUuid` may name.
public struct SandboxDeviceGroup: Sendable, Equatable, Codable {
    public var uuid: String
    public var displayName: String
}

/// One request the sandbox received on the token endpoint or under `/v1/`, in arrival order.
public struct RecordedRequest: Sendable, Equatable, Codable {
    public var method: String
    public var path: String
    /// The raw (percent-encoded) query string, empty when none.
    public var query: String
    /// Status answered; `nil` when the connection was dropped without an answer.
    public var status: Int?
    /// Wall-clock time of arrival (not shifted by ``SandboxServer/advanceClock(by:)``).
    public var receivedAt: Date
    /// The `request-id` header of the answer (also set for dropped requests, though never sent).
    public var requestID: String
    /// The `response-id` header the client sent to collect a 202 answer, if any.
    public var responseID: String?
    /// Whose credentials the request carried: the username of a valid bearer token, of a password
    /// grant with the right password, or of a valid refresh token, whether or not a knob answered
    /// before they were checked; in tenant mode the company's username as configured. `nil` when
    /// they were missing or invalid (e.g. a token request that failed authentication).
    public var tenant: String?
}

/// One company the sandbox holds (`companies()`, `GET /_sandbox/companies`).
public struct SandboxCompany: Sendable, Equatable, Codable {
    /// Its username (as configured, or as first used); `nil` for the one company of the
    /// single-company mode.
    public var username: String?
    /// Installers it holds that are not deleted (unlisted ones included).
    public var installers: Int
    /// Its device groups and licences.
    public var catalog: SandboxCompanyCatalog
}
