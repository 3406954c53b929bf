import Testing
import TestSupport
import Wire
@testable import Flows

@Suite struct FlowTrackerTests {
    let client = PacketBuilder("198.18.100.1", "198.18.200.2")
    let server = PacketBuilder("198.18.200.2", "198.18.100.1")

    func track(_ tracker: FlowTracker, _ bytes: [UInt8], _ selection: TargetSelection, now: UInt32,
               mode: FlowKeyMode = .fiveTuple) -> FlowVerdict {
        tracker.track(Fixtures.summary(bytes), mode: mode, selection: selection, now: now)
    }

    @Test func onlyASynCreatesATCPFlow() {
        let tracker = FlowTracker(table: FlowTable(capacity: 16))
        let selection = Fixtures.selection(3)
        var clock = ManualClock()
        for flags: TCPFlags in [.ack, [.syn, .ack], .rst, .fin, [.ack, .psh]] {
            #expect(track(tracker, client.tcp(40000, 80, flags: flags), selection, now: clock.now) == .drop(.tcpWithoutFlow), "\(flags)")
        }
        guard case .forward(let handle, let target, let cookie, .created) = track(tracker, client.tcp(40000, 80, flags: .syn), selection, now: clock.now) else {
            Issue.record("SYN did not create a flow")
            return
        }
        // The reply and the rest of the connection follow the flow, in both directions.
        #expect(track(tracker, server.tcp(80, 40000, flags: [.syn, .ack]), selection, now: clock.now) == .forward(handle, target: target, cookie: cookie, event: .established))
        #expect(track(tracker, client.tcp(40000, 80, flags: .ack), selection, now: clock.now) == .forward(handle, target: target, cookie: cookie, event: .established))
        tracker.table.confirm(handle, now: clock.now)
        // After the idle timeout, a non-SYN finds no flow again.
        clock.advance(by: 351)
        #expect(track(tracker, client.tcp(40000, 80, flags: .ack), selection, now: clock.now) == .drop(.tcpWithoutFlow))
    }

    /// On a node of a cluster (`picksUpMidConnection`), a TCP packet without a flow starts one on
    /// its Maglev target: the flow of a node that died, taken over mid-connection. Not a RST, and
    /// not when no target is healthy (fail-open's random choice would differ between nodes).
    @Test func aClusterNodePicksUpConnectionsMidway() {
        let tracker = FlowTracker(table: FlowTable(capacity: 16))
        let targets = (0..<3).map { (TargetSlot($0), UInt64(0xC612_0000 + $0), TargetHealth.healthy) }
        let picking = TargetSelection(targets: targets, picksUpMidConnection: true)
        let clock = ManualClock()
        let packet = client.tcp(40000, 80, flags: [.ack, .psh])
        guard case .forward(_, let target, _, .created) = track(tracker, packet, picking, now: clock.now) else {
            Issue.record("a mid-connection packet did not start a flow")
            return
        }
        let key = FlowKey(Fixtures.summary(packet), mode: .fiveTuple)
        guard case .target(let expected) = picking.placeNewFlow(placementHash: picking.placementHasher.hash(key), random: 0) else {
            Issue.record("no Maglev target")
            return
        }
        #expect(target == expected, "the flow goes where every node's Maglev sends it")
        #expect(track(tracker, client.tcp(40001, 80, flags: .rst), picking, now: clock.now) == .drop(.tcpWithoutFlow))
        let noneHealthy = TargetSelection(targets: targets.map { ($0.0, $0.1, .unhealthy) }, picksUpMidConnection: true)
        #expect(track(tracker, client.tcp(40002, 80, flags: .ack), noneHealthy, now: clock.now) == .drop(.tcpWithoutFlow))
        let single = TargetSelection(targets: targets)
        #expect(track(tracker, client.tcp(40003, 80, flags: .ack), single, now: clock.now) == .drop(.tcpWithoutFlow), "a single node keeps AWS's rule")
    }

