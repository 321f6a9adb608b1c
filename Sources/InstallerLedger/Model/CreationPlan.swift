import Foundation

/// A bulk-creation plan: one installer a line, read from CSV with a header row or from NDJSON,
/// with the same fields as `create`'s flags. Every line is validated before anything is sent.
///
/// Each line gets a **plan key**: the SHA-256 of its normalised request plus its occurrence
/// number among identical lines (`…#1`, `…#2`). The key does not depend on the file's name or on
/// the line's position, so a re-run of a reordered or extended plan recognises the lines it has
/// already created.
public struct CreationPlan: Sendable, Equatable {
    /// One installer to create.
    public struct Line: Sendable, Equatable {
        /// The 1-based line of the file where the record starts.
        public var number: Int
        /// The request, normalised (trimmed, lower-cased language and group, sorted components).
        public var request: CreateInstallerRequest
        /// Identifies the line across runs (see ``CreationPlan``); unique per account.
        public var key: String
        /// The `account` column: whom to create it for; nil: the run's account.
        public var account: String? = nil
    }

    /// The accounts the plan names, in first-use order (nil: lines without an account column).
    public var accounts: [String?] {
        var seen = [String?]()
        for line in lines where !seen.contains(line.account) { seen.append(line.account) }
        return seen
    }

    /// The lines for one account, as a plan of their own.
    public func lines(for account: String?) -> CreationPlan {
        CreationPlan(source: source, format: format, lines: lines.filter { $0.account == account })
    }

    /// How the plan was written.
    public enum Format: String, Sendable { case csv, ndjson }

    /// The file name as given, or `stdin`, for messages.
    public var source: String
    public var format: Format
    public var lines: [Line]

    /// The field names (CSV header names and NDJSON keys), in documentation order.
    public static let fieldNames = ["name", "os", "language", "group", "cloud_feedback", "pua_detection", "diagnostics", "components",
                                    "account"]

    // MARK: - Reading

    /// Reads and validates a plan file (`-` is standard input).
    /// - Throws: `CreationPlanError`.
    public static func read(path: String) throws(CreationPlanError) -> CreationPlan {
        let input: ImportInput
        do {
            input = try ImportInput.read(path: path)
        } catch {
            if case .unreadable(_, let reason) = error as? ImportError {
                throw .unreadable(file: path == "-" ? "stdin" : path, reason: reason)
            }
            throw .unreadable(file: path, reason: "\(error)")
        }
        return try parse(input.bytes, source: input.name)
    }

    /// Parses and validates a whole plan: CSV when the first character is not `{`, else NDJSON.
    /// - Throws: `CreationPlanError` for the first bad line (counting the others).
    public static func parse(_ bytes: [UInt8], source: String) throws(CreationPlanError) -> CreationPlan {
        var body = bytes[...]
        if body.starts(with: [0xEF, 0xBB, 0xBF]) { body = body.dropFirst(3) }
        guard let first = body.first(where: { !isSpace($0) }) else { throw .empty(file: source) }
        guard String(validatingUTF8Bytes: Array(body)) != nil else {
            // Name the line holding the first invalid byte, not the file's first line.
            var line = 1
            for chunk in body.split(separator: 0x0A, omittingEmptySubsequences: false) {
                if String(validatingUTF8Bytes: Array(chunk)) == nil { break }
                line += 1
            }
            throw .syntax(file: source, line: line, message: "invalid UTF-8 (the plan must be UTF-8 text)")
        }
        let format: Format = first == UInt8(ascii: "{") ? .ndjson : .csv
        let records = format == .csv ? try csvRecords(Array(body), source: source) : try ndjsonRecords(Array(body), source: source)
        guard !records.isEmpty else { throw .empty(file: source) }

        var lines = [Line]()
        var firstProblem: (line: Int, field: String, message: String)?
        var badLines = 0
        var occurrences = [String: Int]()
        for record in records {
            switch validate(record.fields).flatMap({ request in account(record.fields).map { (request, $0) } }) {
            case .success(let (request, account)):
                // The account is not part of the key: keys are looked up per account, so the
                // same line for two customers is two installers, and adding the column to a
                // plan that ran for one account keeps its lines done.
                let digest = SHA256.hex(Array(request.json.jsonText.utf8))
                let counted = (account ?? "") + "\u{0}" + digest
                occurrences[counted, default: 0] += 1
                lines.append(Line(number: record.line, request: request, key: "plan-v1:\(digest.prefix(40))#\(occurrences[counted]!)",
                                  account: account))
            case .failure(let problem):
                badLines += 1
                if firstProblem == nil { firstProblem = (record.line, problem.field, problem.message) }
            }
        }
        if let p = firstProblem {
            throw .invalid(file: source, line: p.line, field: p.field, message: p.message, otherBadLines: badLines - 1)
        }
        return CreationPlan(source: source, format: format, lines: lines)
    }

