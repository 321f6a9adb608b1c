/// Which installers `rotate` looks at: usable ones expiring within a time, optionally only
/// of one group, one operating system, or whose name contains a text (as `list` filters).
public struct RotationSelection: Sendable, Equatable {
    /// How far ahead to look: installers expiring in (now, now + within] are due.
    public var within: LedgerDuration
    /// A security group uuid, or a group display name (case-insensitive).
    public var group: String?
    public var operatingSystemFamilyId: Int64?
    /// Case-insensitive substring of the display name.
    public var nameContains: String?
    /// Whose installers: every account by default (a rotation that creates works for one).
    public var scope: AccountScope = .all

    /// The default window: two weeks, enough to hand new links over before the old ones stop.
    public static let defaultWithin = LedgerDuration.days(14)

    public init(within: LedgerDuration = RotationSelection.defaultWithin, group: String? = nil,
                operatingSystemFamilyId: Int64? = nil, nameContains: String? = nil) {
        self.within = within
        self.group = group
        self.operatingSystemFamilyId = operatingSystemFamilyId
        self.nameContains = nameContains
    }

    /// The `list` filter selecting the due installers, soonest expiry first.
    public var filter: InstallerFilter {
        var f = InstallerFilter()
        f.status = .usable
        f.expiringWithin = within
        f.group = group
        f.operatingSystemFamilyId = operatingSystemFamilyId
        f.nameContains = nameContains
        f.sort = .expires
        f.scope = scope
        return f
    }

    /// Whether an installer matches the group, OS and name parts (not the time window), by
    /// the same rule as the SQL filter (``SelectionText``).
    public func matches(_ i: Installer) -> Bool {
        if let os = operatingSystemFamilyId, i.operatingSystemFamilyId != os { return false }
        if let group, i.deviceEnrollment.securityGroupUuid != group,
           !SelectionText.equal(i.deviceEnrollment.groupDisplayName, group) { return false }
        if let name = nameContains, !SelectionText.contains(i.displayName, name) { return false }
        return true
    }
}

/// A due installer with what the ledger knows about its replacement.
public struct RotationCandidate: Sendable, Equatable {
    public var installer: LedgerInstaller
    /// The newest replacement creation started for it that did not fail (pending or resolved).
    public var creation: PendingCreation?
    /// The request that created it, when the ledger created it (its requested component ids).
    public var originalRequest: CreateInstallerRequest?

    public init(installer: LedgerInstaller, creation: PendingCreation? = nil, originalRequest: CreateInstallerRequest? = nil) {
        self.installer = installer
        self.creation = creation
        self.originalRequest = originalRequest
    }
}

/// What `rotate` will do with one due installer.
public struct RotationStep: Sendable, Equatable {
    /// The decision for one installer.
    public enum Action: Sendable, Equatable {
        /// Create this replacement.
        case create(CreateInstallerRequest)
        /// The replacement exists but is not linked yet: link it.
        case link(successorUuid: String)
        /// Already replaced by this installer: nothing to create.
        case alreadyReplaced(successorUuid: String)
        /// A replacement was sent and its outcome is uncertain: never re-sent; `sync` resolves it.
        case awaitingSync(localId: String)
        /// No replacement can be made (e.g. a Linux installer, which ESET does not create).
        case cannotReplace(reason: String)
    }

    public var predecessor: LedgerInstaller
    public var action: Action

    public init(predecessor: LedgerInstaller, action: Action) {
        self.predecessor = predecessor
        self.action = action
    }

    /// The plan key of the replacement's creation.
    public var planKey: String { RotationPlanKey.forPredecessor(predecessor.installer.uuid) }
}

/// Everything one `rotate` run will do, decided before anything is sent.
public struct RotationPlan: Sendable, Equatable {
    public var now: Timestamp
    public var selection: RotationSelection
    public var steps: [RotationStep]
    /// Predecessors to revoke at ESET once their successor exists (`--delete-old`): those
    /// already replaced now; those replaced during the run are added as they are.
    public var deleteOld: Bool

    public init(now: Timestamp, selection: RotationSelection, steps: [RotationStep], deleteOld: Bool) {
        self.now = now
        self.selection = selection
        self.steps = steps
        self.deleteOld = deleteOld
    }

    /// How many replacements the plan creates.
    public var creations: Int { steps.filter { if case .create = $0.action { true } else { false } }.count }

    /// How many predecessors the plan may revoke with `--delete-old` (replaced already, or
    /// replaced by this run).
    public var possibleRevocations: Int {
        guard deleteOld else { return 0 }
        return steps.filter {
            switch $0.action {
            case .create, .link, .alreadyReplaced: true
            case .awaitingSync, .cannotReplace: false
            }
        }.count
    }
}

/// Decides what to do for each due installer, without I/O.
public enum RotationPlanner {
    /// The plan for these candidates: create a replacement for each installer without one,
    /// leave alone those already replaced or whose replacement is in flight.
    public static func plan(_ candidates: [RotationCandidate], selection: RotationSelection, now: Timestamp,
                            deleteOld: Bool = false) -> RotationPlan {
        let steps = candidates.map { c -> RotationStep in
            let old = c.installer
            if let successor = old.successorUuid {
                return RotationStep(predecessor: old, action: .alreadyReplaced(successorUuid: successor))
            }
            if let creation = c.creation {
                switch creation.state {
                case .resolved:
                    if let uuid = creation.installerUuid { return RotationStep(predecessor: old, action: .link(successorUuid: uuid)) }
                case .pending:
                    return RotationStep(predecessor: old, action: .awaitingSync(localId: creation.localId))
                case .failed:
                    break  // certainly not created: create again
                }
            }
            switch replacementRequest(for: old.installer, original: c.originalRequest) {
            case .success(let request): return RotationStep(predecessor: old, action: .create(request))
            case .failure(let problem): return RotationStep(predecessor: old, action: .cannotReplace(reason: problem.reason))
            }
        }
        return RotationPlan(now: now, selection: selection, steps: steps, deleteOld: deleteOld)
    }

    /// Why no replacement request can be made.
    public struct Unreplaceable: Error, Equatable {
        public var reason: String
    }

    /// The request creating an installer with the same writable settings as `old`: display
    /// name, OS, language, security group and the three flags from the ledger's copy of
    /// ESET's answer; components as originally requested when the ledger created it, else the
    /// components it installs (ESET's answer does not say which were requested and which were
    /// chosen from the licences; asking for the installed ones gives the same installer).
    public static func replacementRequest(for old: Installer, original: CreateInstallerRequest?)
        -> Result<CreateInstallerRequest, Unreplaceable>
    {
        var components: [Int64]
        if let original {
            components = original.requestedComponentIds
        } else {
            var seen = Set<Int64>()
            components = old.installedComponents.map(\.id).filter {
                CreateInstallerRequest.knownComponentIds.contains($0) && seen.insert($0).inserted
            }
        }
        let request = CreateInstallerRequest(
            displayName: old.displayName, operatingSystemFamilyId: old.operatingSystemFamilyId,
            preferredLanguageCode: old.preferredLanguageCode.isEmpty ? "en-us" : old.preferredLanguageCode,
            securityGroupUuid: old.deviceEnrollment.securityGroupUuid.isEmpty ? nil : old.deviceEnrollment.securityGroupUuid,
            enableCloudScannerFeedback: old.enableCloudScannerFeedback, enablePuaDetection: old.enablePuaDetection,
            sendAnonymousDiagnosticData: old.sendAnonymousDiagnosticData, requestedComponentIds: components)
        if let problem = request.problem { return .failure(Unreplaceable(reason: problem)) }
        return .success(request)
    }
}
