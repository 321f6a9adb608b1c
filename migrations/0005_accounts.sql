-- installer-ledger schema, version 5: many ESET accounts in one ledger.
-- Never edit this file once shipped: add a new numbered migration instead.

-- One row per ESET Connect identity (one API user of one customer company). The password
-- itself is never stored: only where it comes from (an environment variable or a 0600 file).
CREATE TABLE accounts (
    id INTEGER PRIMARY KEY,
    -- Lower-case letters, digits, '.', '_', '-', starting with a letter or digit.
    name TEXT NOT NULL UNIQUE
        CHECK (length(name) BETWEEN 1 AND 64 AND name GLOB '[a-z0-9]*' AND name NOT GLOB '*[^a-z0-9._-]*'),
    -- The identity: username + region, or username + API base URL. NULL username: not known
    -- yet (an upgraded ledger's `default`, filled in by its next API run).
    region TEXT CHECK (region IN ('eu', 'de', 'us', 'jpn', 'ca')),
    api_url TEXT,
    username TEXT,
    -- Where the password comes from: exactly one of them, or neither until it is known.
    password_env TEXT,
    password_file TEXT,
    created_at INTEGER NOT NULL,
    -- Set by `account remove --archive`: kept with its history, hidden from defaults.
    archived_at INTEGER,
    CHECK (region IS NULL OR api_url IS NULL),
    CHECK (password_env IS NULL OR password_file IS NULL)
);

-- An existing ledger's rows all belong to one account, `default`; a new, empty ledger starts
-- without accounts (the first API run or `account add` makes one).
INSERT INTO accounts (id, name, created_at)
SELECT 1, 'default', CAST((julianday('now') - 2440587.5) * 86400000000000 AS INTEGER)
WHERE EXISTS (SELECT 1 FROM installers) OR EXISTS (SELECT 1 FROM pending_creations)
   OR EXISTS (SELECT 1 FROM runs) OR EXISTS (SELECT 1 FROM report_runs);

-- The owner of every row ESET owns. NULL only where a row predates the account (never after
-- this migration: every writer names its account).
ALTER TABLE installers ADD COLUMN account_id INTEGER REFERENCES accounts (id);
ALTER TABLE pending_creations ADD COLUMN account_id INTEGER REFERENCES accounts (id);
ALTER TABLE runs ADD COLUMN account_id INTEGER REFERENCES accounts (id);
ALTER TABLE report_runs ADD COLUMN account_id INTEGER REFERENCES accounts (id);
UPDATE installers SET account_id = 1;
UPDATE pending_creations SET account_id = 1;
UPDATE runs SET account_id = 1;
UPDATE report_runs SET account_id = 1;

CREATE INDEX installers_by_account ON installers (account_id, status);
-- The report's covering index of usable installers (0003), now with the account, so that
-- summaries by account, group and product still never touch the table.
DROP INDEX installers_usable_by_expiry;
CREATE INDEX installers_usable_by_expiry ON installers (expire_time, uuid, security_group_uuid, group_display_name, account_id, status)
    WHERE status = 'usable';
-- Plan keys are per account: the same plan line for two customers makes one installer each.
CREATE INDEX pending_creations_by_account_plan_key ON pending_creations (account_id, plan_key);
CREATE INDEX runs_by_account ON runs (account_id, kind, succeeded, finished_at);

-- Two new kinds of history event: `restored` (ESET lists again an installer the ledger had
-- marked deleted or unusable; details {"status": ...}) and `conflict` (a second account's
-- listing named an installer that belongs to another account; details {"account": ...}).
-- SQLite cannot change a CHECK constraint, so the table is rebuilt with the same columns,
-- rows and ids, and its indexes and append-only triggers are made again.
DROP TRIGGER events_are_append_only_update;
DROP TRIGGER events_are_append_only_delete;
CREATE TABLE events_v5 (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    installer_uuid TEXT REFERENCES installers (uuid),
    kind TEXT NOT NULL CHECK (kind IN ('recorded', 'changed', 'became_unusable', 'deleted', 'superseded', 'pending',
                                       'resolved', 'restored', 'conflict')),
    at INTEGER NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('create', 'import', 'sync', 'reconcile', 'rotate', 'delete')),
    reason TEXT,
    details TEXT
);
INSERT INTO events_v5 (id, installer_uuid, kind, at, source, reason, details)
SELECT id, installer_uuid, kind, at, source, reason, details FROM events ORDER BY id;
DROP TABLE events;
ALTER TABLE events_v5 RENAME TO events;
CREATE INDEX events_by_installer ON events (installer_uuid, id);
CREATE INDEX events_by_time ON events (at);
CREATE TRIGGER events_are_append_only_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER events_are_append_only_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