    // MARK: - Records

    /// A record's raw values by field name, as text (CSV) or JSON (NDJSON).
    enum Value: Equatable {
        case text(String)
        case json(JSONValue)
    }

    struct Record {
        var line: Int
        var fields: [String: Value]
    }

    static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D }

    static func normalisedFieldName(_ name: String) -> String {
        name.trimmingCharacters(in: .whitespaces).lowercased().replacingOccurrences(of: "-", with: "_")
    }

    static var fieldList: String { fieldNames.joined(separator: ", ") }

    static func csvRecords(_ bytes: [UInt8], source: String) throws(CreationPlanError) -> [Record] {
        let rows = try CSVReader.rows(bytes, source: source)
        guard let header = rows.first else { return [] }
        var columns = [String]()
        for name in header.fields {
            let field = normalisedFieldName(name)
            guard fieldNames.contains(field) else {
                throw .invalid(file: source, line: header.line, field: name,
                               message: "is not a column of a plan: use \(fieldList)", otherBadLines: 0)
            }
            guard !columns.contains(field) else {
                throw .invalid(file: source, line: header.line, field: name, message: "appears twice in the header", otherBadLines: 0)
            }
            columns.append(field)
        }
        for required in ["name", "os"] where !columns.contains(required) {
            throw .invalid(file: source, line: header.line, field: required,
                           message: "the header row has no '\(required)' column (columns: \(fieldList))", otherBadLines: 0)
        }
        var records = [Record]()
        for row in rows.dropFirst() {
            if row.fields.allSatisfy({ $0.trimmingCharacters(in: .whitespaces).isEmpty }) { continue }
            guard row.fields.count == columns.count else {
                throw .invalid(file: source, line: row.line, field: "(row)",
                               message: "has \(row.fields.count) values but the header has \(columns.count) columns", otherBadLines: 0)
            }
            var fields = [String: Value]()
            for (name, value) in zip(columns, row.fields) { fields[name] = .text(value) }
            records.append(Record(line: row.line, fields: fields))
        }
        return records
    }

    static func ndjsonRecords(_ bytes: [UInt8], source: String) throws(CreationPlanError) -> [Record] {
        var records = [Record]()
        do {
            try JSONParser.forEachValue(in: bytes) { value, line in
                guard case .object(let object) = value else {
                    throw CreationPlanError.invalid(file: source, line: line, field: "(line)",
                                                    message: "is \(value.typeName), not an object of \(fieldList)", otherBadLines: 0)
                }
                var fields = [String: Value]()
                for (key, value) in zip(object.keys, object.values) {
                    let field = normalisedFieldName(key)
                    guard fieldNames.contains(field) else {
                        throw CreationPlanError.invalid(file: source, line: line, field: key,
                                                        message: "is not a field of a plan: use \(fieldList)", otherBadLines: 0)
                    }
                    fields[field] = .json(value)
                }
                records.append(Record(line: line, fields: fields))
            }
        } catch let error as CreationPlanError {
            throw error
        } catch let error as JSONSyntaxError {
            throw .syntax(file: source, line: error.line, message: "column \(error.column): \(error.message)")
        } catch {
            throw .syntax(file: source, line: 1, message: "\(error)")
        }
        return records
    }

    // MARK: - Validation

    struct Problem: Error {
        var field: String
        var message: String
    }

    /// The `account` field: empty or absent means the run's account.
    static func account(_ fields: [String: Value]) -> Result<String?, Problem> {
        do {
            guard let name = try text(fields["account"], "account")?.trimmingCharacters(in: .whitespaces), !name.isEmpty else {
                return .success(nil)
            }
            guard Account.isValidName(name) else { throw Problem(field: "account", message: "'\(name)' is not an account name: use \(Account.nameRule)") }
            return .success(name)
        } catch let problem as Problem {
            return .failure(problem)
        } catch {
            return .failure(Problem(field: "account", message: "\(error)"))
        }
    }

    /// The request a record describes, normalised, or the first problem with it.
    static func validate(_ fields: [String: Value]) -> Result<CreateInstallerRequest, Problem> {
        do {
            let name = try text(fields["name"], "name") ?? ""
            guard !name.isEmpty else { throw Problem(field: "name", message: "is empty: every installer needs a display name") }
            guard name.utf8.count <= 1024 else { throw Problem(field: "name", message: "is longer than 1024 bytes") }

            let osWord = try text(fields["os"], "os") ?? ""
            let os: OperatingSystemFamily
            switch osWord.lowercased() {
            case "windows", "1": os = .windows
            case "macos", "3": os = .macos
            case "linux", "2": throw Problem(field: "os", message: "'\(osWord)': ESET Connect cannot create Linux installers (use windows or macos)")
            case "": throw Problem(field: "os", message: "is empty: use windows or macos")
            default: throw Problem(field: "os", message: "'\(osWord)' is not an operating system: use windows or macos")
            }

            let language = (try text(fields["language"], "language") ?? "").lowercased()
            if !language.isEmpty && !isLanguageCode(language) {
                throw Problem(field: "language", message: "'\(language)' is not a BCP 47 language code such as en-us or de-de")
            }

            let group = (try text(fields["group"], "group") ?? "").lowercased()
            if !group.isEmpty && !isUUID(group) {
                throw Problem(field: "group", message: "'\(group)' is not a security group uuid (8-4-4-4-12 hex digits)")
            }

            let request = CreateInstallerRequest(
                displayName: name, operatingSystemFamilyId: os.rawValue,
                preferredLanguageCode: language.isEmpty ? "en-us" : language,
                securityGroupUuid: group.isEmpty ? nil : group,
                enableCloudScannerFeedback: try bool(fields["cloud_feedback"], "cloud_feedback") ?? true,
                enablePuaDetection: try bool(fields["pua_detection"], "pua_detection") ?? true,
                sendAnonymousDiagnosticData: try bool(fields["diagnostics"], "diagnostics") ?? false,
                requestedComponentIds: try components(fields["components"]))
            if let problem = request.problem { throw Problem(field: "(line)", message: problem) }
            return .success(request)
        } catch let problem as Problem {
            return .failure(problem)
        } catch {
            return .failure(Problem(field: "(line)", message: "\(error)"))
        }
    }

    static func text(_ value: Value?, _ field: String) throws -> String? {
        switch value {
        case nil, .json(.null)?: return nil
        case .text(let s)?, .json(.string(let s))?: return s.trimmingCharacters(in: .whitespacesAndNewlines)
        case .json(.number(let n))? where field == "os": return n
        case .json(let other)?: throw Problem(field: field, message: "is \(other.typeName), not a string")
        }
    }

    static func bool(_ value: Value?, _ field: String) throws -> Bool? {
        switch value {
        case nil, .json(.null)?: return nil
        case .json(.bool(let b))?: return b
        case .text(let s)?, .json(.string(let s))?:
            switch s.trimmingCharacters(in: .whitespaces).lowercased() {
            case "": return nil
            case "true", "yes", "1", "on": return true
            case "false", "no", "0", "off": return false
            default: throw Problem(field: field, message: "'\(s)' is not true or false (also yes/no, 1/0; empty for the default)")
            }
        case .json(let other)?: throw Problem(field: field, message: "is \(other.typeName), not true or false")
        }
    }

    /// Component ids: a JSON array of numbers, or text separated by `;`, `,` or spaces.
    static func components(_ value: Value?) throws -> [Int64] {
        var words = [String]()
        switch value {
        case nil, .json(.null)?: return []
        case .text(let s)?, .json(.string(let s))?:
            words = s.split(whereSeparator: { $0 == ";" || $0 == "," || $0 == " " || $0 == "|" }).map(String.init)
        case .json(.array(let items))?:
            for item in items {
                switch item {
                case .number(let n), .string(let n): words.append(n)
                default: throw Problem(field: "components", message: "holds \(item.typeName), not a component id")
                }
            }
        case .json(let other)?: throw Problem(field: "components", message: "is \(other.typeName), not a list of component ids")
        }
        var ids = Set<Int64>()
        for word in words {
            guard let id = Int64(word), CreateInstallerRequest.knownComponentIds.contains(id) else {
                let known = CreateInstallerRequest.knownComponentIds.sorted().map(String.init).joined(separator: ", ")
                throw Problem(field: "components", message: "'\(word)' is not a component id ESET accepts (\(known)); separate ids with ';'")
            }
            ids.insert(id)
        }
        return ids.sorted()
    }

    static func isLanguageCode(_ s: String) -> Bool {
        let parts = s.split(separator: "-", omittingEmptySubsequences: false)
        guard let primary = parts.first, (2...3).contains(primary.count), primary.allSatisfy({ $0.isASCII && $0.isLetter }) else { return false }
        return parts.dropFirst().allSatisfy { (1...8).contains($0.count) && $0.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) } }
    }

    static func isUUID(_ s: String) -> Bool {
        let parts = s.split(separator: "-", omittingEmptySubsequences: false)
        return parts.map(\.count) == [8, 4, 4, 4, 12] && parts.allSatisfy { $0.allSatisfy(\.isHexDigit) }
    }
}

