#!/usr/bin/env python3
"""The plain script an administrator would write instead of installer-ledger.

Python's standard library only (json, sqlite3, csv). It is the baseline of the benchmarks
(benchmarks/run, workloads W1 and W5), so it is written to be fair and idiomatic: one
transaction, executemany in chunks, the ledger's own schema and pragmas, no deliberate
slowness, and no extra work the ledger does not do.

  baseline.py import --db LEDGER FILE.ndjson      # saved API answers into an EMPTY ledger
  baseline.py export --db LEDGER --output FILE    # installers as CSV, like `export --table installers`

`import` applies migrations/*.sql in order (the ledger's only schema source, so the tables
are identical, and records them as the ledger does so the ledger can open the result), then
inserts what the ledger's recorder inserts for a new installer: the installers row, its
activated_products and installed_components, the raw answer, and a `recorded` event.
Unlike the ledger it does not diff against what is already there (it is the script
someone writes for a first import); a re-import fails on the uuid constraint.

`export` writes the columns of `installer-ledger export --table installers` in the same
order (creation time, uuid), RFC 4180 with CRLF, formula cells prefixed with `'`,
download URLs redacted.
"""
import argparse
import csv
import datetime
import glob
import hashlib
import json
import os
import sqlite3
import sys
import time
import zlib

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
MICRO = datetime.timedelta(microseconds=1)
CHUNK = 5000


def connect(path):
    db = sqlite3.connect(path, isolation_level=None)
    # The ledger's connection settings (Ledger.open): 16 KiB pages for a new file, WAL, NORMAL
    # sync, foreign keys, 64 MiB cache.
    db.execute("PRAGMA page_size = 16384")
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute("PRAGMA foreign_keys = ON")
    db.execute("PRAGMA cache_size = -65536")
    return db


def migrate(db, folder):
    """Applies every migrations/NNNN_*.sql not yet applied, in order, recording it as GRDB does."""
    db.execute("CREATE TABLE IF NOT EXISTS grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY)")
    applied = {row[0] for row in db.execute("SELECT identifier FROM grdb_migrations")}
    for path in sorted(glob.glob(os.path.join(folder, "[0-9]*.sql"))):
        identifier = os.path.basename(path)[:-4]
        if identifier in applied:
            continue
        with open(path, encoding="utf-8") as f:
            sql = f.read()
        db.execute("BEGIN")
        for statement in split_sql(sql):
            db.execute(statement)
        db.execute("INSERT INTO ledger_migration_checksums (identifier, sha256) VALUES (?, ?)",
                   (identifier, hashlib.sha256(sql.encode()).hexdigest()))
        db.execute("INSERT INTO grdb_migrations (identifier) VALUES (?)", (identifier,))
        db.execute("COMMIT")


def split_sql(sql):
    """Splits a migration into complete statements (triggers hold `;` inside BEGIN ... END)."""
    statement = ""
    for line in sql.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            if statement.strip():
                yield statement
            statement = ""
    if statement.strip() and not statement.strip().startswith("--"):
        yield statement


def nanos(text):
    if text is None:
        return None
    dt = datetime.datetime.fromisoformat(text)  # Python 3.11 reads the trailing Z
    return (dt - EPOCH) // MICRO * 1000


def installers_of(answer):
    """The installer objects in one saved answer: {"installer": …}, {"installers": […]} or bare."""
    if "uuid" in answer:
        return [answer]
    if "installer" in answer:
        return [answer["installer"]]
    return answer.get("installers", [])


def import_answers(db, paths):
    now = time.time_ns()
    next_id = db.execute("SELECT coalesce(max(id), 0) + 1 FROM installers").fetchone()[0]
    installers, products, components, raws, events = [], [], [], [], []

    def flush():
        db.executemany("INSERT INTO installers (id, uuid, display_name, os_family_id, language, security_group_uuid,"
                       " group_display_name, cloud_feedback, pua_detection, diagnostics, download_url, create_time,"
                       " expire_time, api_usable, status, status_reason, status_changed_at, first_seen, last_seen,"
                       " content_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", installers)
        db.executemany("INSERT INTO activated_products (installer_uuid, position, pool_uuid, pool_display_name,"
                       " product_id, product_display_name, subscription_uuid, subscription_support_code)"
                       " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", products)
        db.executemany("INSERT INTO installed_components (installer_uuid, position, component_id, name, display_name)"
                       " VALUES (?, ?, ?, ?, ?)", components)
        db.executemany("INSERT INTO raw_answers (installer_id, json, received_at) VALUES (?, ?, ?)", raws)
        db.executemany("INSERT INTO events (installer_uuid, kind, at, source, reason, details)"
                       " VALUES (?, 'recorded', ?, 'import', ?, ?)", events)
        for rows in (installers, products, components, raws, events):
            rows.clear()

    count = 0
    db.execute("BEGIN")
    try:
        for path in paths:
            with (sys.stdin if path == "-" else open(path, encoding="utf-8")) as f:
                for line in f:
                    if not line.strip():
                        continue
                    for i in installers_of(json.loads(line)):
                        raw = json.dumps(i, ensure_ascii=False, separators=(",", ":"))
                        uuid = i["uuid"]
                        usable = bool(i.get("usable", False))
                        status, reason = ("usable", None) if usable else ("unusable", "api")
                        enrollment = i.get("deviceEnrollment") or {}
                        name = i.get("displayName", "")
                        installers.append((
                            next_id, uuid, name, int(i.get("operatingSystemFamilyId", 0)),
                            i.get("preferredLanguageCode", ""), enrollment.get("securityGroupUuid", ""),
                            enrollment.get("groupDisplayName", ""), bool(i.get("enableCloudScannerFeedback")),
                            bool(i.get("enablePuaDetection")), bool(i.get("sendAnonymousDiagnosticData")),
                            i.get("downloadUrl", ""), nanos(i.get("createTime")), nanos(i.get("expireTime")),
                            usable, status, reason, now, now, now,
                            # A change-detection hash, like the ledger's FNV-1a (crc32 is what the stdlib has).
                            zlib.crc32(raw.encode())))
                        for n, p in enumerate(i.get("activatedProducts") or ()):
                            products.append((uuid, n, p.get("poolUuid", ""), p.get("poolDisplayName", ""),
                                             int(p.get("productId", 0)), p.get("productDisplayName", ""),
                                             p.get("subscriptionUuid", ""), p.get("subscriptionSupportCode", "")))
                        for n, c in enumerate(i.get("installedComponents") or ()):
                            components.append((uuid, n, int(c.get("id", 0)), c.get("name", ""), c.get("displayName", "")))
                        raws.append((next_id, raw, now))
                        events.append((uuid, now, reason, json.dumps({"displayName": name, "status": status},
                                                                     ensure_ascii=False, separators=(",", ":"))))
                        next_id += 1
                        count += 1
                        if len(installers) == CHUNK:
                            flush()
        flush()
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return count


