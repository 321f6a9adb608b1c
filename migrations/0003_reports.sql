-- installer-ledger schema, version 3: the record of report runs, and an index for the
-- nightly reconcile and report, which both look at usable installers by expiry.

-- One row per `report` run, so the next one knows what "expired since the previous report"
-- means. Keyed by format: a Prometheus textfile refreshed every few minutes must not make
-- the nightly e-mail report miss what expired in between.
CREATE TABLE report_runs (
    id INTEGER PRIMARY KEY,
    format TEXT NOT NULL,
    -- The report's "now" (nanoseconds since 1970, UTC).
    generated_at INTEGER NOT NULL,
    -- Where its "expired since the previous report" window started.
    window_start INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('ok', 'warning', 'critical', 'unknown')),
    -- JSON counts, e.g. {"expired": 1, "critical": 0, "warning": 3, "usable": 40}.
    counts TEXT
);

CREATE INDEX report_runs_by_format ON report_runs (format, generated_at);

-- Only usable installers, by expiry: the clock part of reconcile (usable and expired by
-- now) and the report's critical/warning sections and coverage summary read a small slice
-- of a ledger that is mostly expired history. uuid and group make it covering for the
-- report's summaries by group and by product, which then never touch the table (status
-- too: SQLite 3.40 counts the columns of the index's own WHERE against covering).
CREATE INDEX installers_usable_by_expiry ON installers (expire_time, uuid, security_group_uuid, group_display_name, status)
    WHERE status = 'usable';

-- Deleted installers, so the report counts installers by status without scanning them all
-- (usable ones are counted from the index above, the rest by difference from count(*)).
CREATE INDEX installers_deleted ON installers (status) WHERE status = 'deleted';