/// Why a plan was refused. Nothing of it was sent.
public enum CreationPlanError: Error, Equatable {
    /// The file could not be read.
    case unreadable(file: String, reason: String)
    /// The file holds no installer line.
    case empty(file: String)
    /// The text is not CSV or NDJSON.
    case syntax(file: String, line: Int, message: String)
    /// A line is readable but not a valid installer; `otherBadLines` counts the lines after it that are bad too.
    case invalid(file: String, line: Int, field: String, message: String, otherBadLines: Int)
}

extension CreationPlanError: CustomStringConvertible {
    public var description: String {
        let next = "nothing was sent, fix the plan and run create --from again"
        switch self {
        case .unreadable(let file, let reason):
            return "cannot read the plan \(file): \(reason)"
        case .empty(let file):
            return "the plan \(file) holds no installer: write a CSV header row (\(CreationPlan.fieldList)) and one line per installer, or NDJSON"
        case .syntax(let file, let line, let message):
            return "\(file), line \(line): \(message); \(next)"
        case .invalid(let file, let line, let field, let message, let others):
            let more = others > 0 ? " (and \(others) more bad line\(others == 1 ? "" : "s"))" : ""
            let what = field.hasPrefix("(") ? "" : "field \(field) "
            return "\(file), line \(line): \(what)\(message)\(more); \(next)"
        }
    }
}

