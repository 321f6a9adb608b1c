/// Writes RFC 4180 CSV: CRLF line ends, fields holding `,` `"` CR or LF quoted, quotes
/// doubled. By default neutralises spreadsheet formula injection: a cell starting with
/// `=`, `+`, `-`, `@`, tab or CR gets a leading `'`.
public struct CSVWriter {
    public var bytes: [UInt8] = []
    /// Prefix formula-like cells with `'` (turned off by `--raw`).
    public var neutralisesFormulas: Bool

    public init(neutralisesFormulas: Bool = true) {
        self.neutralisesFormulas = neutralisesFormulas
    }

    /// Appends one record.
    public mutating func writeRow(_ fields: [String]) {
        for (i, field) in fields.enumerated() {
            if i > 0 { bytes.append(UInt8(ascii: ",")) }
            writeField(field)
        }
        bytes.append(0x0D)
        bytes.append(0x0A)
    }

    mutating func writeField(_ field: String) {
        let utf8 = field.utf8
        var needsQuotes = false
        for b in utf8 where b == 0x2C || b == 0x22 || b == 0x0D || b == 0x0A {
            needsQuotes = true
            break
        }
        let neutralise = neutralisesFormulas && utf8.first.map(Self.isFormulaStart) == true
        if !needsQuotes {
            if neutralise { bytes.append(UInt8(ascii: "'")) }
            bytes.append(contentsOf: utf8)
            return
        }
        bytes.append(0x22)
        if neutralise { bytes.append(UInt8(ascii: "'")) }
        for b in utf8 {
            if b == 0x22 { bytes.append(0x22) }
            bytes.append(b)
        }
        bytes.append(0x22)
    }

    static func isFormulaStart(_ b: UInt8) -> Bool {
        b == UInt8(ascii: "=") || b == UInt8(ascii: "+") || b == UInt8(ascii: "-") || b == UInt8(ascii: "@")
            || b == 0x09 || b == 0x0D
    }

    /// The text written so far.
    public var string: String { String(decoding: bytes, as: UTF8.self) }

    /// Takes the bytes written so far, leaving the writer empty (for streaming).
    public mutating func drain() -> [UInt8] {
        defer { bytes.removeAll(keepingCapacity: true) }
        return bytes
    }
}