def rfc3339(ns):
    """The ledger's timestamp text: UTC, Z, fractional digits only when present (3, 6 or 9)."""
    if ns is None:
        return ""
    secs, frac = divmod(ns, 1_000_000_000)
    text = (EPOCH + datetime.timedelta(seconds=secs)).strftime("%Y-%m-%dT%H:%M:%S")
    if frac == 0:
        return text + "Z"
    if frac % 1_000_000 == 0:
        return "%s.%03dZ" % (text, frac // 1_000_000)
    if frac % 1000 == 0:
        return "%s.%06dZ" % (text, frac // 1000)
    return "%s.%09dZ" % (text, frac)


OS_WORDS = {0: "unspecified", 1: "windows", 2: "linux", 3: "macos"}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
HEADER = ["uuid", "display_name", "os", "os_family_id", "language", "security_group_uuid", "group_display_name",
          "cloud_scanner_feedback", "pua_detection", "anonymous_diagnostics", "create_time", "expire_time",
          "api_usable", "status", "status_reason", "status_changed_at", "first_seen", "last_seen",
          "product_ids", "products", "subscription_uuids", "component_ids", "download_url"]


def cell(text):
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def export_installers(db, out):
    rows = db.execute("""
        SELECT i.uuid, i.display_name, i.os_family_id, i.language, i.security_group_uuid, i.group_display_name,
          i.cloud_feedback, i.pua_detection, i.diagnostics, i.create_time, i.expire_time, i.api_usable, i.status,
          i.status_reason, i.status_changed_at, i.first_seen, i.last_seen,
          (SELECT group_concat(product_id, '; ') FROM activated_products WHERE installer_uuid = i.uuid),
          (SELECT group_concat(product_display_name, '; ') FROM activated_products WHERE installer_uuid = i.uuid),
          (SELECT group_concat(subscription_uuid, '; ') FROM
             (SELECT DISTINCT subscription_uuid FROM activated_products WHERE installer_uuid = i.uuid AND subscription_uuid <> '')),
          (SELECT group_concat(component_id, '; ') FROM installed_components WHERE installer_uuid = i.uuid)
        FROM installers i ORDER BY i.create_time, i.uuid
        """)
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(HEADER)
    b = ("false", "true")
    count = 0
    for (uuid, name, os_id, lang, group_uuid, group_name, feedback, pua, diag, created, expires, api_usable, status,
         reason, changed, first, last, product_ids, product_names, subscriptions, component_ids) in rows:
        w.writerow((uuid, cell(name), OS_WORDS.get(os_id, "os-%d" % os_id), os_id, cell(lang), cell(group_uuid),
                    cell(group_name), b[feedback], b[pua], b[diag], rfc3339(created), rfc3339(expires), b[api_usable],
                    status, cell(reason or ""), rfc3339(changed), rfc3339(first), rfc3339(last), product_ids or "",
                    cell(product_names or ""), subscriptions or "", component_ids or "", "[redacted]"))
        count += 1
    return count


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    imp = sub.add_parser("import", help="import NDJSON API answers into an empty ledger")
    imp.add_argument("--db", required=True)
    imp.add_argument("--migrations", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "migrations"),
                     help="the migrations folder (default: ../migrations beside this script)")
    imp.add_argument("files", nargs="+")
    exp = sub.add_parser("export", help="write the installers CSV")
    exp.add_argument("--db", required=True)
    exp.add_argument("--output", required=True)
    a = ap.parse_args()
    db = connect(a.db)
    if a.command == "import":
        migrate(db, a.migrations)
        n = import_answers(db, a.files)
        print(f"{n} new", file=sys.stderr)
    else:
        with open(a.output, "w", encoding="utf-8", newline="") as out:
            n = export_installers(db, out)
        print(f"{n} rows", file=sys.stderr)
    db.close()


if __name__ == "__main__":
    main()
