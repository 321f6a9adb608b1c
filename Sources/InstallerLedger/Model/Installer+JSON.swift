/// Why a JSON value is not a valid installer or answer: the path of the field and what is wrong.
public struct InvalidInstallerJSON: Error, Equatable, CustomStringConvertible {
    /// Where in the value, e.g. `installers[2].activatedProducts[0].productId`.
    public var path: String
    public var message: String
    public var description: String { path.isEmpty ? message : "\(path): \(message)" }
}

/// Reads typed fields out of a JSON object with ESET's decoding rules (int64 as a number
/// or a string; omitted or null means the default), naming the field's path on error.
struct FieldReader {
    let object: JSONObject
    let path: String

    func fail(_ key: String, _ message: String) -> InvalidInstallerJSON {
        InvalidInstallerJSON(path: path.isEmpty ? key : "\(path).\(key)", message: message)
    }

    func string(_ key: String) throws(InvalidInstallerJSON) -> String {
        switch object[key] {
        case nil, .null?: return ""
        case .string(let s)?:
            guard !s.utf8.contains(0) else { throw fail(key, "contains a NUL character") }
            return s
        case let other?: throw fail(key, "expected a string, found \(other.typeName)")
        }
    }

    func bool(_ key: String) throws(InvalidInstallerJSON) -> Bool {
        switch object[key] {
        case nil, .null?: return false
        case .bool(let b)?: return b
        case let other?: throw fail(key, "expected true or false, found \(other.typeName)")
        }
    }

    func int64(_ key: String) throws(InvalidInstallerJSON) -> Int64 {
        switch object[key] {
        case nil, .null?: return 0
        case .number(let n)?, .string(let n)?:
            if case .string = object[key], n.isEmpty { return 0 }
            guard let v = Int64(n) else { throw fail(key, "expected an int64 (number or numeric string), found \(quoted(n))") }
            return v
        case let other?: throw fail(key, "expected an int64, found \(other.typeName)")
        }
    }

    func timestamp(_ key: String) throws(InvalidInstallerJSON) -> Timestamp? {
        switch object[key] {
        case nil, .null?: return nil
        case .string(let s)?:
            if s.isEmpty { return nil }
            do { return try Timestamp(rfc3339: s) } catch { throw fail(key, "\(quoted(s)) is \(error)") }
        case let other?: throw fail(key, "expected an RFC 3339 timestamp string, found \(other.typeName)")
        }
    }

    func object(_ key: String) throws(InvalidInstallerJSON) -> FieldReader? {
        switch object[key] {
        case nil, .null?: return nil
        case .object(let o)?: return FieldReader(object: o, path: path.isEmpty ? key : "\(path).\(key)")
        case let other?: throw fail(key, "expected an object, found \(other.typeName)")
        }
    }

    func array<T>(_ key: String, _ element: (FieldReader) throws(InvalidInstallerJSON) -> T) throws(InvalidInstallerJSON) -> [T] {
        switch object[key] {
        case nil, .null?: return []
        case .array(let items)?:
            var out = [T]()
            out.reserveCapacity(items.count)
            for (i, item) in items.enumerated() {
                let itemPath = "\(path.isEmpty ? key : "\(path).\(key)")[\(i)]"
                guard case .object(let o) = item else {
                    throw InvalidInstallerJSON(path: itemPath, message: "expected an object, found \(item.typeName)")
                }
                out.append(try element(FieldReader(object: o, path: itemPath)))
            }
            return out
        case let other?: throw fail(key, "expected an array, found \(other.typeName)")
        }
    }

    func quoted(_ s: String) -> String {
        let short = s.count > 40 ? String(s.prefix(40)) + "…" : s
        return "\"\(short)\""
    }
}

