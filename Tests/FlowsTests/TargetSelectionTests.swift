import Testing
@testable import Flows

@Suite struct TargetSelectionTests {
    func placements(_ selection: TargetSelection, flows: Int = 30_000) -> [TargetSlot: Int] {
        var counts: [TargetSlot: Int] = [:]
        for n in 0..<flows {
            let key = Fixtures.udpKey(n)
            switch selection.placeNewFlow(placementHash: selection.placementHasher.hash(key), random: UInt64(n) &* 0x9E37_79B9_7F4A_7C15) {
            case .target(let slot), .failOpen(let slot): counts[slot, default: 0] += 1
            case .none: counts[TargetSlot(rawValue: .max), default: 0] += 1
            }
        }
        return counts
    }

    @Test func newFlowsGoOnlyToHealthyTargets() {
        let selection = Fixtures.selection(5, overrides: [1: .unhealthy, 2: .draining, 3: .initial, 4: .unused])
        #expect(placements(selection) == [TargetSlot(0): 30_000])
        if case .target = selection.placeNewFlow(placementHash: 1, random: 1) {} else { Issue.record("not a Maglev placement") }
    }

    /// None healthy: each new flow goes to a random registered target (not draining, not gone).
    @Test func failOpenSpreadsOverRegisteredTargets() {
        let selection = Fixtures.selection(5, health: .unhealthy, overrides: [3: .draining, 4: .unused, 2: .initial])
        let counts = placements(selection)
        #expect(Set(counts.keys) == [TargetSlot(0), TargetSlot(1), TargetSlot(2)])
        for (_, count) in counts { #expect(count > 9_000) }
        guard case .failOpen = selection.placeNewFlow(placementHash: 1, random: 1) else {
            Issue.record("expected fail-open")
            return
        }
    }

    @Test func noRegisteredTargetPlacesNothing() {
        #expect(Fixtures.selection(2, health: .draining).placeNewFlow(placementHash: 1, random: 1) == .none)
        #expect(TargetSelection(targets: []).placeNewFlow(placementHash: 1, random: 1) == .none)
    }

    @Test func establishedFlowsStayByDefault() {
        let selection = Fixtures.selection(4, overrides: [1: .unhealthy, 2: .draining, 3: .unused])
        for slot in 0..<6 {
            #expect(selection.decide(established: TargetSlot(slot), key: Fixtures.tcpKey(1), isTCP: true) == .keep)
        }
    }

    @Test func rebalanceMovesFlowsOffFailedAndDrainedTargets() {
        let policy = FailoverPolicy(onDeregistration: .rebalance, onUnhealthy: .rebalance)
        let selection = Fixtures.selection(4, policy: policy, overrides: [1: .unhealthy, 2: .draining, 3: .unused])
        let key = Fixtures.udpKey(5)
        #expect(selection.decide(established: TargetSlot(1), key: key, isTCP: false) == .move(TargetSlot(0)))
        #expect(selection.decide(established: TargetSlot(3), key: key, isTCP: false) == .move(TargetSlot(0)))
        #expect(selection.decide(established: TargetSlot(2), key: key, isTCP: false) == .keep, "still draining")
        #expect(selection.decide(established: TargetSlot(0), key: key, isTCP: false) == .keep)
        // Nowhere healthy to go: stay.
        let allDown = Fixtures.selection(2, health: .unhealthy, policy: policy)
        #expect(allDown.decide(established: TargetSlot(1), key: key, isTCP: false) == .keep)
    }

    @Test func resetPolicyAppliesToTCPOnly() {
        let policy = FailoverPolicy(resetOnUnhealthy: true, resetOnDeregistration: true)
        let selection = Fixtures.selection(3, policy: policy, overrides: [1: .unhealthy, 2: .unused])
        #expect(selection.decide(established: TargetSlot(1), key: Fixtures.tcpKey(1), isTCP: true) == .reset)
        #expect(selection.decide(established: TargetSlot(2), key: Fixtures.tcpKey(1), isTCP: true) == .reset)
        #expect(selection.decide(established: TargetSlot(1), key: Fixtures.udpKey(1), isTCP: false) == .keep)
        let onlyUnhealthy = Fixtures.selection(3, policy: FailoverPolicy(resetOnUnhealthy: true), overrides: [1: .unhealthy, 2: .unused])
        #expect(onlyUnhealthy.decide(established: TargetSlot(2), key: Fixtures.tcpKey(1), isTCP: true) == .keep)
    }

    /// Two snapshots built from one target set place every key alike: nodes and restarts agree.
    @Test func placementIsReproducible() {
        let a = Fixtures.selection(7), b = Fixtures.selection(7)
        for n in 0..<1000 {
            let hash = a.placementHasher.hash(Fixtures.udpKey(n))
            #expect(a.placeNewFlow(placementHash: hash, random: 1) == b.placeNewFlow(placementHash: hash, random: 2))
        }
    }
}