    /// A TCP flow lives `tcpHalfOpen` (10 s) idle until its handshake completes: a SYN-ACK or an
    /// RST does not complete it, an ACK without SYN does, and then the TCP idle timeout applies.
    /// Flows the appliance returned (confirmed) included: a SYN flood's flows are.
    @Test func halfOpenTCPFlowsLiveTenSecondsIdle() throws {
        let tracker = FlowTracker(table: FlowTable(capacity: 16))
        let selection = Fixtures.selection(3)
        var clock = ManualClock()
        for port: UInt16 in [40000, 40001, 40002] {
            guard case .forward(let handle, _, _, .created) = track(tracker, client.tcp(port, 80, flags: .syn), selection, now: clock.now) else {
                Issue.record("SYN did not create a flow")
                return
            }
            tracker.table.confirm(handle, now: clock.now)
        }
        _ = track(tracker, server.tcp(80, 40000, flags: [.syn, .ack]), selection, now: clock.now)
        _ = track(tracker, server.tcp(80, 40001, flags: [.rst, .ack]), selection, now: clock.now)
        _ = track(tracker, server.tcp(80, 40002, flags: [.syn, .ack]), selection, now: clock.now)
        _ = track(tracker, client.tcp(40002, 80, flags: .ack), selection, now: clock.now)
        clock.advance(by: 10)
        #expect(tracker.table.count == 3, "10 s idle: all still there")
        clock.advance(by: 1)
        tracker.table.expire(now: clock.now, budget: 16)
        #expect(tracker.table.count == 1, "the half-open ones (SYN-ACK and RST seen, no ACK) expired")
        #expect(track(tracker, client.tcp(40002, 80, flags: .ack), selection, now: clock.now + 300) != .drop(.tcpWithoutFlow),
                "the established one lives on the TCP idle timeout")
    }

    /// A TCP fragment opens a flow without the SYN rule (its flags are not known), so such a flow
    /// is half-open: a flood of fragments holds entries 10 s, not 350.
    @Test func aFlowOpenedByATCPFragmentIsHalfOpen() throws {
        let tracker = FlowTracker(table: FlowTable(capacity: 16))
        var fragmenting = client
        fragmenting.fragment = (offset: 100, more: false)
        guard case .forward(let handle, _, _, .created) = track(tracker, fragmenting.tcp(40000, 80, flags: .ack), Fixtures.selection(3), now: 1) else {
            Issue.record("a TCP fragment without a flow was refused: fragments carry no flags to judge")
            return
        }
        #expect(tracker.table[handle].isHalfOpen)
        tracker.table.expire(now: 1 + 11, budget: 16)
        #expect(tracker.table.count == 0)
    }

    @Test func otherProtocolsStartAFreshFlowAfterExpiry() {
        let tracker = FlowTracker(table: FlowTable(capacity: 16))
        let selection = Fixtures.selection(3)
        var clock = ManualClock()
        guard case .forward(_, _, let first, .created) = track(tracker, client.udp(5000, 53), selection, now: clock.now) else {
            Issue.record("no flow")
            return
        }
        clock.advance(by: 31)  // never confirmed
        guard case .forward(_, _, let second, .created) = track(tracker, client.udp(5000, 53), selection, now: clock.now) else {
            Issue.record("no new flow after expiry")
            return
        }
        #expect(first != second, "a new flow on a reused tuple gets a new cookie")
        #expect(tracker.table.counters.expired == 1 && tracker.table.counters.created == 2)
    }

    /// With the table full, new flows are refused and counted; established flows carry on.
    @Test func fullTableRejectsNewFlowsOnly() {
        let tracker = FlowTracker(table: FlowTable(capacity: 4))
        let selection = Fixtures.selection(3)
        let now: UInt32 = 1_000
        for port in 1...4 {
            guard case .forward = track(tracker, client.udp(UInt16(port), 53), selection, now: now) else {
                Issue.record("flow \(port) refused")
                return
            }
        }
        #expect(track(tracker, client.udp(5, 53), selection, now: now) == .drop(.flowTableFull))
        #expect(track(tracker, client.tcp(9, 80, flags: .syn), selection, now: now) == .drop(.flowTableFull))
        #expect(tracker.table.counters.rejected == 2)
        for port in 1...4 {
            guard case .forward(_, _, _, .established) = track(tracker, server.udp(53, UInt16(port)), selection, now: now) else {
                Issue.record("established flow \(port) lost")
                return
            }
        }
    }

    @Test func noTargetIsADrop() {
        let tracker = FlowTracker(table: FlowTable(capacity: 4))
        #expect(track(tracker, client.udp(1, 2), TargetSelection(targets: []), now: 1) == .drop(.noTarget))
    }

    /// Removing a target moves no established flow, and new flows avoid it. (Maglev places new flows
    /// only; the flow table pins the rest.)
    @Test func targetChangesMoveNoEstablishedFlow() {
        let tracker = FlowTracker(table: FlowTable(capacity: 20_000))
        let before = Fixtures.selection(10)
        let now: UInt32 = 1_000
        var pinned: [UInt16: TargetSlot] = [:]
        for port in 1...10_000 {
            if case .forward(_, let target, _, .created) = track(tracker, client.udp(UInt16(port), 53), before, now: now) {
                pinned[UInt16(port)] = target
            }
        }
        #expect(pinned.count == 10_000)
        let after = Fixtures.selection(10, overrides: [4: .unused])
        var moved = 0
        for port in 1...10_000 {
            if case .forward(_, let target, _, .established) = track(tracker, server.udp(53, UInt16(port)), after, now: now),
               target != pinned[UInt16(port)] {
                moved += 1
            }
        }
        #expect(moved == 0)
        for port in 10_001...13_000 {
            if case .forward(_, let target, _, .created) = track(tracker, client.udp(UInt16(port), 53), after, now: now) {
                #expect(target != TargetSlot(4))
            }
        }
    }

    @Test func resetVerdictRemovesTheFlow() {
        let tracker = FlowTracker(table: FlowTable(capacity: 4))
        let now: UInt32 = 1_000
        guard case .forward(_, let target, _, .created) = track(tracker, client.tcp(1, 80, flags: .syn), Fixtures.selection(1), now: now) else {
            Issue.record("no flow")
            return
        }
        let failing = Fixtures.selection(2, policy: FailoverPolicy(resetOnUnhealthy: true), overrides: [target.index: .unhealthy])
        guard case .reset(let entry) = track(tracker, client.tcp(1, 80, flags: .ack), failing, now: now) else {
            Issue.record("no reset")
            return
        }
        #expect(entry.target == target && tracker.table.count == 0)
    }

    @Test func rebalanceRepinsTheFlow() {
        let tracker = FlowTracker(table: FlowTable(capacity: 4))
        let now: UInt32 = 1_000
        guard case .forward(let handle, _, _, .created) = track(tracker, client.udp(1, 2), Fixtures.selection(2, overrides: [1: .unhealthy]), now: now) else {
            Issue.record("no flow")
            return
        }
        #expect(tracker.table[handle].target == TargetSlot(0))
        let policy = FailoverPolicy(onDeregistration: .rebalance, onUnhealthy: .rebalance)
        let flipped = Fixtures.selection(2, policy: policy, overrides: [0: .unhealthy])
        #expect(track(tracker, client.udp(1, 2), flipped, now: now) == .forward(handle, target: TargetSlot(1), cookie: tracker.table.cookie(handle), event: .moved(from: TargetSlot(0))))
        #expect(tracker.table[handle].target == TargetSlot(1))
    }

    @Test func stickinessModesShareFlows() {
        let tracker = FlowTracker(table: FlowTable(capacity: 16))
        let selection = Fixtures.selection(3)
        guard case .forward(let handle, _, _, .created) = track(tracker, client.udp(1, 2), selection, now: 1, mode: .twoTuple) else {
            Issue.record("no flow")
            return
        }
        // Same two addresses, other protocol and ports, even TCP without SYN: the same flow.
        guard case .forward(handle, _, _, .established) = track(tracker, server.tcp(80, 3, flags: .ack), selection, now: 1, mode: .twoTuple) else {
            Issue.record("two-tuple flow not shared")
            return
        }
        #expect(tracker.table[handle].isTCP, "TCP seen: the TCP idle timeout applies")
    }
}
