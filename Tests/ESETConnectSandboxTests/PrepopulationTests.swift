import Foundation
import Testing
@testable import ESETConnectSandbox

@Suite struct PrepopulationTests {
    @Test func sameSeedSameInstallersOtherSeedOthers() async throws {
        let a = await SandboxServer(configuration: SandboxConfiguration(prepopulatedInstallers: 200, seed: 7)).installers()
        let b = await SandboxServer(configuration: SandboxConfiguration(prepopulatedInstallers: 200, seed: 7)).installers()
        let c = await SandboxServer(configuration: SandboxConfiguration(prepopulatedInstallers: 200, seed: 8)).installers()
        #expect(a.count == 200)
        func identity(_ list: [SandboxInstaller]) -> [String] {
            list.map { "\($0.uuid) \($0.displayName) \($0.downloadUrl) \($0.groupDisplayName)" }.sorted()
        }
        #expect(identity(a) == identity(b))
        #expect(Set(a.map(\.uuid)).isDisjoint(with: c.map(\.uuid)))
    }

    @Test func spreadLooksLikeARealAccount() async throws {
        let sandbox = SandboxServer(configuration: SandboxConfiguration(prepopulatedInstallers: 2000))
        let now = await sandbox.now()
        let installers = await sandbox.installers()
        #expect(installers.count == 2000)
        #expect(Set(installers.map(\.uuid)).count == 2000)

        let expired = installers.filter { !$0.usable }
        let expiringSoon = installers.filter { $0.usable && $0.expireTime < now.addingTimeInterval(30 * 86_400) }
        #expect(expired.allSatisfy { $0.expireTime <= now })
        #expect(expired.count > 100 && expired.count < 600)
        #expect(expiringSoon.count > 100)
        #expect(installers.filter(\.usable).count > 1200)
        #expect(installers.allSatisfy { $0.createTime < now && $0.createTime > now.addingTimeInterval(-215 * 86_400) })

        let windows = installers.filter { $0.operatingSystemFamilyId == 1 }.count
        let mac = installers.filter { $0.operatingSystemFamilyId == 3 }.count
        #expect(windows + mac == 2000 && mac > 300 && windows > mac)
        #expect(Set(installers.map(\.groupDisplayName)).count == SandboxCatalog.deviceGroups.count + 1)
        #expect(installers.allSatisfy { (1...3).contains($0.activatedProducts.count) && !$0.installedComponents.isEmpty })
        #expect(installers.allSatisfy { URL(string: $0.downloadUrl)?.host == "download.sandbox.invalid" })
        #expect(zip(installers, installers.dropFirst()).allSatisfy { $0.createTime <= $1.createTime })
    }
}
