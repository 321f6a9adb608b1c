import Foundation

/// A JSON value exactly as written, for checking a request body the way protojson (the JSON
/// codec of gRPC-gateway) does. `JSONSerialization` cannot tell `true` from `1` (both are
/// `NSNumber`, so `true` passed as an int64 and `1` as a bool), which is why the sandbox
/// parses request bodies itself.
struct JSONNode {
    enum Value {
        case null
        case bool(Bool)
        /// The number literal as written (e.g. `1`, `1.0`, `-2e3`).
        case number(String)
        case string(String)
        case array([JSONNode])
        /// Members in order, duplicates kept (protojson refuses a known field given twice).
        case object([(key: String, value: JSONNode)])
    }

    var value: Value
    /// Byte offsets of the value in the document: `start..<end`.
    var start: Int
    var end: Int

    /// The first member named `key` of an object; `nil` when absent or given as `null`
    /// (protojson reads `null` as "not set").
    subscript(key: String) -> JSONNode? {
        guard case .object(let members) = value,
              let member = members.first(where: { $0.key == key })?.value else { return nil }
        if case .null = member.value { return nil }
        return member
    }

    var string: String? {
        if case .string(let text) = value { return text }
        return nil
    }

    var bool: Bool? {
        if case .bool(let flag) = value { return flag }
        return nil
    }

    var array: [JSONNode]? {
        if case .array(let items) = value { return items }
        return nil
    }

    /// An int64 as proto3 JSON has it: a JSON number that is a whole number in range (`1`, `1.0`
    /// and `1e2` are; `1.5` is not), or a JSON string holding exactly such a number (`"13"`).
    var int64: Int64? {
        switch value {
        case .number(let literal): return JSONNode.wholeNumber(literal)
        case .string(let text):
            // The string must hold one JSON number and nothing else (no blanks, no sign `+`).
            guard let literal = JSONNumberScanner.literal(in: Array(text.utf8)) else { return nil }
            return JSONNode.wholeNumber(literal)
        default: return nil
        }
    }

    /// A number literal as an Int64 when it is a whole number that fits.
    static func wholeNumber(_ literal: String) -> Int64? {
        if let exact = Int64(literal) { return exact }
        var text = Substring(literal)
        var negative = false
        if text.first == "-" { negative = true; text = text.dropFirst() }
        var exponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            let digits = text[text.index(after: e)...]
            guard digits.count <= 6, let value = Int(digits) else { return nil }  // Int("+5") is 5
            exponent = value
            text = text[..<e]
        }
        var digits = String(text)
        if let dot = text.firstIndex(of: ".") {
            let fraction = text[text.index(after: dot)...]
            digits = String(text[..<dot]) + fraction
            exponent -= fraction.count
        }
        while exponent < 0 {
            guard digits.last == "0" else { return nil }  // a fraction that is not zero
            digits.removeLast()
            exponent += 1
        }
        digits = String(digits.drop { $0 == "0" })
        if digits.isEmpty { return 0 }
        guard digits.count + exponent <= 19 else { return nil }
        digits += String(repeating: "0", count: exponent)
        return Int64((negative ? "-" : "") + digits)
    }

    /// The value as written, shortened for an error message.
    func excerpt(in bytes: [UInt8]) -> String {
        switch value {
        case .object: return "{"
        case .array: return "["
        default:
            let text = String(decoding: bytes[start..<end], as: UTF8.self)
            return text.count <= 40 ? text : String(text.prefix(39)) + "…"
        }
    }
}

/// A strict RFC 8259 parser (no comments, no trailing commas, UTF-8 only) that keeps the
/// type and position of every value.
struct StrictJSONParser {
    struct SyntaxError: Error {
        var offset: Int
        var detail: String
    }

    private let bytes: [UInt8]
    private var index = 0
    private var depth = 0
    /// protojson's limit on nesting.
    private static let maxDepth = 10_000

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// The document's value; `nil` when the body is empty or only blanks (gRPC-gateway reads
    /// that as an empty message).
    static func parse(_ bytes: [UInt8]) throws(SyntaxError) -> JSONNode? {
        var parser = StrictJSONParser(bytes)
        parser.skipBlanks()
        guard parser.index < bytes.count else { return nil }
        let node = try parser.parseValue()
        parser.skipBlanks()
        guard parser.index == bytes.count else {
            throw SyntaxError(offset: parser.index, detail: "unexpected \(parser.describeHere()) after the top-level value")
        }
        return node
    }

