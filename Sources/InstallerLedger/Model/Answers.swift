/// An installer as received from ESET or a saved answer, with the exact JSON text it came
/// in, kept beside the installer for fields the ledger does not model yet.
public struct ReceivedInstaller: Sendable, Equatable {
    public var installer: Installer
    /// The installer object's JSON text as received.
    public var rawJSON: String

    public init(installer: Installer, rawJSON: String) {
        self.installer = installer
        self.rawJSON = rawJSON
    }
}

/// One page of `GET /v1/installers` (`v1ListInstallersResponse`).
public struct ListInstallersPage: Sendable {
    public var installers: [ReceivedInstaller]
    /// Empty on the last page.
    public var nextPageToken: String
    public var totalSize: Int64
}

/// The answer shapes ESET sends and people save: a create/get answer `{"installer": {...}}`,
/// a list answer `{"installers": [...]}`, or a bare installer object.
public enum InstallerAnswer {
    /// Calls `body` with every installer in one top-level JSON value of an answer or saved
    /// file; a JSON array holds any of the shapes.
    /// - Parameters:
    ///   - source: the bytes the value was parsed from, to cut each installer's raw text.
    /// - Throws: `InvalidInstallerJSON` with the path of the offending field.
    public static func forEachInstaller(
        in value: JSONValue, source: UnsafeBufferPointer<UInt8>, allowArray: Bool = true,
        _ body: (ReceivedInstaller) throws -> Void
    ) throws {
        switch value {
        case .array(let items) where allowArray:
            for (i, item) in items.enumerated() {
                do {
                    try forEachInstaller(in: item, source: source, allowArray: false, body)
                } catch var e as InvalidInstallerJSON {
                    e.path = e.path.isEmpty ? "[\(i)]" : "[\(i)].\(e.path)"
                    throw e
                }
            }
        case .object(let o):
            if let inner = o["installer"], o["uuid"] == nil {
                guard case .object(let io) = inner else {
                    throw InvalidInstallerJSON(path: "installer", message: "expected an object, found \(inner.typeName)")
                }
                try body(received(io, path: "installer", source: source))
            } else if let list = o["installers"], o["uuid"] == nil {
                guard case .array(let items) = list else {
                    throw InvalidInstallerJSON(path: "installers", message: "expected an array, found \(list.typeName)")
                }
                for (i, item) in items.enumerated() {
                    guard case .object(let io) = item else {
                        throw InvalidInstallerJSON(path: "installers[\(i)]", message: "expected an object, found \(item.typeName)")
                    }
                    try body(received(io, path: "installers[\(i)]", source: source))
                }
            } else if o["uuid"] != nil {
                try body(received(o, path: "", source: source))
            } else {
                throw InvalidInstallerJSON(
                    path: "",
                    message: "not an installer answer (expected {\"installer\": …}, {\"installers\": […]} or an installer object with a uuid)")
            }
        default:
            throw InvalidInstallerJSON(path: "", message: "expected an installer answer object, found \(value.typeName)")
        }
    }

    static func received(_ o: JSONObject, path: String, source: UnsafeBufferPointer<UInt8>) throws(InvalidInstallerJSON) -> ReceivedInstaller {
        let installer = try Installer(json: o, path: path)
        let raw: String
        if o.range.isEmpty || o.range.upperBound > source.count {
            raw = JSONValue.object(o).jsonText
        } else {
            raw = String(decoding: UnsafeBufferPointer(rebasing: source[o.range]), as: UTF8.self)
        }
        return ReceivedInstaller(installer: installer, rawJSON: raw)
    }

    /// Decodes one page of a list answer.
    public static func listPage(from bytes: [UInt8]) throws -> ListInstallersPage {
        let value = try JSONParser.parse(bytes)
        guard case .object(let o) = value else {
            throw InvalidInstallerJSON(path: "", message: "expected a list answer object, found \(value.typeName)")
        }
        var installers = [ReceivedInstaller]()
        try bytes.withUnsafeBufferPointer { buffer in
            if o["installers"] != nil {
                try forEachInstaller(in: .object(JSONObject(keys: ["installers"], values: [o["installers"]!])), source: buffer) {
                    installers.append($0)
                }
            }
        }
        let r = FieldReader(object: o, path: "")
        return ListInstallersPage(installers: installers, nextPageToken: try r.string("nextPageToken"), totalSize: try r.int64("totalSize"))
    }

    /// Decodes a create or get answer `{"installer": {...}}`.
    public static func single(from bytes: [UInt8]) throws -> ReceivedInstaller {
        let value = try JSONParser.parse(bytes)
        guard case .object(let o) = value, let inner = o["installer"], case .object(let io) = inner else {
            throw InvalidInstallerJSON(path: "installer", message: "the answer holds no installer object")
        }
        return try bytes.withUnsafeBufferPointer { try received(io, path: "installer", source: $0) }
    }
}