extension Installer {
    /// Decodes an installer object with ESET's rules; `path` prefixes error paths.
    /// - Throws: `InvalidInstallerJSON` naming the field, e.g. a missing `uuid` or the
    ///   documentation's placeholder `"string"` as a timestamp.
    public init(json object: JSONObject, path: String = "installer") throws(InvalidInstallerJSON) {
        let r = FieldReader(object: object, path: path)
        let uuid = try r.string("uuid")
        guard !uuid.isEmpty else { throw r.fail("uuid", "is missing (every installer has one)") }
        guard uuid.utf8.count <= 128, !uuid.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F }) else {
            throw r.fail("uuid", "is not an identifier (\(r.quoted(uuid)))")
        }
        let enrollment = try r.object("deviceEnrollment")
        self.init(
            uuid: uuid,
            displayName: try r.string("displayName"),
            operatingSystemFamilyId: try r.int64("operatingSystemFamilyId"),
            preferredLanguageCode: try r.string("preferredLanguageCode"),
            deviceEnrollment: DeviceEnrollment(
                securityGroupUuid: try enrollment?.string("securityGroupUuid") ?? "",
                groupDisplayName: try enrollment?.string("groupDisplayName") ?? ""),
            enableCloudScannerFeedback: try r.bool("enableCloudScannerFeedback"),
            enablePuaDetection: try r.bool("enablePuaDetection"),
            sendAnonymousDiagnosticData: try r.bool("sendAnonymousDiagnosticData"),
            downloadUrl: try r.string("downloadUrl"),
            createTime: try r.timestamp("createTime"),
            expireTime: try r.timestamp("expireTime"),
            usable: try r.bool("usable"),
            activatedProducts: try r.array("activatedProducts") { p throws(InvalidInstallerJSON) in
                ActivatedProduct(
                    poolUuid: try p.string("poolUuid"), poolDisplayName: try p.string("poolDisplayName"),
                    productId: try p.int64("productId"), productDisplayName: try p.string("productDisplayName"),
                    subscriptionUuid: try p.string("subscriptionUuid"),
                    subscriptionSupportCode: try p.string("subscriptionSupportCode"))
            },
            installedComponents: try r.array("installedComponents") { c throws(InvalidInstallerJSON) in
                InstalledComponent(id: try c.int64("id"), name: try c.string("name"), displayName: try c.string("displayName"))
            })
    }

    /// The installer as ESET's JSON object. The download URL is replaced by `[redacted]`
    /// unless `includeDownloadUrl`.
    public func jsonObject(includeDownloadUrl: Bool) -> JSONObject {
        var o = JSONObject()
        o.append("uuid", .string(uuid))
        o.append("displayName", .string(displayName))
        o.append("operatingSystemFamilyId", .int(operatingSystemFamilyId))
        o.append("preferredLanguageCode", .string(preferredLanguageCode))
        var e = JSONObject()
        e.append("securityGroupUuid", .string(deviceEnrollment.securityGroupUuid))
        e.append("groupDisplayName", .string(deviceEnrollment.groupDisplayName))
        o.append("deviceEnrollment", .object(e))
        o.append("enableCloudScannerFeedback", .bool(enableCloudScannerFeedback))
        o.append("enablePuaDetection", .bool(enablePuaDetection))
        o.append("sendAnonymousDiagnosticData", .bool(sendAnonymousDiagnosticData))
        o.append("downloadUrl", .string(includeDownloadUrl ? downloadUrl : Redaction.placeholder))
        o.append("createTime", .optionalString(createTime?.rfc3339))
        o.append("expireTime", .optionalString(expireTime?.rfc3339))
        o.append("usable", .bool(usable))
        o.append("activatedProducts", .array(activatedProducts.map { .object($0.jsonObject) }))
        o.append("installedComponents", .array(installedComponents.map { .object($0.jsonObject) }))
        return o
    }
}

extension ActivatedProduct {
    /// The product as ESET's JSON object.
    public var jsonObject: JSONObject {
        JSONObject(
            keys: ["poolUuid", "poolDisplayName", "productId", "productDisplayName", "subscriptionUuid", "subscriptionSupportCode"],
            values: [.string(poolUuid), .string(poolDisplayName), .int(productId), .string(productDisplayName),
                     .string(subscriptionUuid), .string(subscriptionSupportCode)])
    }
}

extension InstalledComponent {
    /// The component as ESET's JSON object.
    public var jsonObject: JSONObject {
        JSONObject(keys: ["displayName", "id", "name"], values: [.string(displayName), .int(id), .string(name)])
    }
}

/// How secrets are shown where they must not appear.
public enum Redaction {
    /// What replaces a download URL in logs, reports and exports.
    public static let placeholder = "[redacted]"
}

// MARK: - Codable

extension Installer: Codable {
    public init(from decoder: any Decoder) throws {
        guard case .object(let o) = try JSONValue(from: decoder) else {
            throw InvalidInstallerJSON(path: "installer", message: "expected an object")
        }
        try self.init(json: o)
    }

    public func encode(to encoder: any Encoder) throws {
        try JSONValue.object(jsonObject(includeDownloadUrl: true)).encode(to: encoder)
    }
}
