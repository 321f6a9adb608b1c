/// What can go wrong with the ledger file itself or a lookup in it.
public enum LedgerError: Error, Equatable {
    /// The ledger was written by a newer installer-ledger (it has migrations this one lacks).
    case newerSchema(path: String, unknownMigrations: [String])
    /// A migration applied to this ledger differs from the one shipped in this binary.
    case editedMigration(path: String, identifier: String)
    /// The file could not be opened or created.
    case cannotOpen(path: String, reason: String)
    /// No installer matches the id or prefix.
    case installerNotFound(String)
    /// Several installers start with the prefix.
    case ambiguousPrefix(String, candidates: [String])
}

extension LedgerError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .newerSchema(let path, let unknown):
            "the ledger \(path) was written by a newer installer-ledger (unknown migrations: \(unknown.joined(separator: ", "))); upgrade installer-ledger, the file was left untouched"
        case .editedMigration(let path, let id):
            "migration \(id) applied to \(path) differs from the one shipped in this build (a shipped migration was edited); restore the original migration file, the ledger was left untouched"
        case .cannotOpen(let path, let reason):
            "cannot open the ledger \(path): \(reason); check the path and its permissions, or choose another with --db"
        case .installerNotFound(let id):
            "no installer in the ledger matches '\(id)'; run 'installer-ledger list' to see the uuids"
        case .ambiguousPrefix(let prefix, let candidates):
            "'\(prefix)' matches several installers (\(candidates.prefix(5).joined(separator: ", "))\(candidates.count > 5 ? ", …" : "")); give more characters of the uuid"
        }
    }
}
