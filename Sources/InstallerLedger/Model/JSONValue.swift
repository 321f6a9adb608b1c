/// A parsed JSON value that keeps what the ledger needs and Foundation's decoders drop:
/// numbers as their exact text (int64 beyond 2^53 survive), object key order, and each
/// object's byte range in the input so the raw answer can be stored verbatim.
public indirect enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    /// A number kept as written, e.g. `"42"`, `"-1.5e3"`.
    case number(String)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    /// A short name of the value's type, for error messages.
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

/// A JSON object: its members in input order and where it stood in the input.
public struct JSONObject: Sendable, Equatable {
    public var keys: [String]
    public var values: [JSONValue]
    /// The object's bytes in the parsed input, `{` to `}` inclusive; empty for built objects.
    public var range: Range<Int>

    public init(keys: [String] = [], values: [JSONValue] = [], range: Range<Int> = 0..<0) {
        self.keys = keys
        self.values = values
        self.range = range
    }

    /// The value of a key, or nil when absent.
    public subscript(key: String) -> JSONValue? {
        for i in keys.indices where keys[i] == key { return values[i] }
        return nil
    }

    /// Appends a member (used when building output).
    public mutating func append(_ key: String, _ value: JSONValue) {
        keys.append(key)
        values.append(value)
    }

    public static func == (a: JSONObject, b: JSONObject) -> Bool { a.keys == b.keys && a.values == b.values }
}

// MARK: - Parsing

/// Where and why a JSON text could not be parsed.
public struct JSONSyntaxError: Error, Equatable, CustomStringConvertible {
    public var line: Int
    public var column: Int
    public var message: String
    public var description: String { "line \(line), column \(column): \(message)" }
}

/// A strict RFC 8259 parser over UTF-8 bytes. Rejects invalid UTF-8, control characters in
/// strings, duplicate keys and nesting deeper than `maxDepth`.
public struct JSONParser {
    let bytes: UnsafeBufferPointer<UInt8>
    var index = 0
    let maxDepth: Int
    /// Byte offset of `bytes[0]` in the whole input, so reported ranges and lines are global.
    let baseOffset: Int
    let baseLine: Int

    /// Parses every whitespace-separated top-level value (one for a JSON document, many
    /// for NDJSON), calling `body` with each value and the 1-based line it starts on.
    /// - Throws: `JSONSyntaxError`, or whatever `body` throws.
    public static func forEachValue(
        in data: [UInt8], maxDepth: Int = 64,
        _ body: (JSONValue, _ line: Int) throws -> Void
    ) throws {
        try data.withUnsafeBufferPointer { buffer in
            var parser = JSONParser(bytes: buffer, maxDepth: maxDepth, baseOffset: 0, baseLine: 1)
            var line = 1
            var lineCountedTo = 0
            while true {
                parser.skipWhitespace()
                if parser.index >= buffer.count { return }
                // Count lines lazily, only up to where each value starts.
                for i in lineCountedTo..<parser.index where buffer[i] == 0x0A { line += 1 }
                lineCountedTo = parser.index
                let start = parser.index
                let value: JSONValue
                do {
                    value = try parser.parseValue(depth: 0)
                } catch let error as JSONSyntaxError {
                    throw Self.recordError(error, in: buffer, start: start, line: line, maxDepth: maxDepth)
                }
                try body(value, line)
            }
        }
    }

    /// The error of a value that began at `start` on `line`. In NDJSON a record ends at its
    /// line's end: when the error lies on a later line and that next line starts a record of
    /// its own, the record is parsed on its own line, so the error names the line where the
    /// bad record began ("line 3: unexpected end"), not where the next record ran out.
    static func recordError(_ error: JSONSyntaxError, in buffer: UnsafeBufferPointer<UInt8>, start: Int, line: Int,
                            maxDepth: Int) -> JSONSyntaxError {
        guard error.line > line, let newline = buffer[start...].firstIndex(of: 0x0A) else { return error }
        var next = newline + 1
        while next < buffer.count, buffer[next] == 0x0D || buffer[next] == 0x20 || buffer[next] == 0x09 { next += 1 }
        guard next < buffer.count, buffer[next] == UInt8(ascii: "{") || buffer[next] == UInt8(ascii: "[") else { return error }
        let lineStart = buffer[..<start].lastIndex(of: 0x0A).map { $0 + 1 } ?? 0
        var lineEnd = newline
        if lineEnd > start, buffer[lineEnd - 1] == 0x0D { lineEnd -= 1 }
        var alone = JSONParser(bytes: UnsafeBufferPointer(rebasing: buffer[lineStart..<lineEnd]), maxDepth: maxDepth,
                               baseOffset: lineStart, baseLine: line)
        alone.index = start - lineStart
        do {
            _ = try alone.parseValue(depth: 0)
            return error
        } catch let onItsLine {
            return onItsLine
        }
    }

