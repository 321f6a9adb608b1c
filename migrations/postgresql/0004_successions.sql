-- installer-ledger schema, version 4: which installer replaced which (`rotate`).
-- PostgreSQL twin of migrations/0004_successions.sql.
-- Never edit this file once shipped: add a new numbered migration instead.

-- One row per replacement: the old installer (predecessor) and the new one (successor).
-- An installer has at most one successor and replaces at most one predecessor, so a chain
-- of rotations is a linked list that `show` walks one step each way. Rows are never
-- deleted; the `superseded` event on the predecessor tells the same in the history.
CREATE TABLE successions (
    predecessor_uuid TEXT NOT NULL CONSTRAINT successions_pkey PRIMARY KEY
        CONSTRAINT successions_predecessor_uuid_fkey REFERENCES installers (uuid),
    successor_uuid TEXT NOT NULL CONSTRAINT successions_successor_uuid_key UNIQUE
        CONSTRAINT successions_successor_uuid_fkey REFERENCES installers (uuid),
    -- When the link was made (the successor's creation was recorded or resolved by sync).
    linked_at BIGINT NOT NULL,
    -- The command that made the link: rotate, or sync when it resolved an uncertain creation.
    source TEXT NOT NULL CONSTRAINT successions_source_check CHECK (source IN ('rotate', 'sync', 'create', 'import', 'reconcile', 'delete')),
    -- The pending creation that produced the successor (pending_creations.local_id).
    creation_local_id TEXT,
    -- When a hand-over file (`rotate --output`) last listed the new download URL; NULL until
    -- then, so a run that was interrupted before writing its file hands these over next time.
    handed_over_at BIGINT,
    CONSTRAINT successions_not_self_check CHECK (predecessor_uuid <> successor_uuid)
);
