-- installer-ledger schema, version 8: a plan line is claimed once per account, by the
-- database itself. `create --from` writes a line's creation pending before it sends the
-- POST; while that creation has not failed, `plan_claim` holds the line's plan key, and the
-- unique index below refuses a second claim of the same line, whichever run, machine or
-- code path makes it. A failed creation gives its claim up (the line may be tried again).
-- Never edit this file once shipped: add a new numbered migration instead.

ALTER TABLE pending_creations ADD COLUMN plan_claim TEXT;

-- A ledger written before this version may hold two creations of one line that have not
-- failed (two runs at once): the first keeps the claim, the later ones stay as they are.
UPDATE pending_creations SET plan_claim = plan_key
WHERE plan_key IS NOT NULL AND state <> 'failed'
  AND id = (SELECT min(p.id) FROM pending_creations p
            WHERE p.plan_key = pending_creations.plan_key AND p.account_id IS pending_creations.account_id
              AND p.state <> 'failed');

CREATE UNIQUE INDEX pending_creations_plan_claims ON pending_creations (account_id, plan_claim);
