import Foundation
import Synchronization

/// An installer as stored by the sandbox. Group and products follow from the group index, the
/// components and the catalog of the installer's company
/// (``SandboxCompanyCatalog/activatedProducts(groupIndex:componentIds:)``), so they are not stored.
struct InstallerRecord: Sendable {
    var uuid: String
    var displayName: String
    var operatingSystemFamilyId: Int64
    var preferredLanguageCode: String
    var groupIndex: Int?
    var enableCloudScannerFeedback: Bool
    var enablePuaDetection: Bool
    var sendAnonymousDiagnosticData: Bool
    var downloadUrl: String
    var createMicros: Int64
    var expireMicros: Int64
    var componentIds: [Int64]
    var deleted = false
    /// `false` while ESET has "lost" it (``SandboxServer/setListed(uuid:_:)``): neither listed nor found.
    var listed = true
    /// The installer's JSON without its trailing `usable` field and closing brace, encoded once:
    /// pages of a list are built by concatenating these bytes.
    var encodedPrefix: [UInt8] = []

    func isUsable(atMicros now: Int64) -> Bool { !deleted && expireMicros > now }

    /// What a test sees of this installer, with the group and licences of `catalog`.
    func snapshot(atMicros now: Int64, catalog: SandboxCompanyCatalog = SandboxCatalog.standard,
                  tenant: String? = nil) -> SandboxInstaller
    {
        let group = catalog.group(at: groupIndex)
        return SandboxInstaller(
            uuid: uuid, displayName: displayName, operatingSystemFamilyId: operatingSystemFamilyId,
            preferredLanguageCode: preferredLanguageCode, securityGroupUuid: group?.uuid,
            groupDisplayName: group?.displayName ?? SandboxCatalog.lostAndFound,
            enableCloudScannerFeedback: enableCloudScannerFeedback, enablePuaDetection: enablePuaDetection,
            sendAnonymousDiagnosticData: sendAnonymousDiagnosticData, downloadUrl: downloadUrl,
            createTime: SandboxTime.date(createMicros), expireTime: SandboxTime.date(expireMicros),
            activatedProducts: catalog.activatedProducts(groupIndex: groupIndex, componentIds: componentIds),
            installedComponents: componentIds.compactMap { SandboxCatalog.componentsById[$0] },
            usable: isUsable(atMicros: now), deleted: deleted, tenant: tenant, listed: listed)
    }
}

/// Writes the JSON answers of the API by hand: field order fixed, int64 as strings or numbers,
/// fast enough to pre-encode 100,000 installers at start.
struct WireEncoder: Sendable {
    var int64AsStrings: Bool
    var omitDefaultValues: Bool
    var includeUnknownFields: Bool
    /// The groups and licences installers are encoded with: one encoder per company.
    var catalog: SandboxCompanyCatalog = SandboxCatalog.standard

    /// Encoded `deviceEnrollment`, `activatedProducts` and `installedComponents`, which depend
    /// only on the group and the components: a handful of combinations for 100,000 installers.
    let fragments = FragmentCache()

    /// The installer object without `"usable"` and without the closing brace.
    func encodePrefix(_ record: InstallerRecord) -> [UInt8] {
        var w = JSONBytes()
        w.bytes.reserveCapacity(1200)
        w.beginObject()
        w.field("uuid", record.uuid)
        string("displayName", record.displayName, &w)
        int64("operatingSystemFamilyId", record.operatingSystemFamilyId, &w)
        string("preferredLanguageCode", record.preferredLanguageCode, &w)
        bool("enableCloudScannerFeedback", record.enableCloudScannerFeedback, &w)
        bool("enablePuaDetection", record.enablePuaDetection, &w)
        bool("sendAnonymousDiagnosticData", record.sendAnonymousDiagnosticData, &w)
        w.field("downloadUrl", record.downloadUrl)
        w.key("createTime")
        w.timestamp(record.createMicros)
        w.key("expireTime")
        w.timestamp(record.expireMicros)
        w.bytes.append(contentsOf: fragments.fragment(groupIndex: record.groupIndex, componentIds: record.componentIds) {
            encodeFragment(groupIndex: record.groupIndex, componentIds: record.componentIds)
        })
        return w.bytes  // no closing brace: `appendInstaller` adds `usable` and closes.
    }

