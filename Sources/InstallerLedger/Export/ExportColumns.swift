/// The columns of each export table. Documented in README.md (a test checks that every
/// column is); keep them stable: auditors' spreadsheets and scripts depend on them.
public enum ExportColumns {
    /// The header row of a table.
    public static func header(_ table: ExportTable) -> [String] {
        switch table {
        case .installers: InstallerColumns.csvHeader
        case .products: products
        case .events: EventColumns.csvHeader
        }
    }

    /// `products`: the installer's key columns, then the product's.
    public static let products = [
        "installer_uuid", "installer_display_name", "os", "os_family_id", "security_group_uuid", "group_display_name",
        "create_time", "expire_time", "status", "status_reason",
        "position", "product_id", "product_display_name", "pool_uuid", "pool_display_name",
        "subscription_uuid", "subscription_support_code", "account",
    ]

    /// One `products` row per activated product of an installer.
    static func writeProductRows(_ e: LedgerInstaller, to w: inout CSVWriter) -> Int {
        let i = e.installer
        guard !i.activatedProducts.isEmpty else { return 0 }
        let key = [
            i.uuid, i.displayName, OperatingSystemFamily.word(forId: i.operatingSystemFamilyId),
            String(i.operatingSystemFamilyId), i.deviceEnrollment.securityGroupUuid, i.deviceEnrollment.groupDisplayName,
            i.createTime?.rfc3339 ?? "", i.expireTime?.rfc3339 ?? "", e.status.rawValue, e.statusReason ?? "",
        ]
        for (n, p) in i.activatedProducts.enumerated() {
            w.writeRow(key + [String(n), String(p.productId), p.productDisplayName, p.poolUuid, p.poolDisplayName,
                              p.subscriptionUuid, p.subscriptionSupportCode, e.account])
        }
        return i.activatedProducts.count
    }
}
