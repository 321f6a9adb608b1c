import Foundation

/// The installers of one company, deleted and unlisted ones included, kept sorted by
/// (createTime, uuid) so that pages are stable while installers are added or deleted.
struct InstallerStore: Sendable {
    private(set) var records: [InstallerRecord] = []
    /// What listing looks at, beside `records` in the same order: a plain value without
    /// references, so scanning 100,000 of them costs no reference counting.
    private var entries: [Entry] = []
    private var indexByUuid: [String: Int] = [:]

    private struct Entry {
        var expireMicros: Int64
        var deleted: Bool
        var listed: Bool

        init(_ record: InstallerRecord) {
            expireMicros = record.expireMicros
            deleted = record.deleted
            listed = record.listed
        }

        /// What `GET /v1/installers` shows.
        var isListed: Bool { !deleted && listed }
    }

    /// A store holding `records` (in any order).
    init(records: [InstallerRecord] = []) {
        // Sorting positions, not the large records themselves, is several times faster.
        let keys = records.map { ($0.createMicros, $0.uuid) }
        self.records = keys.indices.sorted { keys[$0] < keys[$1] }.map { records[$0] }
        self.entries = self.records.map(Entry.init)
        rebuildIndex(from: 0)
    }

    var count: Int { records.count }

    func record(uuid: String) -> InstallerRecord? {
        indexByUuid[uuid].map { records[$0] }
    }

    /// Adds a new installer at its place in the order.
    mutating func insert(_ record: InstallerRecord) {
        let position = firstIndex(after: Self.key(of: record))
        records.insert(record, at: position)
        entries.insert(Entry(record), at: position)
        rebuildIndex(from: position)
    }

    /// Marks an installer deleted; `false` when it is unknown or already deleted.
    mutating func markDeleted(uuid: String) -> Bool {
        guard let index = indexByUuid[uuid], !records[index].deleted else { return false }
        records[index].deleted = true
        entries[index].deleted = true
        return true
    }

    /// Lists (`true`) or hides (`false`) an installer; `false` when it is unknown.
    mutating func setListed(uuid: String, _ listed: Bool) -> Bool {
        guard let index = indexByUuid[uuid] else { return false }
        records[index].listed = listed
        entries[index].listed = listed
        return true
    }

    /// One page of the installers that are listed, not deleted, and match `usable` (nil: all), starting
    /// after `key`; `next` is the key to continue from, `nil` on the last page.
    func page(usable: Bool?, pageSize: Int, after key: PageKey?, nowMicros: Int64)
        -> (items: [(InstallerRecord, Bool)], next: PageKey?, totalSize: Int)
    {
        let start = key.map { firstIndex(after: ($0.createMicros, $0.uuid)) } ?? 0
        var items: [(InstallerRecord, Bool)] = []
        items.reserveCapacity(min(pageSize, records.count))
        var total = 0, more = false
        for (index, entry) in entries.enumerated() where entry.isListed {
            let isUsable = entry.expireMicros > nowMicros
            if let usable, usable != isUsable { continue }
            total += 1
            guard index >= start else { continue }
            if items.count < pageSize { items.append((records[index], isUsable)) } else { more = true }
        }
        let next = more ? items.last.map { PageKey(createMicros: $0.0.createMicros, uuid: $0.0.uuid) } : nil
        return (items, next, total)
    }

    private static func key(of record: InstallerRecord) -> (Int64, String) {
        (record.createMicros, record.uuid)
    }

    /// Index of the first record whose key is greater than `key` (binary search).
    private func firstIndex(after key: (Int64, String)) -> Int {
        var low = 0, high = records.count
        while low < high {
            let mid = (low + high) / 2
            if Self.key(of: records[mid]) <= key { low = mid + 1 } else { high = mid }
        }
        return low
    }

    private mutating func rebuildIndex(from position: Int) {
        for index in position..<records.count { indexByUuid[records[index].uuid] = index }
    }
}

/// Where a page ends: an opaque `pageToken` on the wire, well under 128 characters.
///
/// The token is *standard* base64 with padding, as many real APIs hand out, so that it holds
/// the characters a query string mangles: its first two bytes are a format marker chosen to
/// encode as `+/` and zero bytes at the end make its length encode with `==`. Every real
/// page token therefore holds `+`, `/` and `=`: a client that sends `+` unescaped gets it
/// decoded as a space (see ``QueryString``) and the token refused with 400, as a Go gateway
/// would.
struct PageKey: Equatable {
    var createMicros: Int64
    var uuid: String

    /// The format marker: `0xFB 0xFF` encodes as `+/`.
    private static let marker: [UInt8] = [0xFB, 0xFF]

    var token: String {
        var bytes = Self.marker
        withUnsafeBytes(of: createMicros.bigEndian) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: uuid.utf8)
        // One byte over a multiple of three: the base64 ends in `==`.
        while bytes.count % 3 != 1 { bytes.append(0) }
        return Data(bytes).base64EncodedString()
    }

    /// Decodes a page token; `nil` when it was not made by ``token`` (a `+` turned into a space
    /// on the way is not base64, so such a token is refused).
    init?(token: String) {
        guard token.count <= 128, let data = Data(base64Encoded: token) else { return nil }
        let bytes = [UInt8](data)
        guard bytes.count > Self.marker.count + 8, bytes.starts(with: Self.marker) else { return nil }
        let micros = bytes[2..<10].reduce(Int64(0)) { $0 << 8 | Int64($1) }
        var rest = bytes[10...]
        while rest.last == 0 { rest = rest.dropLast() }
        guard let uuid = String(validating: rest, as: UTF8.self), !uuid.isEmpty else { return nil }
        self.init(createMicros: micros, uuid: uuid)
    }

    init(createMicros: Int64, uuid: String) {
        self.createMicros = createMicros
        self.uuid = uuid
    }
}