    /// `,"deviceEnrollment":{...},"activatedProducts":[...],"installedComponents":[...]`.
    private func encodeFragment(groupIndex: Int?, componentIds: [Int64]) -> [UInt8] {
        var w = JSONBytes(continuingObject: [])
        w.key("deviceEnrollment")
        w.beginObject()
        let group = catalog.group(at: groupIndex)
        string("securityGroupUuid", group?.uuid ?? "", &w)
        string("groupDisplayName", group?.displayName ?? SandboxCatalog.lostAndFound, &w)
        w.endObject()
        w.key("activatedProducts")
        w.beginArray()
        for product in catalog.activatedProducts(groupIndex: groupIndex, componentIds: componentIds) {
            w.beginObject()
            w.field("poolUuid", product.poolUuid)
            w.field("poolDisplayName", product.poolDisplayName)
            int64("productId", product.productId, &w)
            w.field("productDisplayName", product.productDisplayName)
            w.field("subscriptionUuid", product.subscriptionUuid)
            w.field("subscriptionSupportCode", product.subscriptionSupportCode)
            w.endObject()
        }
        w.endArray()
        w.key("installedComponents")
        w.beginArray()
        for id in componentIds {
            guard let component = SandboxCatalog.componentsById[id] else { continue }
            w.beginObject()
            w.field("displayName", component.displayName)
            int64("id", component.id, &w)
            w.field("name", component.name)
            w.endObject()
        }
        w.endArray()
        if includeUnknownFields {
            w.key("sandboxUndocumentedField")
            w.beginObject()
            w.field("note", "ESET may add fields at any time; clients ignore unknown keys")
            w.endObject()
        }
        return w.bytes
    }

