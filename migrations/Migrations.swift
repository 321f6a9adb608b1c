/// The ledger's SQL migrations, embedded in the binary at build time.
public enum LedgerMigrationFiles {
    /// Every shipped migration as (identifier, SQL text), in the order they apply.
    public static let all: [(identifier: String, sql: String)] = [
        ("0001_initial", String(decoding: PackageResources._001_initial_sql, as: UTF8.self)),
        ("0002_pending_creations_and_runs", String(decoding: PackageResources._002_pending_creations_and_runs_sql, as: UTF8.self)),
        ("0003_reports", String(decoding: PackageResources._003_reports_sql, as: UTF8.self)),
        ("0004_successions", String(decoding: PackageResources._004_successions_sql, as: UTF8.self)),
        ("0005_accounts", String(decoding: PackageResources._005_accounts_sql, as: UTF8.self)),
        ("0006_readable_views", String(decoding: PackageResources._006_readable_views_sql, as: UTF8.self)),
        ("0007_coverage_index", String(decoding: PackageResources._007_coverage_index_sql, as: UTF8.self)),
        ("0008_plan_claims", String(decoding: PackageResources._008_plan_claims_sql, as: UTF8.self)),
    ]
}
