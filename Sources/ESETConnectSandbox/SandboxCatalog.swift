import Foundation

/// The built-in tables the sandbox draws from: device groups, platform components and
/// licences (pools, products, subscriptions). Fixed, so tests can name them.
///
/// These tables are the company of the single-company mode (``standard``). With tenants
/// (``SandboxConfiguration/tenants``) every company gets its own groups and licences instead,
/// derived from its username and seed (``SandboxCompanyCatalog/derived(username:seed:)``);
/// the platform components are the same for everyone.
public enum SandboxCatalog {
    /// Group display name of installers created without a `securityGroupUuid`.
    public static let lostAndFound = "Lost & found"

    /// Device groups a `deviceEnrollment.securityGroupUuid` may name; any other uuid is refused with 400.
    public static let deviceGroups: [SandboxDeviceGroup] = [
        SandboxDeviceGroup(uuid: "00000000-0000-0000-7001-000000000001", displayName: "All"),
        SandboxDeviceGroup(uuid: "0b7e4a2c-3f1d-4c8e-9a61-2d5f7e8c1a01", displayName: "Windows computers"),
        SandboxDeviceGroup(uuid: "1c8f5b3d-402e-4d9f-8b72-3e6a8f9d2b02", displayName: "Mac computers"),
        SandboxDeviceGroup(uuid: "2d906c4e-513f-4ea0-9c83-4f7b90ae3c03", displayName: "Servers"),
        SandboxDeviceGroup(uuid: "3ea17d5f-6240-4fb1-8d94-508ca1bf4d04", displayName: "Bratislava HQ"),
        SandboxDeviceGroup(uuid: "4fb28e60-7351-40c2-9ea5-619db2c05e05", displayName: "Vienna Office"),
        SandboxDeviceGroup(uuid: "50c39f71-8462-41d3-8fb6-72aec3d16f06", displayName: "Brno Branch"),
        SandboxDeviceGroup(uuid: "61d4a082-9573-42e4-90c7-83bfd4e27007", displayName: "Finance"),
        SandboxDeviceGroup(uuid: "72e5b193-a684-43f5-81d8-94c0e5f38108", displayName: "Sales laptops"),
        SandboxDeviceGroup(uuid: "83f6c2a4-b795-4406-92e9-a5d1f6049209", displayName: "Kiosks & Lobby"),
        SandboxDeviceGroup(uuid: "9407d3b5-c8a6-4517-83fa-b6e2071a930a", displayName: "Zürich Büro"),
    ]

    /// Platform components `requestedComponentIds` may name (the list of the OpenAPI file).
    public static let components: [SandboxComponent] = [
        SandboxComponent(displayName: "ESET Management Agent", id: 13, name: "ERA_AGENT"),
        SandboxComponent(displayName: "ESET Endpoint Antivirus for Windows", id: 19, name: "EEA_WINDOWS"),
        SandboxComponent(displayName: "ESET File Security for Microsoft Windows Server", id: 20, name: "EFSW"),
        SandboxComponent(displayName: "ESET Endpoint Security for Windows", id: 27, name: "EES_WINDOWS"),
        SandboxComponent(displayName: "ESET Endpoint Antivirus for macOS", id: 29, name: "EEA_MACOS"),
        SandboxComponent(displayName: "ESET Endpoint Security for macOS", id: 30, name: "EES_MACOS"),
        SandboxComponent(displayName: "ESET Inspect Connector", id: 167, name: "EI_CONNECTOR"),
        SandboxComponent(displayName: "ESET Server Security for Linux", id: 209, name: "EFS_LINUX"),
        SandboxComponent(displayName: "ESET Full Disk Encryption", id: 210, name: "EFDE"),
        SandboxComponent(displayName: "ESET Endpoint Antivirus for Linux", id: 215, name: "EEA_LINUX"),
        SandboxComponent(displayName: "ESET Endpoint Antivirus for macOS (v7+)", id: 230, name: "EEA_MACOS_V7"),
        SandboxComponent(displayName: "ESET Endpoint Security for macOS (v7+)", id: 231, name: "EES_MACOS_V7"),
    ]

