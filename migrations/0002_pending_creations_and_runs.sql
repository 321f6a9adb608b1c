-- installer-ledger schema, version 2: creations in flight and the record of sync runs.

-- A creation is written here BEFORE its POST is sent, so nothing is lost when the answer
-- never comes: `sync` later matches it against what ESET lists.
CREATE TABLE pending_creations (
    id INTEGER PRIMARY KEY,
    -- The ledger's own id for the creation (a uuid), shown to the user.
    local_id TEXT NOT NULL UNIQUE,
    -- The exact JSON body of POST /v1/installers.
    request_json TEXT NOT NULL,
    display_name TEXT NOT NULL,
    os_family_id INTEGER NOT NULL,
    security_group_uuid TEXT NOT NULL DEFAULT '',
    requested_at INTEGER NOT NULL,
    -- pending: the outcome is unknown; resolved: installer_uuid is the result;
    -- failed: ESET certainly did not create it.
    state TEXT NOT NULL CHECK (state IN ('pending', 'resolved', 'failed')),
    installer_uuid TEXT REFERENCES installers (uuid),
    resolved_at INTEGER,
    message TEXT,
    -- For bulk plans: identifies the plan line, so a re-run skips lines already done.
    plan_key TEXT
);

CREATE INDEX pending_creations_by_state ON pending_creations (state);
CREATE INDEX pending_creations_by_plan_key ON pending_creations (plan_key);

-- One row per sync or reconcile run, for the report's staleness check.
CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('sync', 'reconcile')),
    started_at INTEGER NOT NULL,
    finished_at INTEGER,
    succeeded INTEGER NOT NULL DEFAULT 0 CHECK (succeeded IN (0, 1)),
    -- JSON counts, e.g. {"seen": 10, "new": 2, "changed": 1, "deleted": 0, "resolved": 1}.
    counts TEXT,
    message TEXT
);

CREATE INDEX runs_by_kind ON runs (kind, succeeded, finished_at);