    /// Parses exactly one JSON document.
    public static func parse(_ data: [UInt8], maxDepth: Int = 64) throws -> JSONValue {
        try data.withUnsafeBufferPointer { buffer in
            var parser = JSONParser(bytes: buffer, maxDepth: maxDepth, baseOffset: 0, baseLine: 1)
            parser.skipWhitespace()
            let value = try parser.parseValue(depth: 0)
            parser.skipWhitespace()
            guard parser.index == buffer.count else { throw parser.error("unexpected text after the JSON value") }
            return value
        }
    }

    func error(_ message: String, at position: Int? = nil) -> JSONSyntaxError {
        let pos = min(position ?? index, bytes.count)
        var line = baseLine
        var lineStart = 0
        for i in 0..<pos where bytes[i] == 0x0A {
            line += 1
            lineStart = i + 1
        }
        return JSONSyntaxError(line: line, column: pos - lineStart + 1, message: message)
    }

    mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    mutating func parseValue(depth: Int) throws(JSONSyntaxError) -> JSONValue {
        guard index < bytes.count else { throw error("unexpected end of input (truncated JSON?)") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
        case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        default: throw error("unexpected character \(describe(bytes[index]))")
        }
    }

    func describe(_ b: UInt8) -> String {
        b >= 0x20 && b < 0x7F ? "'\(Character(Unicode.Scalar(b)))'" : "byte 0x\(String(b, radix: 16, uppercase: true))"
    }

    mutating func literal(_ word: StaticString) throws(JSONSyntaxError) {
        let n = word.utf8CodeUnitCount
        guard index + n <= bytes.count,
              memcmp(bytes.baseAddress! + index, word.utf8Start, n) == 0 else {
            throw error("invalid literal (expected \(word))")
        }
        index += n
    }

    mutating func parseNumber() throws(JSONSyntaxError) -> String {
        let start = index
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        func isDigit(_ i: Int) -> Bool { i < bytes.count && bytes[i] >= 0x30 && bytes[i] <= 0x39 }
        guard isDigit(index) else { throw error("invalid number") }
        if bytes[index] == 0x30 {
            index += 1
            if isDigit(index) { throw error("invalid number (leading zero)") }
        } else {
            while isDigit(index) { index += 1 }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard isDigit(index) else { throw error("invalid number (digit expected after '.')") }
            while isDigit(index) { index += 1 }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard isDigit(index) else { throw error("invalid number (digit expected in exponent)") }
            while isDigit(index) { index += 1 }
        }
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
    }

