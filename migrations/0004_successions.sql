-- installer-ledger schema, version 4: which installer replaced which (`rotate`).
-- Never edit this file once shipped: add a new numbered migration instead.

-- One row per replacement: the old installer (predecessor) and the new one (successor).
-- An installer has at most one successor and replaces at most one predecessor, so a chain
-- of rotations is a linked list that `show` walks one step each way. Rows are never
-- deleted; the `superseded` event on the predecessor tells the same in the history.
CREATE TABLE successions (
    predecessor_uuid TEXT PRIMARY KEY NOT NULL REFERENCES installers (uuid),
    successor_uuid TEXT NOT NULL UNIQUE REFERENCES installers (uuid),
    -- When the link was made (the successor's creation was recorded or resolved by sync).
    linked_at INTEGER NOT NULL,
    -- The command that made the link: rotate, or sync when it resolved an uncertain creation.
    source TEXT NOT NULL CHECK (source IN ('rotate', 'sync', 'create', 'import', 'reconcile', 'delete')),
    -- The pending creation that produced the successor (pending_creations.local_id).
    creation_local_id TEXT,
    -- When a hand-over file (`rotate --output`) last listed the new download URL; NULL until
    -- then, so a run that was interrupted before writing its file hands these over next time.
    handed_over_at INTEGER,
    CHECK (predecessor_uuid <> successor_uuid)
) WITHOUT ROWID;
