-- installer-ledger schema, version 1.
-- Timestamps are INTEGER nanoseconds since 1970-01-01T00:00:00Z (UTC): they sort and
-- compare correctly; datetime(x / 1000000000, 'unixepoch') shows them in sqlite3.
-- Never edit this file once shipped: add a new numbered migration instead.

-- Checksums of applied migrations, so an edited shipped migration is detected.
CREATE TABLE ledger_migration_checksums (
    identifier TEXT PRIMARY KEY NOT NULL,
    sha256 TEXT NOT NULL
);

-- One row per installer ever seen. Never deleted: status moves usable -> unusable/deleted.
CREATE TABLE installers (
    id INTEGER PRIMARY KEY,
    uuid TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL DEFAULT '',
    os_family_id INTEGER NOT NULL DEFAULT 0,
    language TEXT NOT NULL DEFAULT '',
    security_group_uuid TEXT NOT NULL DEFAULT '',
    group_display_name TEXT NOT NULL DEFAULT '',
    cloud_feedback INTEGER NOT NULL DEFAULT 0 CHECK (cloud_feedback IN (0, 1)),
    pua_detection INTEGER NOT NULL DEFAULT 0 CHECK (pua_detection IN (0, 1)),
    diagnostics INTEGER NOT NULL DEFAULT 0 CHECK (diagnostics IN (0, 1)),
    download_url TEXT NOT NULL DEFAULT '',
    create_time INTEGER,
    expire_time INTEGER,
    -- `usable` as ESET last reported it.
    api_usable INTEGER NOT NULL CHECK (api_usable IN (0, 1)),
    -- The ledger's verdict: usable, unusable (status_reason expired|api) or deleted.
    status TEXT NOT NULL CHECK (status IN ('usable', 'unusable', 'deleted')),
    status_reason TEXT,
    status_changed_at INTEGER NOT NULL,
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    -- FNV-1a of the modelled fields: a re-import of identical data is a cheap lookup.
    content_hash INTEGER NOT NULL
);

-- Indexes for the selective list filters; OS, status, name and product name select large
-- shares of the ledger, where a scan is as fast and every index slows bulk imports.
CREATE INDEX installers_by_expiry ON installers (expire_time);
CREATE INDEX installers_by_create ON installers (create_time);
CREATE INDEX installers_by_group_uuid ON installers (security_group_uuid);
CREATE INDEX installers_by_group_name ON installers (group_display_name COLLATE NOCASE);

-- One row per installer x activated product.
CREATE TABLE activated_products (
    installer_uuid TEXT NOT NULL REFERENCES installers (uuid),
    position INTEGER NOT NULL,
    pool_uuid TEXT NOT NULL DEFAULT '',
    pool_display_name TEXT NOT NULL DEFAULT '',
    product_id INTEGER NOT NULL DEFAULT 0,
    product_display_name TEXT NOT NULL DEFAULT '',
    subscription_uuid TEXT NOT NULL DEFAULT '',
    subscription_support_code TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (installer_uuid, position)
) WITHOUT ROWID;

CREATE INDEX activated_products_by_product ON activated_products (product_id);
CREATE INDEX activated_products_by_subscription ON activated_products (subscription_uuid);

-- One row per installer x installed platform component.
CREATE TABLE installed_components (
    installer_uuid TEXT NOT NULL REFERENCES installers (uuid),
    position INTEGER NOT NULL,
    component_id INTEGER NOT NULL DEFAULT 0,
    name TEXT NOT NULL DEFAULT '',
    display_name TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (installer_uuid, position)
) WITHOUT ROWID;

-- The last raw API answer (the installer object's JSON) per installer.
CREATE TABLE raw_answers (
    installer_id INTEGER PRIMARY KEY REFERENCES installers (id),
    json TEXT NOT NULL,
    received_at INTEGER NOT NULL
);

-- Append-only history. details is JSON: {displayName, status} for `recorded`,
-- {field: {old, new}} for `changed` (so past states rebuild backwards from the current
-- row). Download URLs never appear in it.
CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    installer_uuid TEXT REFERENCES installers (uuid),
    kind TEXT NOT NULL CHECK (kind IN ('recorded', 'changed', 'became_unusable', 'deleted', 'superseded', 'pending', 'resolved')),
    at INTEGER NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('create', 'import', 'sync', 'reconcile', 'rotate', 'delete')),
    reason TEXT,
    details TEXT
);

CREATE INDEX events_by_installer ON events (installer_uuid, id);
CREATE INDEX events_by_time ON events (at);

CREATE TRIGGER events_are_append_only_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER events_are_append_only_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