    mutating func parseString() throws(JSONSyntaxError) -> String {
        let open = index
        index += 1
        let start = index
        // Fast path: no escapes and plain bytes.
        var hasEscape = false
        var hasNonASCII = false
        while true {
            guard index < bytes.count else { throw error("unterminated string", at: open) }
            let b = bytes[index]
            if b == UInt8(ascii: "\"") { break }
            if b == UInt8(ascii: "\\") {
                hasEscape = true
                index += 2
                continue
            }
            if b < 0x20 { throw error("control character \(describe(b)) in a string (must be escaped)") }
            if b >= 0x80 { hasNonASCII = true }
            index += 1
        }
        let end = index
        index += 1
        let raw = UnsafeBufferPointer(rebasing: bytes[start..<end])
        if !hasEscape {
            if hasNonASCII {
                guard let s = String(validating: raw, as: UTF8.self) else { throw error("invalid UTF-8 in a string", at: open) }
                return s
            }
            return String(decoding: raw, as: UTF8.self)
        }
        var out = [UInt8]()
        out.reserveCapacity(raw.count)
        var i = start
        while i < end {
            let b = bytes[i]
            guard b == UInt8(ascii: "\\") else { out.append(b); i += 1; continue }
            guard i + 1 < end else { throw error("invalid escape", at: i) }
            let e = bytes[i + 1]
            i += 2
            switch e {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "/"): out.append(0x2F)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4(at: i)
                i += 4
                if (0xD800...0xDBFF).contains(scalar) {
                    guard i + 6 <= end, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") else {
                        throw error("unpaired UTF-16 surrogate in \\u escape", at: i)
                    }
                    let low = try hex4(at: i + 2)
                    guard (0xDC00...0xDFFF).contains(low) else { throw error("unpaired UTF-16 surrogate in \\u escape", at: i) }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    i += 6
                } else if (0xDC00...0xDFFF).contains(scalar) {
                    throw error("unpaired UTF-16 surrogate in \\u escape", at: i)
                }
                out.append(contentsOf: Array(String(Character(Unicode.Scalar(scalar)!)).utf8))
            default:
                throw error("invalid escape '\\\(Character(Unicode.Scalar(e)))'", at: i - 2)
            }
        }
        guard let s = String(validating: out, as: UTF8.self) else { throw error("invalid UTF-8 in a string", at: open) }
        return s
    }

    func hex4(at i: Int) throws(JSONSyntaxError) -> UInt32 {
        guard i + 4 <= bytes.count else { throw error("truncated \\u escape", at: i) }
        var v: UInt32 = 0
        for k in i..<(i + 4) {
            let b = bytes[k]
            let d: UInt8
            switch b {
            case 0x30...0x39: d = b - 0x30
            case 0x41...0x46: d = b - 0x41 + 10
            case 0x61...0x66: d = b - 0x61 + 10
            default: throw error("invalid \\u escape", at: k)
            }
            v = v << 4 | UInt32(d)
        }
        return v
    }

    mutating func parseArray(depth: Int) throws(JSONSyntaxError) -> JSONValue {
        guard depth <= maxDepth else { throw error("nesting deeper than \(maxDepth) levels") }
        index += 1
        var items = [JSONValue]()
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") { index += 1; return .array(items) }
        while true {
            skipWhitespace()
            items.append(try parseValue(depth: depth))
            skipWhitespace()
            guard index < bytes.count else { throw error("unexpected end of input inside an array (truncated JSON?)") }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            if bytes[index] == UInt8(ascii: "]") { index += 1; return .array(items) }
            throw error("expected ',' or ']' in an array, found \(describe(bytes[index]))")
        }
    }

    mutating func parseObject(depth: Int) throws(JSONSyntaxError) -> JSONValue {
        guard depth <= maxDepth else { throw error("nesting deeper than \(maxDepth) levels") }
        let start = index
        index += 1
        var object = JSONObject()
        // Duplicate keys: a scan of the few keys of an ordinary object, a set once it has
        // many, so a hostile object of 40,000 keys costs linear time, not quadratic.
        var seen: Set<String>?
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
            object.range = (baseOffset + start)..<(baseOffset + index)
            return .object(object)
        }
        while true {
            skipWhitespace()
            guard index < bytes.count else { throw error("unexpected end of input inside an object (truncated JSON?)") }
            guard bytes[index] == UInt8(ascii: "\"") else { throw error("expected a quoted key, found \(describe(bytes[index]))") }
            let keyStart = index
            let key = try parseString()
            if seen?.contains(key) ?? object.keys.contains(key) { throw error("duplicate key \"\(key)\"", at: keyStart) }
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw error("expected ':' after key \"\(key)\"") }
            index += 1
            skipWhitespace()
            let value = try parseValue(depth: depth)
            object.append(key, value)
            if seen != nil {
                seen!.insert(key)
            } else if object.keys.count == 16 {
                seen = Set(object.keys)
            }
            skipWhitespace()
            guard index < bytes.count else { throw error("unexpected end of input inside an object (truncated JSON?)") }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            if bytes[index] == UInt8(ascii: "}") {
                index += 1
                object.range = (baseOffset + start)..<(baseOffset + index)
                return .object(object)
            }
            throw error("expected ',' or '}' in an object, found \(describe(bytes[index]))")
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - Writing

/// Builds compact JSON text into a byte buffer.
public struct JSONWriter {
    public var bytes: [UInt8] = []

