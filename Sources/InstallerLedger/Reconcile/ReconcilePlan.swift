/// An installer the ledger holds as usable, as the reconciler sees it.
public struct ReconcileCandidate: Sendable, Equatable {
    public var uuid: String
    public var displayName: String
    public var expireTime: Timestamp?

    public init(uuid: String, displayName: String, expireTime: Timestamp?) {
        self.uuid = uuid
        self.displayName = displayName
        self.expireTime = expireTime
    }
}

/// What ESET Connect said about one installer the ledger holds as usable.
public enum ESETObservation: Sendable, Equatable {
    /// Listed or returned with `usable: true`.
    case usable
    /// Returned with `usable: false`; the answer is kept to refresh the ledger's copy.
    case unusable(ReceivedInstaller)
    /// Not found (404), or absent from a complete listing of everything ESET has.
    case gone
    /// Absent from a complete `usable=true` listing and not asked further: unusable or
    /// gone. Only asked this loosely for installers the clock has already expired.
    case notUsable
}

/// What the API part learned: an observation per installer uuid and what it cost.
public struct ESETState: Sendable, Equatable {
    public var observations: [String: ESETObservation]
    /// HTTP requests sent to the installer endpoints (tokens not counted).
    public var requests: Int
    /// Usable installers ESET listed that the ledger does not hold as usable (created
    /// elsewhere, which `sync` adopts, or ones the ledger already marked otherwise).
    public var unknownToLedger: Int

    public init(observations: [String: ESETObservation] = [:], requests: Int = 0, unknownToLedger: Int = 0) {
        self.observations = observations
        self.requests = requests
        self.unknownToLedger = unknownToLedger
    }
}

/// Where the clock and ESET disagree about an installer. Recorded in the event's
/// details and shown, never silently resolved.
public enum ReconcileDisagreement: String, Sendable, Equatable, CaseIterable {
    /// The expiry has passed but ESET still calls the installer usable.
    case usableAfterExpiry = "usable_after_expiry"
    /// ESET calls the installer unusable although its expiry is still ahead.
    case unusableBeforeExpiry = "unusable_before_expiry"

    /// A sentence for people.
    public func explanation(expireTime: Timestamp?) -> String {
        let expiry = expireTime?.rfc3339 ?? "unknown"
        switch self {
        case .usableAfterExpiry:
            return "ESET still reports it usable although it expired at \(expiry); marked expired by the clock"
        case .unusableBeforeExpiry:
            return "ESET reports it unusable although it expires only at \(expiry); marked unusable as ESET says"
        }
    }
}

/// One change the reconciler makes to one installer.
public struct ReconcileChange: Sendable, Equatable {
    /// What happens to the installer.
    public enum Action: Sendable, Equatable {
        /// The clock passed its expiry: unusable, reason `expired`.
        case expire
        /// ESET says `usable: false`: unusable, reason `api`; ESET's answer refreshes the ledger's copy.
        case markUnusable(ReceivedInstaller)
        /// ESET no longer has it: deleted.
        case markDeleted

        /// `expired`, `unusable`, `deleted`.
        public var word: String {
            switch self {
            case .expire: "expired"
            case .markUnusable: "unusable"
            case .markDeleted: "deleted"
            }
        }
    }

    public var uuid: String
    public var displayName: String
    public var expireTime: Timestamp?
    public var action: Action
    public var disagreement: ReconcileDisagreement?

    public init(uuid: String, displayName: String, expireTime: Timestamp?, action: Action,
                disagreement: ReconcileDisagreement? = nil) {
        self.uuid = uuid
        self.displayName = displayName
        self.expireTime = expireTime
        self.action = action
        self.disagreement = disagreement
    }
}

/// Everything one reconcile run will change, computed without I/O by
/// ``ReconcilePlan/make(candidates:eset:now:tolerance:)`` and applied in one transaction.
public struct ReconcilePlan: Sendable, Equatable {
    /// The instant the clock part compares expiries with.
    public var now: Timestamp
    /// Whether ESET was asked (false with `--offline`).
    public var checkedWithESET: Bool
    /// Installers held as usable that were considered.
    public var considered: Int
    /// Changes ordered by expiry, then uuid.
    public var changes: [ReconcileChange]
    /// API requests the observations cost.
    public var requests: Int
    /// Usable installers ESET listed that the ledger does not hold as usable.
    public var unknownToLedger: Int

