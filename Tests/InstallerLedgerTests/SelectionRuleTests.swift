import Foundation
@testable import ESETConnectSandbox
import Testing
@testable import InstallerLedger

/// One selection rule for `--group`, `--product` and `--name`: SQL (`list`) and Swift
/// (`--as-of`, `rotate`, pending creations) pick the same installers, whatever the case and
/// alphabet.
@Suite struct SelectionRuleTests {
    static let words = ["Zürich", "ZÜRICH", "zürich", "Büro", "BÜRO", "Vienna", "VIENNA", "vienna", "Office", "office",
                        "Straße", "STRASSE", "Łódź", "ŁÓDŹ", "東京", "a_b", "a%b", "İstanbul", "istanbul", "K"]

    static func phrase(_ rng: inout SeededGenerator) -> String {
        (0..<Int.random(in: 1...2, using: &rng)).map { _ in words.randomElement(using: &rng)! }.joined(separator: " ")
    }

    @Test func sqlAndSwiftFiltersAgree() throws {
        var rng = SeededGenerator(seed: 42)
        let ledger = try freshLedger()
        var installers = [Installer]()
        for n in 0..<120 {
            let uuid = String(format: "%08x-0000-4000-8000-000000000000", n)
            var i = Sample.installer(uuid: uuid, name: Self.phrase(&rng),
                                     group: (String(format: "%08x-1111-4111-8111-111111111111", n % 7), Self.phrase(&rng)))
            i.activatedProducts[0].productDisplayName = Self.phrase(&rng)
            installers.append(i)
        }
        _ = try ledger.record(installers.map(Sample.received), source: .import, at: Sample.now)
        let all = try ledger.installers(matching: InstallerFilter(), at: Sample.now)
        for trial in 0..<300 {
            var filter = InstallerFilter()
            switch trial % 3 {
            case 0: filter.group = Self.phrase(&rng)
            case 1: filter.product = Self.phrase(&rng)
            default: filter.nameContains = Self.words.randomElement(using: &rng)!
            }
            let sql = Set(try ledger.installers(matching: filter, at: Sample.now).map(\.installer.uuid))
            let swift = Set(all.filter { filter.matches($0, at: Sample.now) }.map(\.installer.uuid))
            #expect(sql == swift, "\(filter)")
            // rotate's selection (group and name) is the same rule.
            if filter.product == nil {
                let selection = RotationSelection(group: filter.group, nameContains: filter.nameContains)
                #expect(Set(all.filter { selection.matches($0.installer) }.map(\.installer.uuid)) == swift, "\(filter)")
            }
        }
    }

    @Test func unicodeCaseIsFoldedEverywhere() throws {
        let ledger = try freshLedger()
        let i = Sample.installer(uuid: "0b7f3c1e-5a2d-4c8e-9f10-2a3b4c5d6e7f", name: "Zürich Büro PCs",
                                 group: ("5e0c3c43-0000-4000-8000-000000000001", "Zürich Büro"))
        _ = try ledger.record([Sample.received(i)], source: .import, at: Sample.now)
        for given in ["ZÜRICH BÜRO", "zürich büro", "Zürich Büro"] {
            var filter = InstallerFilter()
            filter.group = given
            #expect(try ledger.installers(matching: filter, at: Sample.now).count == 1, "\(given)")
            #expect(RotationSelection(group: given).matches(i))
        }
        var ascii = InstallerFilter()
        ascii.group = "zurich buro"
        #expect(try ledger.installers(matching: ascii, at: Sample.now).isEmpty)
        #expect(!RotationSelection(group: "zurich buro").matches(i))
    }
}
