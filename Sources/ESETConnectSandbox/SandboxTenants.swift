import Foundation

/// One company of a sandbox with tenants (``SandboxConfiguration/tenants``): an ESET API user
/// with installers, device groups and licences of its own, as one customer company of an MSP.
public struct SandboxTenant: Sendable, Equatable {
    /// The username its tokens are issued to; matched without regard to case, as e-mail logins are.
    public var username: String
    /// How many generated installers it holds at start (negative counts as 0).
    public var installers: Int
    /// Seed of its generated installers and of its groups and licences; `nil` takes
    /// ``SandboxConfiguration/seed``. Either way it is mixed with the username
    /// (``effectiveSeed(base:)``), so two tenants never share an installer or a group.
    public var seed: UInt64?

    /// Makes a tenant; with no seed its data is derived from the username alone.
    public init(username: String, installers: Int = 0, seed: UInt64? = nil) {
        self.username = username
        self.installers = installers
        self.seed = seed
    }

    /// The seed its data is generated from: `seed` (else `base`) xor the FNV-1a hash of the
    /// lowercased username. The same username and seed give the same installers and catalog.
    public func effectiveSeed(base: UInt64 = SandboxConfiguration.defaultSeed) -> UInt64 {
        (seed ?? base) ^ Self.fnv1a(Self.key(username))
    }

    /// Parses `USERNAME[:N]`, the value of `eset-connect-sandbox --tenant` (N installers, default 0).
    /// The count follows the last colon, so a username cannot contain one.
    /// - Throws: ``SandboxError/invalidTenant(_:reason:)`` naming what is wrong.
    public init(argument: String) throws(SandboxError) {
        let syntax = "write USERNAME or USERNAME:N (N generated installers, 0 or more), e.g. acme@example.com:20"
        var username = Substring(argument), count = 0
        if let colon = argument.lastIndex(of: ":") {
            let digits = argument[argument.index(after: colon)...]
            guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let number = Int(digits) else {
                throw .invalidTenant(argument, reason: "N must be a whole number of installers, got '\(digits)'; \(syntax)")
            }
            username = argument[..<colon]
            count = number
        }
        guard !username.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw .invalidTenant(argument, reason: "the username is empty; \(syntax)")
        }
        self.init(username: String(username), installers: count)
    }

    /// Checks a list of tenants: no empty username, none listed twice (in any case).
    /// - Throws: ``SandboxError/invalidTenant(_:reason:)`` for the first problem.
    public static func validate(_ tenants: [SandboxTenant]) throws(SandboxError) {
        var seen = Set<String>()
        for tenant in tenants {
            guard !tenant.username.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw .invalidTenant(tenant.username, reason: "the username is empty; give every tenant a username")
            }
            guard seen.insert(key(tenant.username)).inserted else {
                throw .invalidTenant(tenant.username,
                                     reason: "the username is listed twice (usernames are case-insensitive); list each tenant once")
            }
        }
    }

    /// How a username is looked up: ESET logins are e-mail addresses, whose case does not matter.
    static func key(_ username: String) -> String { username.lowercased() }

    /// 64-bit FNV-1a of the UTF-8 bytes.
    static func fnv1a(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01B3
        }
        return hash
    }
}

// MARK: - Companies

/// What one username's tokens see: a catalog of groups and licences and a store of installers.
struct Company: Sendable {
    /// The username as configured or as first used; `nil` for the one company of the single-company mode.
    let username: String?
    let catalog: SandboxCompanyCatalog
    /// Encodes with this company's catalog (and has its own cache of encoded fragments).
    let encoder: WireEncoder
    var store: InstallerStore
}

/// The companies of a sandbox: one shared by every username when no tenants are configured,
/// else one per username (listed at start, or created empty when an unknown username logs in).
/// Companies are addressed by index, which never changes; tokens carry it.
struct CompanyDirectory: Sendable {
    private(set) var companies: [Company] = []
    /// Whether each username has its own company.
    let hasTenants: Bool
    private var indexByKey: [String: Int] = [:]
    /// Which company holds an installer (tenant mode only; the single company holds them all).
    private var companyOfInstaller: [String: Int] = [:]
    private let baseSeed: UInt64
    private let wire: WireEncoder