    /// Endpoint licences; every installer activates exactly one of them.
    public static let endpointLicences: [SandboxActivatedProduct] = [
        SandboxActivatedProduct(
            poolUuid: "a1f0c3e2-5b7d-4e19-8c2a-6d3f9b0e1a11", poolDisplayName: "Contoso Ltd – company pool",
            productId: 104, productDisplayName: "ESET PROTECT Advanced",
            subscriptionUuid: "c0a81f52-7e3b-4d6a-9f10-2b8e4c7d5a21", subscriptionSupportCode: "3AB-4CD-5EF"),
        SandboxActivatedProduct(
            poolUuid: "b2e1d4f3-6c8e-4f2a-9d3b-7e4a0c1f2b22", poolDisplayName: "Acme s.r.o. (MSP customer)",
            productId: 103, productDisplayName: "ESET PROTECT Entry",
            subscriptionUuid: "d1b9206a-8f4c-4e7b-a021-3c9f5d8e6b32", subscriptionSupportCode: "7KQ-2MW-9PX"),
        SandboxActivatedProduct(
            poolUuid: "c3f2e504-7d9f-403b-8e4c-8f5b1d2a3c33", poolDisplayName: "Contoso Ltd – branch offices",
            productId: 105, productDisplayName: "ESET PROTECT Complete",
            subscriptionUuid: "e2ca317b-905d-4f8c-b132-4da06e9f7c43", subscriptionSupportCode: "5HT-8RN-2LB"),
        SandboxActivatedProduct(
            poolUuid: "d4a3f615-8e0a-414c-9f5d-9a6c2e3b4d44", poolDisplayName: "Northwind GmbH (MSP customer)",
            productId: 106, productDisplayName: "ESET PROTECT Elite",
            subscriptionUuid: "f3db428c-a16e-408d-8243-5eb17fa08d54", subscriptionSupportCode: "9ZC-4VD-6GJ"),
    ]

    /// Licence activated when component 167 (ESET Inspect Connector) is installed.
    public static let inspectLicence = SandboxActivatedProduct(
        poolUuid: "a1f0c3e2-5b7d-4e19-8c2a-6d3f9b0e1a11", poolDisplayName: "Contoso Ltd – company pool",
        productId: 128, productDisplayName: "ESET Inspect",
        subscriptionUuid: "04ec539d-b27f-419e-9354-6fc28ab19e65", subscriptionSupportCode: "2WX-7YT-4QS")

    /// Licence activated when component 210 (ESET Full Disk Encryption) is installed.
    public static let encryptionLicence = SandboxActivatedProduct(
        poolUuid: "a1f0c3e2-5b7d-4e19-8c2a-6d3f9b0e1a11", poolDisplayName: "Contoso Ltd – company pool",
        productId: 117, productDisplayName: "ESET Full Disk Encryption",
        subscriptionUuid: "15fd64ae-c380-42af-a465-70d39bc2af76", subscriptionSupportCode: "6PM-3NB-8KV")

    /// The company of the single-company mode: the tables above.
    public static let standard = SandboxCompanyCatalog(
        deviceGroups: deviceGroups, endpointLicences: endpointLicences,
        inspectLicence: inspectLicence, encryptionLicence: encryptionLicence)

    /// Components chosen "from the licence" when a create request names none.
    static func defaultComponentIds(operatingSystemFamilyId: Int64) -> [Int64] {
        operatingSystemFamilyId == 3 ? [13, 231] : [13, 27]
    }

    static let componentsById: [Int64: SandboxComponent] =
        Dictionary(uniqueKeysWithValues: components.map { ($0.id, $0) })
}

/// The device groups and licences of one company (one ESET account). Installers of a company
/// can only name its groups and only activate its licences.
public struct SandboxCompanyCatalog: Sendable, Equatable, Codable {
    /// Groups a `deviceEnrollment.securityGroupUuid` may name; any other uuid is refused with 400.
    public var deviceGroups: [SandboxDeviceGroup]
    /// Endpoint licences; every installer activates exactly one of them (chosen by its group).
    public var endpointLicences: [SandboxActivatedProduct]
    /// Licence activated when component 167 (ESET Inspect Connector) is installed.
    public var inspectLicence: SandboxActivatedProduct
    /// Licence activated when component 210 (ESET Full Disk Encryption) is installed.
    public var encryptionLicence: SandboxActivatedProduct

    /// The places generated installer names mention, one per group: the group names without
    /// the company suffix, so names read "Vienna Office – Windows" in every company.
    let placeNames: [String]
    let groupsByUuid: [String: Int]

    /// Makes a catalog; `placeNames` default to the group names.
    init(deviceGroups: [SandboxDeviceGroup], endpointLicences: [SandboxActivatedProduct],
         inspectLicence: SandboxActivatedProduct, encryptionLicence: SandboxActivatedProduct,
         placeNames: [String]? = nil)
    {
        self.deviceGroups = deviceGroups
        self.endpointLicences = endpointLicences
        self.inspectLicence = inspectLicence
        self.encryptionLicence = encryptionLicence
        self.placeNames = placeNames ?? deviceGroups.map(\.displayName)
        self.groupsByUuid = Dictionary(deviceGroups.enumerated().map { ($1.uuid.lowercased(), $0) }) { first, _ in first }
    }

