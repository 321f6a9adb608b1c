// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "installer-ledger",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "installer-ledger", targets: ["installer-ledger"]),
        .executable(name: "eset-connect-sandbox", targets: ["eset-connect-sandbox"]),
        .library(name: "InstallerLedger", targets: ["InstallerLedger"]),
        .library(name: "ESETConnectSandbox", targets: ["ESETConnectSandbox"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", exact: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", exact: "1.16.2"),
        .package(url: "https://github.com/swhitty/FlyingFox", exact: "0.27.1"),
        // SHA-256 for migration checksums, plan keys and export manifests: 1.5 GB/s against
        // the hand-written one's 147 MB/s (BoringSSL's assembly), same digests.
        .package(url: "https://github.com/apple/swift-crypto", exact: "3.12.3"),
        // PostgreSQL (issue 16): a team's shared ledger, `copy --to postgresql://...`. Its
        // first build costs 2.5-4.5 min on 2 cores; NIOSSL for sslmode=require|verify-full.
        .package(url: "https://github.com/vapor/postgres-nio", exact: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", exact: "2.37.6"),
    ],
    targets: [
        // The SQL files are the only source of truth of the schema; they are compiled
        // into the binary so a release executable runs without a resource bundle.
        .target(
            name: "LedgerMigrations",
            path: "migrations",
            exclude: ["README.md", "postgresql"],
            resources: [
                .embedInCode("0001_initial.sql"),
                .embedInCode("0002_pending_creations_and_runs.sql"),
                .embedInCode("0003_reports.sql"),
                .embedInCode("0004_successions.sql"),
                .embedInCode("0005_accounts.sql"),
                .embedInCode("0006_readable_views.sql"),
                .embedInCode("0007_coverage_index.sql"),
                .embedInCode("0008_plan_claims.sql"),
            ]
        ),
        // The same migrations in PostgreSQL's dialect.
        .target(
            name: "LedgerMigrationsPostgreSQL",
            path: "migrations/postgresql",
            exclude: ["README.md"],
            resources: [
                .embedInCode("0001_initial.sql"),
                .embedInCode("0002_pending_creations_and_runs.sql"),
                .embedInCode("0003_reports.sql"),
                .embedInCode("0004_successions.sql"),
                .embedInCode("0005_accounts.sql"),
                .embedInCode("0006_readable_views.sql"),
                .embedInCode("0007_coverage_index.sql"),
                .embedInCode("0008_plan_claims.sql"),
            ]
        ),
        .target(
            name: "InstallerLedger",
            dependencies: [
                "LedgerMigrations",
                "LedgerMigrationsPostgreSQL",
                .product(name: "GRDB", package: "GRDB.swift"),
                // SQLite's C API, for the bulk statements of import and sync.
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        .executableTarget(
            name: "installer-ledger",
            dependencies: [
                "InstallerLedger",
                "ESETConnectSandbox",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "ESETConnectSandbox",
            dependencies: [
                .product(name: "FlyingFox", package: "FlyingFox"),
            ]
        ),
        .executableTarget(
            name: "eset-connect-sandbox",
            dependencies: [
                "ESETConnectSandbox",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "InstallerLedgerTests",
            dependencies: ["InstallerLedger", "ESETConnectSandbox"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "ESETConnectSandboxTests",
            dependencies: ["ESETConnectSandbox"]
        ),
    ]
)