    /// protojson's position of a byte offset: 1-based line, and 1-based column in characters.
    static func position(of offset: Int, in bytes: [UInt8]) -> (line: Int, column: Int) {
        let before = bytes[..<min(offset, bytes.count)]
        let line = before.count(where: { $0 == 0x0A }) + 1
        let lineStart = before.lastIndex(of: 0x0A).map { $0 + 1 } ?? 0
        let column = bytes[lineStart..<before.endIndex].count(where: { $0 & 0xC0 != 0x80 }) + 1
        return (line, column)
    }

    private mutating func parseValue() throws(SyntaxError) -> JSONNode {
        skipBlanks()
        guard index < bytes.count else { throw SyntaxError(offset: index, detail: "unexpected end of the body") }
        let start = index
        switch bytes[index] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return JSONNode(value: .string(try parseString()), start: start, end: index)
        case UInt8(ascii: "t"): try literal("true"); return JSONNode(value: .bool(true), start: start, end: index)
        case UInt8(ascii: "f"): try literal("false"); return JSONNode(value: .bool(false), start: start, end: index)
        case UInt8(ascii: "n"): try literal("null"); return JSONNode(value: .null, start: start, end: index)
        default:
            guard let length = JSONNumberScanner.length(of: bytes, at: index) else {
                throw SyntaxError(offset: index, detail: "invalid value \(describeHere())")
            }
            index += length
            return JSONNode(value: .number(String(decoding: bytes[start..<index], as: UTF8.self)), start: start, end: index)
        }
    }

    private mutating func parseObject() throws(SyntaxError) -> JSONNode {
        let start = index
        try enter()
        index += 1
        var members: [(key: String, value: JSONNode)] = []
        skipBlanks()
        if peek(UInt8(ascii: "}")) {
            index += 1
        } else {
            while true {
                skipBlanks()
                guard peek(UInt8(ascii: "\"")) else {
                    throw SyntaxError(offset: index, detail: "expected a member name in quotes, got \(describeHere())")
                }
                let key = try parseString()
                skipBlanks()
                guard peek(UInt8(ascii: ":")) else { throw SyntaxError(offset: index, detail: "expected ':' after \"\(key)\"") }
                index += 1
                members.append((key, try parseValue()))
                skipBlanks()
                if peek(UInt8(ascii: ",")) { index += 1; continue }
                if peek(UInt8(ascii: "}")) { index += 1; break }
                throw SyntaxError(offset: index, detail: "expected ',' or '}', got \(describeHere())")
            }
        }
        depth -= 1
        return JSONNode(value: .object(members), start: start, end: index)
    }

    private mutating func parseArray() throws(SyntaxError) -> JSONNode {
        let start = index
        try enter()
        index += 1
        var items: [JSONNode] = []
        skipBlanks()
        if peek(UInt8(ascii: "]")) {
            index += 1
        } else {
            while true {
                items.append(try parseValue())
                skipBlanks()
                if peek(UInt8(ascii: ",")) { index += 1; continue }
                if peek(UInt8(ascii: "]")) { index += 1; break }
                throw SyntaxError(offset: index, detail: "expected ',' or ']', got \(describeHere())")
            }
        }
        depth -= 1
        return JSONNode(value: .array(items), start: start, end: index)
    }

    private mutating func parseString() throws(SyntaxError) -> String {
        let start = index
        index += 1
        var out: [UInt8] = []
        while true {
            guard index < bytes.count else { throw SyntaxError(offset: start, detail: "unterminated string") }
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                guard let text = String(validating: out, as: UTF8.self) else {
                    throw SyntaxError(offset: start, detail: "invalid UTF-8 in string")
                }
                return text
            case UInt8(ascii: "\\"):
                index += 1
                guard index < bytes.count else { throw SyntaxError(offset: start, detail: "unterminated string") }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(escape)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xD800..<0xDC00).contains(scalar), bytes[index...].starts(with: Array("\\u".utf8)) {
                        index += 2
                        let low = try hex4()
                        if (0xDC00..<0xE000).contains(low) {
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        } else {
                            out.append(contentsOf: Array("\u{FFFD}".utf8))
                            scalar = low
                        }
                    }
                    // A lone surrogate becomes U+FFFD, as Go's decoder does.
                    let character = Unicode.Scalar(scalar) ?? "\u{FFFD}"
                    out.append(contentsOf: Array(String(Character(character)).utf8))
                default:
                    throw SyntaxError(offset: index - 2, detail: "invalid escape sequence in string")
                }
            case 0..<0x20:
                throw SyntaxError(offset: index, detail: "invalid character in string (control characters must be escaped)")
            default:
                out.append(byte)
                index += 1
            }
        }
    }

    private mutating func hex4() throws(SyntaxError) -> UInt32 {
        guard index + 4 <= bytes.count,
              let value = UInt32(String(decoding: bytes[index..<index + 4], as: UTF8.self), radix: 16),
              bytes[index..<index + 4].allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x66) })
        else { throw SyntaxError(offset: index - 2, detail: "invalid escape sequence in string") }
        index += 4
        return value
    }

    private mutating func literal(_ word: String) throws(SyntaxError) {
        let expected = Array(word.utf8)
        guard bytes[index...].starts(with: expected) else {
            throw SyntaxError(offset: index, detail: "invalid value \(describeHere())")
        }
        index += expected.count
        // `truex` is one bad word, not `true` followed by garbage.
        if index < bytes.count, Self.isWordByte(bytes[index]) {
            throw SyntaxError(offset: index - expected.count, detail: "invalid value \(describeHere())")
        }
    }

    private mutating func enter() throws(SyntaxError) {
        depth += 1
        guard depth <= Self.maxDepth else { throw SyntaxError(offset: index, detail: "exceeded max recursion depth") }
    }

    private func peek(_ byte: UInt8) -> Bool { index < bytes.count && bytes[index] == byte }

    private mutating func skipBlanks() {
        while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
    }

    private static func isWordByte(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte | 0x20 >= 0x61 && byte | 0x20 <= 0x7A) || byte == UInt8(ascii: "_") || byte >= 0x80
    }

    /// What stands at the current position, for a message: a word, a character or the end.
    private func describeHere() -> String {
        guard index < bytes.count else { return "end of the body" }
        var end = index
        while end < bytes.count, end - index < 20, Self.isWordByte(bytes[end]) { end += 1 }
        if end == index { end = index + 1 }
        return String(decoding: bytes[index..<end], as: UTF8.self)
    }
}