    private enum CodingKeys: String, CodingKey {
        case deviceGroups, endpointLicences, inspectLicence, encryptionLicence
    }

    /// Decodes the public tables; generated names then mention the full group names.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            deviceGroups: try c.decode([SandboxDeviceGroup].self, forKey: .deviceGroups),
            endpointLicences: try c.decode([SandboxActivatedProduct].self, forKey: .endpointLicences),
            inspectLicence: try c.decode(SandboxActivatedProduct.self, forKey: .inspectLicence),
            encryptionLicence: try c.decode(SandboxActivatedProduct.self, forKey: .encryptionLicence))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(deviceGroups, forKey: .deviceGroups)
        try c.encode(endpointLicences, forKey: .endpointLicences)
        try c.encode(inspectLicence, forKey: .inspectLicence)
        try c.encode(encryptionLicence, forKey: .encryptionLicence)
    }

    /// The catalog of a tenant's company: the standard groups and licences with uuids, support
    /// codes and names of its own, so no two companies share a group or a pool. Group names carry
    /// the username ("Vienna Office (acme@example.com)"), pool names too; products are ESET's own
    /// and the same everywhere, and so is ``SandboxCatalog/lostAndFound``, ESET's fallback for an
    /// installer without a group, which has no uuid. The same username and seed give the same catalog.
    public static func derived(username: String, seed: UInt64) -> SandboxCompanyCatalog {
        // A stream of its own, so the catalog's uuids never repeat the installers' of the same seed.
        var rng = SeededGenerator(seed: seed ^ 0xCA7A_1060_5EED_0001)
        let groups = SandboxCatalog.deviceGroups.map {
            SandboxDeviceGroup(uuid: rng.uuidString(), displayName: "\($0.displayName) (\(username))")
        }
        let companyPool = (uuid: rng.uuidString(), name: "\(username) – company pool")
        let poolNames = ["branch offices", "servers", "evaluation"]
        var pools = [companyPool]
        for name in poolNames { pools.append((uuid: rng.uuidString(), name: "\(username) – \(name)")) }
        func licence(_ template: SandboxActivatedProduct, pool: (uuid: String, name: String)) -> SandboxActivatedProduct {
            SandboxActivatedProduct(
                poolUuid: pool.uuid, poolDisplayName: pool.name,
                productId: template.productId, productDisplayName: template.productDisplayName,
                subscriptionUuid: rng.uuidString(), subscriptionSupportCode: rng.supportCode())
        }
        let endpoint = SandboxCatalog.endpointLicences.enumerated().map { licence($1, pool: pools[$0 % pools.count]) }
        return SandboxCompanyCatalog(
            deviceGroups: groups, endpointLicences: endpoint,
            inspectLicence: licence(SandboxCatalog.inspectLicence, pool: companyPool),
            encryptionLicence: licence(SandboxCatalog.encryptionLicence, pool: companyPool),
            placeNames: SandboxCatalog.deviceGroups.map(\.displayName))
    }

    /// Index of the group `uuid` names (any case); `nil` when this company has no such group.
    func groupIndex(uuid: String) -> Int? {
        groupsByUuid[uuid.lowercased()]
    }

    /// The group of an installer; `nil` for "Lost & found".
    func group(at index: Int?) -> SandboxDeviceGroup? {
        index.flatMap { deviceGroups.indices.contains($0) ? deviceGroups[$0] : nil }
    }

    /// The products an installer activates: one endpoint licence (chosen by group, so installers of
    /// one group share a pool) plus the add-on licences of the components it installs.
    func activatedProducts(groupIndex: Int?, componentIds: [Int64]) -> [SandboxActivatedProduct] {
        var products = [endpointLicences[(groupIndex ?? 0) % endpointLicences.count]]
        if componentIds.contains(167) { products.append(inspectLicence) }
        if componentIds.contains(210) { products.append(encryptionLicence) }
        return products
    }
}

extension RandomNumberGenerator {
    /// A subscription support code like `3AB-4CD-5EF` (no 0/O or 1/I, as on ESET's licences).
    mutating func supportCode() -> String {
        let alphabet = Array("23456789ABCDEFGHJKLMNPQRSTUVWXYZ")
        return (0..<3).map { _ in String((0..<3).map { _ in alphabet[Int(next() % UInt64(alphabet.count))] }) }
            .joined(separator: "-")
    }
}
