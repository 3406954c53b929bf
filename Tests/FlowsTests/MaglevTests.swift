import Testing
@testable import Flows

@Suite struct MaglevTests {
    func counts(_ table: [UInt16], targets: Int) -> [Int] {
        var counts = [Int](repeating: 0, count: targets)
        for entry in table { counts[Int(entry)] += 1 }
        return counts
    }

    /// Every target owns M/N entries within ±1 %.
    @Test(arguments: [3, 10, 300])
    func balance(targets: Int) {
        let table = Maglev.build(identities: (0..<targets).map { UInt64(0xC612_0000 + $0) })
        #expect(table.count == Maglev.defaultTableSize)
        let ideal = Double(Maglev.defaultTableSize) / Double(targets)
        for (target, count) in counts(table, targets: targets).enumerated() {
            #expect(abs(Double(count) - ideal) <= ideal * 0.01, "target \(target) owns \(count), ideal \(ideal)")
        }
    }

    /// Removing one of ten targets moves at most 15 % of placements (its own 10 % and a little more).
    @Test func disruptionOnRemoval() {
        let identities = (0..<10).map { UInt64(0xC612_0000 + $0) }
        let before = Maglev.build(identities: identities)
        for removed in 0..<10 {
            var remaining = identities
            remaining.remove(at: removed)
            let after = Maglev.build(identities: remaining)
            var moved = 0
            for slot in 0..<before.count where identities[Int(before[slot])] != remaining[Int(after[slot])] { moved += 1 }
            let fraction = Double(moved) / Double(before.count)
            #expect(fraction <= 0.15, "removing target \(removed) moved \(fraction * 100) %")
            #expect(fraction >= 0.099, "at least the removed target's own share moves")
        }
    }

    @Test func tableDependsOnTheSetNotTheOrder() {
        let identities = (0..<20).map { UInt64($0 * 7919) }
        let a = Maglev.build(identities: identities).map { identities[Int($0)] }
        let shuffled = identities.shuffled()
        let b = Maglev.build(identities: shuffled).map { shuffled[Int($0)] }
        #expect(a == b)
    }

    @Test func tableSizeIsAPrimeAtLeast100PerTarget() {
        #expect(Maglev.tableSize(forTargets: 0) == 65537)
        #expect(Maglev.tableSize(forTargets: 300) == 65537)
        #expect(Maglev.tableSize(forTargets: 655) == 65537)
        let large = Maglev.tableSize(forTargets: 1000)
        #expect(large >= 100_000 && Maglev.isPrime(large) && large == 100_003)
        #expect(Maglev.build(identities: []).isEmpty)
        #expect(Maglev.build(identities: [42], size: 7) == [UInt16](repeating: 0, count: 7))
    }
}
