/// The text `reconcile` prints: a summary line, then one line per change.
public enum ReconcileRendering {
    /// Lines beyond this many plain expiries are summarised, so a first run over a large
    /// ledger does not mail 100,000 lines; disagreements and other changes always show.
    public static let expiryLinesShown = 50

    /// The whole text; `dryRun` prints every change and says nothing was written.
    public static func text(_ plan: ReconcilePlan, dryRun: Bool) -> String {
        var out = dryRun ? "dry run, nothing written: would mark " : "reconciled at \(plan.now.rfc3339): "
        out += plan.summaryLine + "\n"
        var plainShown = 0
        var plainHidden = 0
        for change in plan.changes {
            if change.action == .expire, change.disagreement == nil, !dryRun {
                guard plainShown < expiryLinesShown else { plainHidden += 1; continue }
                plainShown += 1
            }
            out += line(change) + "\n"
        }
        if plainHidden > 0 {
            out += "… and \(plainHidden) more expired (installer-ledger history --kind became_unusable --since \(plan.now.dateString))\n"
        }
        if plan.unknownToLedger > 0 {
            let n = plan.unknownToLedger
            out += "ESET lists \(n) usable installer\(n == 1 ? "" : "s") the ledger does not hold as usable; if \(n == 1 ? "it was" : "they were") created elsewhere, 'installer-ledger sync' adopts \(n == 1 ? "it" : "them")\n"
        }
        return out
    }

    /// One line for an account of `reconcile --all`.
    public static func summaryLine(_ plan: ReconcilePlan, dryRun: Bool) -> String {
        (dryRun ? "dry run, would mark " : "") + plan.summaryLine
    }

    /// e.g. `expired   8a6a63ec-…  Head office Windows  (expiry 2026-11-28T08:00:00Z)`.
    public static func line(_ change: ReconcileChange) -> String {
        var s = fit(change.action.word, 10) + fit(change.uuid, 37) + fit(change.displayName, 32)
        s += "(expiry \(change.expireTime?.rfc3339 ?? "none"))"
        if let d = change.disagreement {
            s += "\n  disagreement: " + d.explanation(expireTime: change.expireTime)
        }
        return s
    }
}
