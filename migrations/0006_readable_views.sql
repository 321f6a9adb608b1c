-- installer-ledger schema, version 6: views for people who open the file directly (sqlite3,
-- sqlite-utils, Datasette, DB Browser). Times as RFC 3339 UTC, the OS as a word, products
-- joined, each row's account by name, and never the download URL (a secret).
-- Never edit this file once shipped: add a new numbered migration instead.

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
    strftime('%Y-%m-%dT%H:%M:%SZ', i.create_time / 1000000000, 'unixepoch') AS create_time,
    strftime('%Y-%m-%dT%H:%M:%SZ', i.expire_time / 1000000000, 'unixepoch') AS expire_time,
    (SELECT group_concat(name, '; ') FROM (SELECT product_display_name AS name FROM activated_products p
        WHERE p.installer_uuid = i.uuid ORDER BY p.position)) AS products,
    (SELECT group_concat(id, '; ') FROM (SELECT component_id AS id FROM installed_components c
        WHERE c.installer_uuid = i.uuid ORDER BY c.position)) AS component_ids,
    CASE i.cloud_feedback WHEN 1 THEN 'true' ELSE 'false' END AS cloud_scanner_feedback,
    CASE i.pua_detection WHEN 1 THEN 'true' ELSE 'false' END AS pua_detection,
    CASE i.diagnostics WHEN 1 THEN 'true' ELSE 'false' END AS anonymous_diagnostics,
    strftime('%Y-%m-%dT%H:%M:%SZ', i.first_seen / 1000000000, 'unixepoch') AS first_seen,
    strftime('%Y-%m-%dT%H:%M:%SZ', i.last_seen / 1000000000, 'unixepoch') AS last_seen
FROM installers i LEFT JOIN accounts a ON a.id = i.account_id;

CREATE VIEW events_readable AS
SELECT
    e.id,
    strftime('%Y-%m-%dT%H:%M:%SZ', e.at / 1000000000, 'unixepoch') AS at,
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
    strftime('%Y-%m-%dT%H:%M:%SZ', (SELECT max(finished_at) FROM runs r WHERE r.account_id = a.id AND r.succeeded = 1
        AND r.kind = 'sync') / 1000000000, 'unixepoch') AS last_sync,
    strftime('%Y-%m-%dT%H:%M:%SZ', a.archived_at / 1000000000, 'unixepoch') AS archived_at
FROM accounts a;