    /// Appends a complete installer object to `bytes`.
    func appendInstaller(_ record: InstallerRecord, usable: Bool, to bytes: inout [UInt8]) {
        bytes.append(contentsOf: record.encodedPrefix)
        if usable {
            bytes.append(contentsOf: #","usable":true}"#.utf8)
        } else if omitDefaultValues {
            bytes.append(UInt8(ascii: "}"))
        } else {
            bytes.append(contentsOf: #","usable":false}"#.utf8)
        }
    }

    /// `{"installer": {...}}`, the answer of create and get.
    func installerEnvelope(_ record: InstallerRecord, usable: Bool) -> Data {
        var bytes = Array(#"{"installer":"#.utf8)
        appendInstaller(record, usable: usable, to: &bytes)
        bytes.append(UInt8(ascii: "}"))
        return Data(bytes)
    }

    /// `{"installers": [...], "nextPageToken": "...", "totalSize": n}`.
    func listPage(_ records: [(InstallerRecord, Bool)], nextPageToken: String, totalSize: Int) -> Data {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(records.reduce(64) { $0 + $1.0.encodedPrefix.count + 16 })
        bytes.append(contentsOf: #"{"installers":["#.utf8)
        for (index, (record, usable)) in records.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            appendInstaller(record, usable: usable, to: &bytes)
        }
        bytes.append(UInt8(ascii: "]"))
        var w = JSONBytes(continuingObject: bytes)
        string("nextPageToken", nextPageToken, &w)
        int64("totalSize", Int64(totalSize), &w)
        w.bytes.append(UInt8(ascii: "}"))
        return Data(w.bytes)
    }

    private func string(_ key: String, _ value: String, _ w: inout JSONBytes) {
        if omitDefaultValues && value.isEmpty { return }
        w.field(key, value)
    }

    private func bool(_ key: String, _ value: Bool, _ w: inout JSONBytes) {
        if omitDefaultValues && !value { return }
        w.key(key)
        w.raw(value ? "true" : "false")
    }

    private func int64(_ key: String, _ value: Int64, _ w: inout JSONBytes) {
        if omitDefaultValues && value == 0 { return }
        w.key(key)
        if int64AsStrings { w.string(String(value)) } else { w.raw(String(value)) }
    }
}

/// A minimal JSON writer over a byte array that places commas itself.
struct JSONBytes {
    var bytes: [UInt8] = []
    private var hasElement: [Bool] = []
    private var afterKey = false

    init() {}

    /// Continues an object whose first members are already in `bytes` (no closing brace yet).
    init(continuingObject bytes: [UInt8]) {
        self.bytes = bytes
        self.hasElement = [true]
    }

    mutating func beginObject() { valuePrefix(); bytes.append(UInt8(ascii: "{")); hasElement.append(false) }
    mutating func endObject() { bytes.append(UInt8(ascii: "}")); hasElement.removeLast() }
    mutating func beginArray() { valuePrefix(); bytes.append(UInt8(ascii: "[")); hasElement.append(false) }
    mutating func endArray() { bytes.append(UInt8(ascii: "]")); hasElement.removeLast() }

    /// A member name; names are the sandbox's own constants and need no escaping.
    mutating func key(_ name: String) {
        if hasElement.last == true { bytes.append(UInt8(ascii: ",")) }
        if !hasElement.isEmpty { hasElement[hasElement.count - 1] = true }
        bytes.append(UInt8(ascii: "\""))
        bytes.append(contentsOf: name.utf8)
        bytes.append(contentsOf: #"":"#.utf8)
        afterKey = true
    }

    mutating func field(_ name: String, _ value: String) {
        key(name)
        string(value)
    }

    mutating func string(_ value: String) { valuePrefix(); appendQuoted(value) }
    mutating func raw(_ literal: String) { valuePrefix(); bytes.append(contentsOf: literal.utf8) }
    mutating func timestamp(_ micros: Int64) {
        valuePrefix()
        bytes.append(UInt8(ascii: "\""))
        SandboxTime.append(micros, to: &bytes)
        bytes.append(UInt8(ascii: "\""))
    }

    private mutating func valuePrefix() {
        if afterKey { afterKey = false; return }
        if hasElement.last == true { bytes.append(UInt8(ascii: ",")) }
        if !hasElement.isEmpty { hasElement[hasElement.count - 1] = true }
    }

    private mutating func appendQuoted(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        let plain = value.utf8.withContiguousStorageIfAvailable { buffer in
            var index = 0
            while index < buffer.count {
                let byte = buffer[index]
                if byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { return false }
                index += 1
            }
            return true
        } ?? false
        if plain {
            bytes.append(contentsOf: value.utf8)
            bytes.append(UInt8(ascii: "\""))
            return
        }
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes.append(contentsOf: #"\""#.utf8)
            case UInt8(ascii: "\\"): bytes.append(contentsOf: #"\\"#.utf8)
            case 0x0A: bytes.append(contentsOf: #"\n"#.utf8)
            case 0x0D: bytes.append(contentsOf: #"\r"#.utf8)
            case 0x09: bytes.append(contentsOf: #"\t"#.utf8)
            case 0..<0x20:
                bytes.append(contentsOf: #"\u00"#.utf8)
                let hex = Array("0123456789abcdef".utf8)
                bytes.append(hex[Int(byte >> 4)])
                bytes.append(hex[Int(byte & 0x0F)])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}

/// Encoded JSON fragments keyed by group and components, shared by every copy of a ``WireEncoder``.
final class FragmentCache: Sendable {
    private struct Key: Hashable {
        var groupIndex: Int?
        var componentIds: [Int64]
    }

    private let storage = Mutex<[Key: [UInt8]]>([:])

    func fragment(groupIndex: Int?, componentIds: [Int64], make: () -> [UInt8]) -> [UInt8] {
        let key = Key(groupIndex: groupIndex, componentIds: componentIds)
        if let cached = storage.withLock({ $0[key] }) { return cached }
        let made = make()
        storage.withLock { $0[key] = made }
        return made
    }
}