    /// Generates the companies of `configuration` and their installers, created before `nowMicros`.
    init(configuration: SandboxConfiguration, nowMicros: Int64) {
        wire = WireEncoder(
            int64AsStrings: configuration.int64AsStrings,
            omitDefaultValues: configuration.omitDefaultValues,
            includeUnknownFields: configuration.includeUnknownFields)
        baseSeed = configuration.seed
        hasTenants = !configuration.tenants.isEmpty
        guard hasTenants else {
            let records = InstallerGenerator.prepopulated(
                count: max(0, configuration.prepopulatedInstallers), seed: configuration.seed, nowMicros: nowMicros)
            add(username: nil, catalog: SandboxCatalog.standard, records: records)
            return
        }
        for tenant in configuration.tenants where indexByKey[SandboxTenant.key(tenant.username)] == nil {
            let seed = tenant.effectiveSeed(base: baseSeed)
            let catalog = SandboxCompanyCatalog.derived(username: tenant.username, seed: seed)
            let records = InstallerGenerator.prepopulated(
                count: max(0, tenant.installers), seed: seed, nowMicros: nowMicros, catalog: catalog)
            add(username: tenant.username, catalog: catalog, records: records)
        }
    }

    subscript(index: Int) -> Company { companies[index] }

    /// The company `username` logs into, if it exists yet.
    func index(of username: String) -> Int? {
        hasTenants ? indexByKey[SandboxTenant.key(username)] : 0
    }

    /// The company `username` logs into, created empty (with a catalog of its own) when it is new.
    mutating func admit(_ username: String) -> Int {
        if let index = index(of: username) { return index }
        let seed = SandboxTenant(username: username).effectiveSeed(base: baseSeed)
        return add(username: username, catalog: .derived(username: username, seed: seed), records: [])
    }

    /// How tokens and the request log name `username`: its company's username in tenant mode
    /// (the configured spelling), else the username itself.
    func name(of username: String) -> String {
        index(of: username).flatMap { companies[$0].username } ?? username
    }

    /// The catalog `username` has, or would get on its first login.
    func catalog(of username: String) -> SandboxCompanyCatalog {
        if let index = index(of: username) { return companies[index].catalog }
        return .derived(username: username, seed: SandboxTenant(username: username).effectiveSeed(base: baseSeed))
    }

    /// The company that holds installer `uuid`, if any.
    func index(ofInstaller uuid: String) -> Int? {
        guard hasTenants else { return companies[0].store.record(uuid: uuid) == nil ? nil : 0 }
        return companyOfInstaller[uuid]
    }

    /// Encodes `record` for its company and stores it there; returns it as stored.
    @discardableResult
    mutating func insert(_ record: InstallerRecord, into index: Int) -> InstallerRecord {
        var record = record
        record.encodedPrefix = companies[index].encoder.encodePrefix(record)
        companies[index].store.insert(record)
        if hasTenants { companyOfInstaller[record.uuid] = index }
        return record
    }

    /// Marks installer `uuid` of company `index` deleted; `false` when that company has no such
    /// installer, it is deleted already, or unlisted.
    mutating func markDeleted(uuid: String, in index: Int) -> Bool {
        guard companies[index].store.record(uuid: uuid)?.listed == true else { return false }
        return companies[index].store.markDeleted(uuid: uuid)
    }

    /// Lists or hides installer `uuid` in whichever company holds it; `false` when none does.
    mutating func setListed(uuid: String, _ listed: Bool) -> Bool {
        guard let index = index(ofInstaller: uuid) else { return false }
        return companies[index].store.setListed(uuid: uuid, listed)
    }

    @discardableResult
    private mutating func add(username: String?, catalog: SandboxCompanyCatalog, records: [InstallerRecord]) -> Int {
        let index = companies.count
        let encoder = WireEncoder(int64AsStrings: wire.int64AsStrings, omitDefaultValues: wire.omitDefaultValues,
                                  includeUnknownFields: wire.includeUnknownFields, catalog: catalog)
        var records = records
        for position in records.indices { records[position].encodedPrefix = encoder.encodePrefix(records[position]) }
        if let username {
            indexByKey[SandboxTenant.key(username)] = index
            for record in records { companyOfInstaller[record.uuid] = index }
        }
        companies.append(Company(username: username, catalog: catalog, encoder: encoder,
                                 store: InstallerStore(records: records)))
        return index
    }
}
