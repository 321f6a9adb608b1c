-- installer-ledger schema, version 7: what the coverage questions (the report's summaries
-- by device group and by product, and `gaps`) read, so that they cost a walk over the
-- usable installers' index entries and a few thousand index seeks, not a read of every
-- installer with its products (issue 15: 12 s and 900 MiB on a million installers).
-- PostgreSQL twin of migrations/0007_coverage_index.sql.
-- Never edit this file once shipped: add a new numbered migration instead.

-- The installer's distinct product ids, ascending, comma-separated ('' for none): its
-- products as one index key, so that the usable installers of a product are counted from
-- the index below without joining activated_products. Written with the products.
ALTER TABLE installers ADD COLUMN product_ids TEXT NOT NULL DEFAULT '';

-- Ordered by the ids as numbers (2 before 10), as SQLite's group_concat over the sorted
-- DISTINCT subquery gives them.
UPDATE installers SET product_ids = coalesce((
    SELECT string_agg(CAST(d.product_id AS TEXT), ',' ORDER BY d.product_id) FROM (
        SELECT DISTINCT product_id FROM activated_products WHERE installer_uuid = installers.uuid) d
), '');

-- Each account, status, device group and product set, by expiry: one seek finds the next
-- distinct (group, products) that an account watches; an account's usable slice, walked in
-- order, gives each one's count, next expiry and covered-until without a sort. The account
-- comes first so that a query on status and expiry alone (list, reconcile, the report's
-- sections) keeps the usable-by-expiry index (0003); it replaces the index on
-- (account_id, status) of 0005, which is its prefix.
CREATE INDEX installers_by_subject ON installers (account_id, status, security_group_uuid, product_ids, expire_time);
DROP INDEX installers_by_account;