/// JSON's number grammar: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
enum JSONNumberScanner {
    /// The length of the number starting at `start`; `nil` when none starts there.
    static func length(of bytes: [UInt8], at start: Int) -> Int? {
        var i = start
        func digit(_ at: Int) -> Bool { at < bytes.count && bytes[at] >= 0x30 && bytes[at] <= 0x39 }
        if i < bytes.count, bytes[i] == UInt8(ascii: "-") { i += 1 }
        guard digit(i) else { return nil }
        if bytes[i] == UInt8(ascii: "0") { i += 1 } else { while digit(i) { i += 1 } }
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
            i += 1
            guard digit(i) else { return nil }
            while digit(i) { i += 1 }
        }
        if i < bytes.count, bytes[i] | 0x20 == UInt8(ascii: "e") {
            i += 1
            if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
            guard digit(i) else { return nil }
            while digit(i) { i += 1 }
        }
        // `01` and `1x` are not numbers.
        if i < bytes.count, (bytes[i] >= 0x30 && bytes[i] <= 0x39) || bytes[i] | 0x20 >= 0x61 && bytes[i] | 0x20 <= 0x7A {
            return nil
        }
        return i - start
    }

    /// `bytes` as a number literal when they are exactly one number.
    static func literal(in bytes: [UInt8]) -> String? {
        guard length(of: bytes, at: 0) == bytes.count, !bytes.isEmpty else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// The proto3 types of the create body's fields, as installer-management.json declares them.
indirect enum ProtoFieldType: Sendable {
    case string
    case bool
    case int64
    /// google.protobuf.Timestamp: an RFC 3339 string.
    case timestamp
    case message(ProtoMessage)
    case repeated(ProtoFieldType)

    /// The type's name in a protojson error message.
    var name: String {
        switch self {
        case .string: "string"
        case .bool: "bool"
        case .int64: "int64"
        case .timestamp: "google.protobuf.Timestamp"
        case .message: "message"
        case .repeated(let element): "repeated \(element.name)"
        }
    }

    /// What the field accepts, for the end of an error message.
    var expectation: String {
        switch self {
        case .string: "a JSON string is expected"
        case .bool: "only true or false is expected"
        case .int64: "a whole JSON number or a string holding one is expected"
        case .timestamp: "an RFC 3339 timestamp string is expected, e.g. \"2026-01-15T10:00:00Z\""
        case .message: "a JSON object is expected"
        case .repeated: "a JSON array is expected"
        }
    }
}

/// A proto3 message: its fields by JSON name. Keys it does not know are ignored, as
/// gRPC-gateway's default `DiscardUnknown` does.
struct ProtoMessage: Sendable {
    var fields: [String: ProtoFieldType]

    /// v1CreateInstallerRequest, read-only fields included: they are part of the message, so
    /// the gateway type-checks them too (and the service then ignores them).
    static let createInstallerRequest = ProtoMessage(fields: [
        "installer": .message(installer),
        "requestedComponentIds": .repeated(.int64),
    ])

    static let installer = ProtoMessage(fields: [
        "uuid": .string,
        "displayName": .string,
        "operatingSystemFamilyId": .int64,
        "preferredLanguageCode": .string,
        "deviceEnrollment": .message(ProtoMessage(fields: ["securityGroupUuid": .string, "groupDisplayName": .string])),
        "enableCloudScannerFeedback": .bool,
        "enablePuaDetection": .bool,
        "sendAnonymousDiagnosticData": .bool,
        "downloadUrl": .string,
        "createTime": .timestamp,
        "expireTime": .timestamp,
        "usable": .bool,
        "activatedProducts": .repeated(.message(ProtoMessage(fields: [
            "poolUuid": .string, "poolDisplayName": .string, "productId": .int64,
            "productDisplayName": .string, "subscriptionUuid": .string, "subscriptionSupportCode": .string,
        ]))),
        "installedComponents": .repeated(.message(ProtoMessage(fields: [
            "displayName": .string, "id": .int64, "name": .string,
        ]))),
    ])
}

/// Checks a parsed body against a message the way protojson does before any handler runs, and
/// words what it refuses as gRPC-gateway does (`proto: (line 1:52): invalid value for bool field
/// ...`), naming the field by its path (`installer.enablePuaDetection`, `requestedComponentIds[1]`).
struct ProtoJSONChecker {
    let bytes: [UInt8]

    func check(_ node: JSONNode, as message: ProtoMessage, path: String = "") throws(CreateRequestParser.Invalid) {
        guard case .object(let members) = node.value else {
            throw invalid(node, .message(message), path.isEmpty ? "the request body" : path)
        }
        var seen = Set<String>()
        for (key, value) in members {
            guard let type = message.fields[key] else { continue }
            let fieldPath = path.isEmpty ? key : "\(path).\(key)"
            guard seen.insert(key).inserted else {
                throw error(at: value.start, "duplicate field \(fieldPath)")
            }
            if case .null = value.value { continue }  // null: not set
            try check(value, as: type, path: fieldPath)
        }
    }

    private func check(_ node: JSONNode, as type: ProtoFieldType, path: String) throws(CreateRequestParser.Invalid) {
        switch type {
        case .string:
            guard node.string != nil else { throw invalid(node, type, path) }
        case .bool:
            guard node.bool != nil else { throw invalid(node, type, path) }
        case .int64:
            guard node.int64 != nil else { throw invalid(node, type, path) }
        case .timestamp:
            guard let text = node.string, Self.isRFC3339(text) else { throw invalid(node, type, path) }
        case .message(let message):
            try check(node, as: message, path: path)
        case .repeated(let element):
            guard let items = node.array else { throw invalid(node, type, path) }
            for (position, item) in items.enumerated() {
                // protojson allows no null inside a list.
                try check(item, as: element, path: "\(path)[\(position)]")
            }
        }
    }

    private func invalid(_ node: JSONNode, _ type: ProtoFieldType, _ path: String) -> CreateRequestParser.Invalid {
        error(at: node.start, "invalid value for \(type.name) field \(path): \(node.excerpt(in: bytes)) (\(type.expectation))")
    }

    func error(at offset: Int, _ text: String) -> CreateRequestParser.Invalid {
        let (line, column) = StrictJSONParser.position(of: offset, in: bytes)
        return CreateRequestParser.Invalid(message: "proto: (line \(line):\(column)): \(text)")
    }

    /// `YYYY-MM-DDTHH:MM:SS[.fraction of 1–9 digits](Z|±HH:MM)`, with real dates and times.
    static func isRFC3339(_ text: String) -> Bool {
        let b = Array(text.utf8)
        func number(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= b.count, b[range].allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
            return Int(String(decoding: b[range], as: UTF8.self))
        }
        guard b.count >= 20, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"), b[10] == UInt8(ascii: "T"),
              b[13] == UInt8(ascii: ":"), b[16] == UInt8(ascii: ":"),
              let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
              let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
              year >= 1, (1...12).contains(month), hour < 24, minute < 60, second < 60
        else { return false }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
        guard (1...days).contains(day) else { return false }
        var i = 19
        if b[i] == UInt8(ascii: ".") {
            i += 1
            let digits = b[i...].prefix { $0 >= 0x30 && $0 <= 0x39 }.count
            guard (1...9).contains(digits) else { return false }
            i += digits
        }
        guard i < b.count else { return false }
        if b[i] == UInt8(ascii: "Z") { return i + 1 == b.count }
        guard b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-"), b.count == i + 6, b[i + 3] == UInt8(ascii: ":"),
              let offsetHours = number(i + 1..<i + 3), let offsetMinutes = number(i + 4..<i + 6)
        else { return false }
        return offsetHours < 24 && offsetMinutes < 60
    }
}