// MARK: - CSV

/// Reads RFC 4180 CSV (also LF line ends), remembering the line each row starts on.
enum CSVReader {
    struct Row {
        var line: Int
        var fields: [String]
    }

    static func rows(_ bytes: [UInt8], source: String) throws(CreationPlanError) -> [Row] {
        var rows = [Row]()
        var fields = [String]()
        var field = [UInt8]()
        var line = 1
        var rowLine = 1
        var inQuotes = false
        var quotedField = false
        var i = 0
        func endField() {
            fields.append(String(decoding: field, as: UTF8.self))
            field.removeAll(keepingCapacity: true)
            quotedField = false
        }
        func endRow() {
            endField()
            rows.append(Row(line: rowLine, fields: fields))
            fields.removeAll()
        }
        while i < bytes.count {
            let b = bytes[i]
            if inQuotes {
                if b == UInt8(ascii: "\"") {
                    if i + 1 < bytes.count && bytes[i + 1] == UInt8(ascii: "\"") {
                        field.append(b)
                        i += 2
                        continue
                    }
                    inQuotes = false
                } else {
                    if b == 0x0A { line += 1 }
                    field.append(b)
                }
                i += 1
                continue
            }
            switch b {
            case UInt8(ascii: ","):
                endField()
            case UInt8(ascii: "\""):
                guard field.allSatisfy({ $0 == 0x20 || $0 == 0x09 }), !quotedField else {
                    throw .syntax(file: source, line: line, message: "a quote inside an unquoted value: quote the whole value and double the quote (\"\")")
                }
                field.removeAll()
                inQuotes = true
                quotedField = true
            case 0x0D where i + 1 < bytes.count && bytes[i + 1] == 0x0A:
                break  // the LF ends the row
            case 0x0A:
                endRow()
                line += 1
                rowLine = line
            default:
                if quotedField && b != 0x20 && b != 0x09 && b != 0x0D {
                    throw .syntax(file: source, line: line, message: "text after a closing quote: quote the whole value")
                }
                field.append(b)
            }
            i += 1
        }
        if inQuotes { throw .syntax(file: source, line: rowLine, message: "a quoted value is not closed") }
        if !field.isEmpty || !fields.isEmpty || quotedField { endRow() }
        return rows.filter { !($0.fields.count == 1 && $0.fields[0].trimmingCharacters(in: .whitespaces).isEmpty) }
    }
}

extension String {
    /// The string when `bytes` are valid UTF-8, else nil.
    init?(validatingUTF8Bytes bytes: [UInt8]) {
        var iterator = bytes.makeIterator()
        var utf8 = UTF8()
        loop: while true {
            switch utf8.decode(&iterator) {
            case .scalarValue: continue
            case .emptyInput: break loop
            case .error: return nil
            }
        }
        self = String(decoding: bytes, as: UTF8.self)
    }
}
