/// How `rotate` prints its plan and its results. Never prints download URLs: rotate runs
/// from cron and its output ends up in mail and logs; the hand-over file carries them.
public enum RotationRendering {
    /// The plan as a table (`--dry-run`, and before a run on a terminal).
    public static func planTable(_ plan: RotationPlan) -> String {
        // An ACCOUNT column when the plan spans several customers.
        let accounts = Set(plan.steps.map(\.predecessor.account)).count > 1
        let acct = { (name: String) in accounts ? fit(name, 13) : "" }
        var out = acct("ACCOUNT") + fit("ID", 9) + fit("NAME", 25) + fit("OS", 8) + fit("GROUP", 21) + fit("EXPIRES", 11) + "ACTION\n"
        for step in plan.steps {
            let i = step.predecessor.installer
            let group = i.deviceEnrollment.groupDisplayName.isEmpty ? i.deviceEnrollment.securityGroupUuid : i.deviceEnrollment.groupDisplayName
            out += acct(step.predecessor.account) + fit(String(i.uuid.prefix(8)), 9) + fit(i.displayName, 25) + fit(OperatingSystemFamily.word(forId: i.operatingSystemFamilyId), 8)
                + fit(group, 21) + fit(i.expireTime?.dateString ?? "-", 11) + actionText(step.action, deleteOld: plan.deleteOld) + "\n"
        }
        let others = plan.steps.count - plan.creations
        out += "plan: \(plan.creations) to create, \(others) to leave (\(plan.steps.count) due within \(plan.selection.within)"
        out += " of \(plan.now.secondsText))"
        if plan.deleteOld { out += "; up to \(plan.possibleRevocations) predecessors to revoke once replaced" }
        return out + "\n"
    }

    static func actionText(_ action: RotationStep.Action, deleteOld: Bool) -> String {
        let revoke = deleteOld ? ", revoke old" : ""
        switch action {
        case .create(let r):
            let components = r.requestedComponentIds.isEmpty ? "" : " (components \(r.requestedComponentIds.map(String.init).joined(separator: " ")))"
            return "create replacement\(components)\(revoke)"
        case .link(let uuid): return "link to \(uuid.prefix(8))\(revoke)"
        case .alreadyReplaced(let uuid): return "replaced by \(uuid.prefix(8))\(revoke)"
        case .awaitingSync(let id): return "awaiting sync (creation \(id.prefix(8)))"
        case .cannotReplace(let reason): return "cannot replace: \(reason)"
        }
    }

    /// One line per installer as the run goes.
    public static func resultLine(_ r: RotationResult) -> String {
        let old = "\(r.predecessor.uuid.prefix(8)) \"\(r.predecessor.displayName)\""
        var line: String
        switch r.outcome {
        case .created(let new):
            line = "created  \(old) -> \(new.uuid) expires \(new.expireTime?.rfc3339 ?? "-")"
        case .linked(let uuid):
            line = "linked   \(old) -> \(uuid)"
        case .skipped(let action):
            line = "skipped  \(old): \(actionText(action, deleteOld: false))"
        case .failed(let error):
            line = "failed   \(old): \(error)"
        case .uncertain(let error):
            line = "uncertain \(old): \(error)"
        case .notAttempted:
            line = "not attempted \(old)"
        }
        switch r.revocation {
        case .revoked?: line += "; old one revoked"
        case .failed(let error)?: line += "; old one NOT revoked: \(error)"
        case nil: break
        }
        return line + "\n"
    }
}
