-- installer-ledger schema, version 6: views for people who open the database directly (psql,
-- pgAdmin, Metabase). Times as RFC 3339 UTC, the OS as a word, products
-- joined, each row's account by name, and never the download URL (a secret).
-- PostgreSQL twin of migrations/0006_readable_views.sql: the same columns and the same text.
-- Never edit this file once shipped: add a new numbered migration instead.
-- SQLite's strftime('%Y-%m-%dT%H:%M:%SZ', x / 1000000000, 'unixepoch') is
-- to_char(to_timestamp(x / 1000000000) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'):
-- the same integer division (whole seconds, truncated toward zero), UTC whatever the
-- session's TimeZone, NULL for NULL. group_concat over rows in order is string_agg ... ORDER BY.

CREATE VIEW installers_readable AS
SELECT
    i.uuid,
    a.name AS account,
    i.display_name,
    CASE i.os_family_id WHEN 1 THEN 'windows' WHEN 2 THEN 'linux' WHEN 3 THEN 'macos' WHEN 0 THEN 'unspecified'
        ELSE 'os-' || i.os_family_id END AS os,
    i.language,
    i.security_group_uuid,
    i.group_display_name,
    i.status,
    i.status_reason,
    to_char(to_timestamp(i.create_time / 1000000000) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS create_time,
    to_char(to_timestamp(i.expire_time / 1000000000) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS expire_time,
    (SELECT string_agg(p.product_display_name, '; ' ORDER BY p.position) FROM activated_products p
        WHERE p.installer_uuid = i.uuid) AS products,
    (SELECT string_agg(CAST(c.component_id AS TEXT), '; ' ORDER BY c.position) FROM installed_components c
        WHERE c.installer_uuid = i.uuid) AS component_ids,
    CASE i.cloud_feedback WHEN 1 THEN 'true' ELSE 'false' END AS cloud_scanner_feedback,
    CASE i.pua_detection WHEN 1 THEN 'true' ELSE 'false' END AS pua_detection,
    CASE i.diagnostics WHEN 1 THEN 'true' ELSE 'false' END AS anonymous_diagnostics,
    to_char(to_timestamp(i.first_seen / 1000000000) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS first_seen,
    to_char(to_timestamp(i.last_seen / 1000000000) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS last_seen
FROM installers i LEFT JOIN accounts a ON a.id = i.account_id;

CREATE VIEW events_readable AS
SELECT
    e.id,
    to_char(to_timestamp(e.at / 1000000000) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS at,
    e.installer_uuid,
    (SELECT a.name FROM installers i JOIN accounts a ON a.id = i.account_id WHERE i.uuid = e.installer_uuid) AS account,
    e.kind,
    e.source,
    e.reason,
    e.details
FROM events e;

CREATE VIEW accounts_readable AS
SELECT
    a.name,
    coalesce(a.region, a.api_url) AS endpoint,
    a.username,
    CASE WHEN a.password_env IS NOT NULL THEN 'env ' || a.password_env
         WHEN a.password_file IS NOT NULL THEN 'file ' || a.password_file END AS password_from,
    (SELECT count(*) FROM installers i WHERE i.account_id = a.id AND i.status = 'usable') AS usable,
    (SELECT count(*) FROM installers i WHERE i.account_id = a.id) AS installers,
    to_char(to_timestamp((SELECT max(finished_at) FROM runs r WHERE r.account_id = a.id AND r.succeeded = 1
        AND r.kind = 'sync') / 1000000000) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS last_sync,
    to_char(to_timestamp(a.archived_at / 1000000000) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS archived_at
FROM accounts a;