    /// How far apart the clock and ESET may be before it counts as a disagreement: ESET's
    /// clock and the moment of listing are never exactly the ledger's `now`.
    public static let defaultTolerance = LedgerDuration.hours(1)

    /// Plans a run: the clock part for every candidate whose expiry is at or before `now`,
    /// the API part for every candidate ESET was asked about (`eset` nil: offline).
    ///
    /// - An expired installer becomes unusable (`expired`) whatever ESET says; when ESET
    ///   still calls it usable more than `tolerance` after expiry, that is a disagreement.
    /// - A not yet expired installer ESET calls unusable becomes unusable (`api`); more than
    ///   `tolerance` before its expiry, that is a disagreement.
    /// - A not yet expired installer ESET no longer has becomes deleted.
    /// - Installers ESET was not asked about, or calls usable, stay as they are.
    public static func make(candidates: [ReconcileCandidate], eset: ESETState?, now: Timestamp,
                            tolerance: LedgerDuration = defaultTolerance) -> ReconcilePlan {
        var changes = [ReconcileChange]()
        for c in candidates {
            let observed = eset?.observations[c.uuid]
            let expired = c.expireTime.map { $0 <= now } ?? false
            if expired {
                var change = ReconcileChange(uuid: c.uuid, displayName: c.displayName, expireTime: c.expireTime, action: .expire)
                if observed == .usable, let x = c.expireTime, now > x.adding(tolerance) {
                    change.disagreement = .usableAfterExpiry
                }
                changes.append(change)
                continue
            }
            switch observed {
            case .unusable(let received)?:
                var change = ReconcileChange(uuid: c.uuid, displayName: c.displayName, expireTime: c.expireTime,
                                             action: .markUnusable(received))
                if let x = c.expireTime, x > now.adding(tolerance) { change.disagreement = .unusableBeforeExpiry }
                changes.append(change)
            case .gone?:
                changes.append(ReconcileChange(uuid: c.uuid, displayName: c.displayName, expireTime: c.expireTime,
                                               action: .markDeleted))
            case .usable?, .notUsable?, nil:
                // `.notUsable` is only asked for expired installers; if it ever reaches a live
                // one the state is not known well enough to change anything.
                break
            }
        }
        changes.sort { a, b in
            let ax = a.expireTime?.nanoseconds ?? .max, bx = b.expireTime?.nanoseconds ?? .max
            return ax != bx ? ax < bx : a.uuid < b.uuid
        }
        return ReconcilePlan(now: now, checkedWithESET: eset != nil, considered: candidates.count, changes: changes,
                             requests: eset?.requests ?? 0, unknownToLedger: eset?.unknownToLedger ?? 0)
    }

    /// Whether applying the plan would change nothing.
    public var isEmpty: Bool { changes.isEmpty }

    /// Changes of one kind.
    public var expired: [ReconcileChange] { changes.filter { $0.action == .expire } }
    public var unusable: [ReconcileChange] { changes.filter { if case .markUnusable = $0.action { true } else { false } } }
    public var deleted: [ReconcileChange] { changes.filter { $0.action == .markDeleted } }
    public var disagreements: [ReconcileChange] { changes.filter { $0.disagreement != nil } }

    /// e.g. `3 expired, 1 unusable by ESET, 1 deleted, 1 disagreement (40 usable checked with ESET in 2 requests)`.
    public var summaryLine: String {
        var s = "\(expired.count) expired, \(unusable.count) unusable by ESET, \(deleted.count) deleted, "
        s += disagreements.count == 1 ? "1 disagreement" : "\(disagreements.count) disagreements"
        if checkedWithESET {
            s += " (\(considered) usable checked with ESET in \(requests) request\(requests == 1 ? "" : "s"))"
        } else {
            s += " (offline: clock only)"
        }
        return s
    }
}
