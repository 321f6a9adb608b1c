/// The ledger's verdict on an installer.
public enum InstallerStatus: String, Sendable, CaseIterable, Codable {
    case usable, unusable, deleted
}

/// The kinds of history event.
public enum EventKind: String, Sendable, CaseIterable, Codable {
    case recorded, changed
    case becameUnusable = "became_unusable"
    case deleted, superseded, pending, resolved
    /// ESET lists again an installer the ledger had marked deleted; details `{"status": ...}`.
    case restored
    /// An account listed an installer that belongs to another account; it stays where it was.
    case conflict
}

/// Which command wrote an event.
public enum EventSource: String, Sendable, CaseIterable, Codable {
    case create, `import`, sync, reconcile, rotate, delete
}

/// An installer as the ledger holds it: ESET's fields plus the ledger's own.
public struct LedgerInstaller: Sendable, Equatable {
    public var installer: Installer
    public var status: InstallerStatus
    /// Why it is not usable: `expired`, `api`; for deleted ones the command that saw it go.
    public var statusReason: String?
    public var statusChangedAt: Timestamp
    public var firstSeen: Timestamp
    public var lastSeen: Timestamp
    /// The installer `rotate` created to replace this one.
    public var successorUuid: String? = nil
    /// The installer this one replaced (when `rotate` created it).
    public var predecessorUuid: String? = nil
    /// The ledger's id of the account it belongs to.
    public var accountID: Int64?
    /// The name of that account (filled in by the store's reads).
    public var account: String = ""

    public init(installer: Installer, status: InstallerStatus, statusReason: String?, statusChangedAt: Timestamp,
                firstSeen: Timestamp, lastSeen: Timestamp, accountID: Int64? = nil) {
        self.accountID = accountID
        self.installer = installer
        self.status = status
        self.statusReason = statusReason
        self.statusChangedAt = statusChangedAt
        self.firstSeen = firstSeen
        self.lastSeen = lastSeen
    }

    /// Whole days from `now` until expiry (negative once expired); nil without an expiry.
    public func daysLeft(at now: Timestamp) -> Int64? {
        guard let expiry = installer.expireTime else { return nil }
        return now.wholeDays(to: expiry)
    }
}

/// One entry of the append-only history.
public struct LedgerEvent: Sendable, Equatable {
    public var id: Int64
    public var installerUuid: String?
    public var kind: EventKind
    public var at: Timestamp
    public var source: EventSource
    public var reason: String?
    /// JSON: a snapshot for `recorded`, `{field: {old, new}}` for `changed`.
    public var details: String?
    /// The ledger's id of the account it belongs to (its installer's or creation's).
    public var accountID: Int64?
    /// The name of that account (filled in by the store's reads).
    public var account: String = ""

    public init(id: Int64, installerUuid: String?, kind: EventKind, at: Timestamp, source: EventSource,
                reason: String?, details: String?) {
        self.id = id
        self.installerUuid = installerUuid
        self.kind = kind
        self.at = at
        self.source = source
        self.reason = reason
        self.details = details
    }
}

/// What a run of `import` (or a sync page) did.
public struct RecordSummary: Sendable, Equatable {
    public var new = 0
    public var changed = 0
    public var unchanged = 0
    /// Of the changed ones, those ESET listed again after the ledger had marked them deleted.
    public var restored = 0
    /// Installers listed by this run's account that belong to another account (left there).
    public var conflicts: [Conflict] = []

    /// A uuid that a second account listed.
    public struct Conflict: Sendable, Equatable {
        public var uuid: String
        /// The account it belongs to.
        public var owner: String
        /// The account whose listing named it too.
        public var listedBy: String
    }

    public init(new: Int = 0, changed: Int = 0, unchanged: Int = 0) {
        self.new = new
        self.changed = changed
        self.unchanged = unchanged
    }

    /// `N new, N changed, N unchanged` (`, N restored` and `, N conflicts` when there are any).
    public var line: String {
        var s = "\(new) new, \(changed) changed, \(unchanged) unchanged"
        if restored > 0 { s += ", \(restored) restored" }
        if !conflicts.isEmpty { s += ", \(conflicts.count) conflict\(conflicts.count == 1 ? "" : "s")" }
        return s
    }

    /// One warning line per conflict, for stderr.
    public var conflictWarnings: [String] {
        conflicts.map {
            "installer \($0.uuid) is listed by account '\($0.listedBy)' but belongs to account '\($0.owner)'; it was left with '\($0.owner)' (see installer-ledger history \($0.uuid))"
        }
    }
}