    public init() {}

    public mutating func write(_ value: JSONValue) {
        switch value {
        case .null: bytes.append(contentsOf: "null".utf8)
        case .bool(let b): bytes.append(contentsOf: (b ? "true" : "false").utf8)
        case .number(let n): bytes.append(contentsOf: n.utf8)
        case .string(let s): writeString(s)
        case .array(let items):
            bytes.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { bytes.append(UInt8(ascii: ",")) }
                write(item)
            }
            bytes.append(UInt8(ascii: "]"))
        case .object(let object):
            bytes.append(UInt8(ascii: "{"))
            for i in object.keys.indices {
                if i > 0 { bytes.append(UInt8(ascii: ",")) }
                writeString(object.keys[i])
                bytes.append(UInt8(ascii: ":"))
                write(object.values[i])
            }
            bytes.append(UInt8(ascii: "}"))
        }
    }

    public mutating func writeString(_ s: String) {
        bytes.append(UInt8(ascii: "\""))
        // Most strings need no escape: copied whole (a report of 40,000 installers is
        // mostly names and uuids).
        if !s.utf8.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C || $0 == 0x7F }) {
            bytes.append(contentsOf: s.utf8)
            bytes.append(UInt8(ascii: "\""))
            return
        }
        for b in s.utf8 {
            switch b {
            case 0x22: bytes.append(0x5C); bytes.append(0x22)
            case 0x5C: bytes.append(0x5C); bytes.append(0x5C)
            case 0x0A: bytes.append(0x5C); bytes.append(UInt8(ascii: "n"))
            case 0x0D: bytes.append(0x5C); bytes.append(UInt8(ascii: "r"))
            case 0x09: bytes.append(0x5C); bytes.append(UInt8(ascii: "t"))
            case 0..<0x20, 0x7F:
                let hex = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(b >> 4)], hex[Int(b & 0xF)]])
            default: bytes.append(b)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// The text written so far.
    public var string: String { String(decoding: bytes, as: UTF8.self) }
}

extension JSONValue {
    /// Compact JSON text of this value.
    public var jsonText: String {
        var w = JSONWriter()
        w.write(self)
        return w.string
    }

    /// A JSON integer.
    public static func int(_ v: Int64) -> JSONValue { .number(String(v)) }
    /// A JSON string, or null when nil.
    public static func optionalString(_ s: String?) -> JSONValue { s.map { .string($0) } ?? .null }
}

// MARK: - Decodable bridge

extension JSONValue: Codable {
    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public init(from decoder: any Decoder) throws {
        if let keyed = try? decoder.container(keyedBy: AnyKey.self) {
            var object = JSONObject()
            for key in keyed.allKeys.sorted(by: { $0.stringValue < $1.stringValue }) {
                object.append(key.stringValue, try keyed.decode(JSONValue.self, forKey: key))
            }
            self = .object(object)
        } else if var unkeyed = try? decoder.unkeyedContainer() {
            var items = [JSONValue]()
            while !unkeyed.isAtEnd { items.append(try unkeyed.decode(JSONValue.self)) }
            self = .array(items)
        } else {
            let single = try decoder.singleValueContainer()
            if single.decodeNil() { self = .null }
            else if let b = try? single.decode(Bool.self) { self = .bool(b) }
            else if let i = try? single.decode(Int64.self) { self = .number(String(i)) }
            else if let d = try? single.decode(Double.self) { self = .number(String(d)) }
            else { self = .string(try single.decode(String.self)) }
        }
    }

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .null:
            var c = encoder.singleValueContainer(); try c.encodeNil()
        case .bool(let b):
            var c = encoder.singleValueContainer(); try c.encode(b)
        case .number(let n):
            var c = encoder.singleValueContainer()
            if let i = Int64(n) { try c.encode(i) } else { try c.encode(Double(n) ?? 0) }
        case .string(let s):
            var c = encoder.singleValueContainer(); try c.encode(s)
        case .array(let items):
            var c = encoder.unkeyedContainer()
            for item in items { try c.encode(item) }
        case .object(let object):
            var c = encoder.container(keyedBy: AnyKey.self)
            for i in object.keys.indices { try c.encode(object.values[i], forKey: AnyKey(stringValue: object.keys[i])) }
        }
    }
}
