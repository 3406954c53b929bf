import Catalog
import DataPlane
import Flows
import Foundation
import Health
import PacketIO
import Testing
import Wire
@testable import ControlPlane

@Suite struct SnapshotCompilerTests {
    let now = Date(timeIntervalSinceReferenceDate: 800_000_000)
    func endpoints(_ balancer: ARN) -> [EndpointAttachment] {
        [EndpointAttachment(slot: 0, interface: "gwlbe0", identity: EndpointIdentity(endpointID: 1, attachmentID: 2), loadBalancer: balancer)]
    }

    func health(_ group: ARN, _ states: [String: TargetHealthState.State]) -> [String: TargetHealthState.State] {
        Dictionary(uniqueKeysWithValues: states.map { (ControlPlaneService.healthKey(group: group, target: $0.key), $0.value) })
    }

    func lab() throws -> (ResourceCatalog, ARN, ARN, ARN) {
        var catalog = ResourceCatalog()
        let lb = try catalog.createLoadBalancer(name: "lb", type: "gateway", subnets: [], ipAddressType: nil, tags: [], id: "0000000000000001", now: now)
        let tg = try catalog.createTargetGroup(name: "tg", protocol: "GENEVE", port: 6081, vpcId: nil, targetType: "ip",
                                               healthCheck: HealthCheck(), tags: [], id: "0000000000000002")
        try catalog.registerTargets(tg.arn, [("198.18.1.11", nil), ("198.18.1.12", nil), ("198.18.1.13", nil)], now: now)
        let listener = try catalog.createListener(loadBalancer: lb.arn, port: nil, protocol: nil, forwardTo: tg.arn, actionType: "forward", tags: [], id: "0000000000000003")
        return (catalog, lb.arn, tg.arn, listener.arn)
    }

    @Test func healthAndDrainingReachTheSelection() throws {
        var (catalog, lb, tg, _) = try lab()
        try catalog.deregisterTargets(tg, ["198.18.1.13"], now: now)
        var compiler = SnapshotCompiler()
        let snapshot = try compiler.compile(catalog, endpoints: endpoints(lb),
                                            health: health(tg, ["198.18.1.11": .healthy, "198.18.1.12": .unhealthy, "198.18.1.13": .healthy]),
                                            now: now.addingTimeInterval(10), monotonicSeconds: 100, version: 1)
        #expect(snapshot.targets.map { $0?.address.description } == ["198.18.1.11", "198.18.1.12", "198.18.1.13"])
        #expect(snapshot.policies[0].selection.health == [.healthy, .unhealthy, .draining])
        #expect(Set(snapshot.policies[0].selection.maglev) == [TargetSlot(0)], "new flows only to the healthy target")
        #expect(snapshot.policies[0].keyMode == .fiveTuple && snapshot.policies[0].timeouts.tcp == 350)
    }

    @Test func afterTheDelayADrainedTargetIsUnusedAndKeepsItsSlot() throws {
        var (catalog, lb, tg, _) = try lab()
        _ = try catalog.modifyTargetGroupAttributes(tg, [("deregistration_delay.timeout_seconds", "60")])
        var compiler = SnapshotCompiler()
        _ = try compiler.compile(catalog, endpoints: endpoints(lb), health: [:], now: now, monotonicSeconds: 100, version: 1)
        try catalog.deregisterTargets(tg, ["198.18.1.11"], now: now)
        catalog.removeDrained(now: now.addingTimeInterval(60))
        try catalog.registerTargets(tg, [("198.18.1.14", nil)], now: now.addingTimeInterval(60))
        let snapshot = try compiler.compile(catalog, endpoints: endpoints(lb),
                                            health: health(tg, ["198.18.1.12": .healthy, "198.18.1.13": .healthy, "198.18.1.14": .healthy]),
                                            now: now.addingTimeInterval(61), monotonicSeconds: 161, version: 2)
        #expect(snapshot.targets.map { $0?.address.description } == ["198.18.1.11", "198.18.1.12", "198.18.1.13", "198.18.1.14"],
                "the new target does not take the drained one's slot while flows may use it")
        #expect(snapshot.policies[0].selection.health(of: TargetSlot(0)) == .unused)
        // A day later a flow still uses the slot: the next appliance gets another one.
        try catalog.registerTargets(tg, [("198.18.1.15", nil)], now: now)
        let later = try compiler.compile(catalog, endpoints: endpoints(lb), health: [:], slotFlows: [1],
                                         now: now.addingTimeInterval(86_400), monotonicSeconds: 161 + 86_400, version: 3)
        #expect(later.targets.map { $0?.address.description } == ["198.18.1.11", "198.18.1.12", "198.18.1.13", "198.18.1.14", "198.18.1.15"])
        // Once no flow uses it, the slot is free for another appliance.
        try catalog.registerTargets(tg, [("198.18.1.16", nil)], now: now)
        let free = try compiler.compile(catalog, endpoints: endpoints(lb), health: [:], slotFlows: [0],
                                        now: now.addingTimeInterval(86_401), monotonicSeconds: 161 + 86_401, version: 4)
        #expect(free.targets[0]?.address.description == "198.18.1.16")
    }

    @Test func attributesBecomeFlowRules() throws {
        var (catalog, lb, tg, listener) = try lab()
        _ = try catalog.modifyTargetGroupAttributes(tg, [("stickiness.enabled", "true"), ("stickiness.type", "source_ip_dest_ip"),
                                                         ("target_failover.on_deregistration", "rebalance"), ("target_failover.on_unhealthy", "rebalance")])
        _ = try catalog.modifyListenerAttributes(listener, [("tcp.idle_timeout.seconds", "120"), ("send_tcp_reset.on_idle_timeout.enabled", "true"),
                                                            ("udp.idle_timeout.seconds", "30"), ("other.idle_timeout.seconds", "45"),
                                                            ("tcp.closing_timeout.seconds", "5")])
        var compiler = SnapshotCompiler()
        var snapshot = try compiler.compile(catalog, endpoints: endpoints(lb), health: [:], now: now, monotonicSeconds: 1, version: 1)
        #expect(snapshot.policies[0].keyMode == .twoTuple && snapshot.policies[0].timeouts.tcp == 350 && snapshot.policies[0].timeouts.tcpClosing == 350,
                "the TCP timeouts apply to five-tuple flows only")
        #expect(snapshot.policies[0].timeouts.udp == 30 && snapshot.policies[0].timeouts.other == 45)
        #expect(snapshot.policies[0].selection.policy.onUnhealthy == .rebalance && snapshot.policies[0].resetWithoutFlow)
        _ = try catalog.modifyTargetGroupAttributes(tg, [("stickiness.enabled", "false")])
        snapshot = try compiler.compile(catalog, endpoints: endpoints(lb), health: [:], now: now, monotonicSeconds: 1, version: 2)
        #expect(snapshot.policies[0].keyMode == .fiveTuple && snapshot.policies[0].timeouts == FlowTimeouts(tcp: 120, udp: 30, other: 45, tcpClosing: 5))
    }

    @Test func withoutAListenerThereIsNoTarget() throws {
        var (catalog, lb, _, listener) = try lab()
        try catalog.deleteListener(listener)
        var compiler = SnapshotCompiler()
        let snapshot = try compiler.compile(catalog, endpoints: endpoints(lb), health: [:], now: now, monotonicSeconds: 1, version: 1)
        #expect(snapshot.policies[0].selection.placeNewFlow(placementHash: 1, random: 1) == .none)
    }

    @Test func slotsRunOutCleanly() throws {
        var table = TargetSlotTable(capacity: 2)
        let peers = (1...3).map { SlotOwner(peer: UDPPeer(address: IPv4Address(198, 18, 1, UInt8($0)), port: 6081)) }
        #expect(throws: SlotsExhausted.self) { try table.update(current: peers, now: 0) }
        #expect(table.peers.isEmpty, "nothing half-assigned")
        #expect(try table.update(current: Array(peers.prefix(2)), now: 0) == [TargetSlot(0), TargetSlot(1)])
    }

    /// A slot whose target left goes to another appliance only when no flow uses it, however long
    /// that flow lives (it used to be freed 6,600 s after, moving a live flow to the newcomer).
    @Test func aRetiredSlotIsReusedOnlyAfterItsLastFlow() throws {
        var table = TargetSlotTable(capacity: 2)
        let (a, b, c) = (owner(198, 18, 1, 1), owner(198, 18, 1, 2), owner(198, 18, 1, 3))
        _ = try table.update(current: [a, b], now: 0)
        _ = try table.update(current: [b], now: 100, flows: [1, 0])
        // A day later its flow still lives: the newcomer finds no slot, and nothing changed.
        #expect(throws: SlotsExhausted.self) { try table.update(current: [b, c], now: 100 + 86_400, flows: [1, 0]) }
        #expect(table.retired == [TargetSlot(0)] && table.owners[0] == a)
        // Its last flow ended: the slot is the newcomer's.
        #expect(try table.update(current: [b, c], now: 100 + 86_401, flows: [0, 0]) == [TargetSlot(1), TargetSlot(0)])
        #expect(table.retired.isEmpty)
    }

    /// Counts published before the workers stopped placing flows on a slot say nothing: a slot
    /// stays retired `minimumRetirement` seconds whatever they say.
    @Test func aRetiredSlotWaitsForFreshCounts() throws {
        var table = TargetSlotTable(capacity: 1)
        let (a, b) = (owner(198, 18, 1, 1), owner(198, 18, 1, 2))
        _ = try table.update(current: [a], now: 0)
        _ = try table.update(current: [], now: 50)
        #expect(throws: SlotsExhausted.self) { try table.update(current: [b], now: 50 + TargetSlotTable.minimumRetirement - 1, flows: [0]) }
        #expect(try table.update(current: [b], now: 50 + TargetSlotTable.minimumRetirement, flows: [0]) == [TargetSlot(0)])
    }

    func owner(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) -> SlotOwner {
        SlotOwner(peer: UDPPeer(address: IPv4Address(a, b, c, d), port: 6081))
    }

    /// Two load balancers in one snapshot: each endpoint follows its own load balancer's target
    /// group and attributes; an appliance in both groups has a slot in each, with each group's health.
    @Test func eachEndpointFollowsItsOwnLoadBalancer() throws {
        var (catalog, east, eastGroup, _) = try lab()
        let west = try catalog.createLoadBalancer(name: "west", type: "gateway", subnets: [], ipAddressType: nil, tags: [], id: "0000000000000011", now: now)
        let westGroup = try catalog.createTargetGroup(name: "west-tg", protocol: "GENEVE", port: 6081, vpcId: nil, targetType: "ip",
                                                      healthCheck: HealthCheck(), tags: [], id: "0000000000000012")
        try catalog.registerTargets(westGroup.arn, [("198.18.1.13", nil), ("198.18.2.21", nil)], now: now)
        let westListener = try catalog.createListener(loadBalancer: west.arn, port: nil, protocol: nil, forwardTo: westGroup.arn,
                                                      actionType: "forward", tags: [], id: "0000000000000013")
        _ = try catalog.modifyTargetGroupAttributes(westGroup.arn, [("stickiness.enabled", "true"), ("stickiness.type", "source_ip_dest_ip")])
        _ = try catalog.modifyListenerAttributes(westListener.arn, [("udp.idle_timeout.seconds", "30")])
        let attachments = [
            EndpointAttachment(slot: 0, interface: "east0", identity: EndpointIdentity(endpointID: 1, attachmentID: 2), loadBalancer: east),
            EndpointAttachment(slot: 1, interface: "west0", identity: EndpointIdentity(endpointID: 3, attachmentID: 4), loadBalancer: west.arn),
            EndpointAttachment(slot: 2, interface: "east1", identity: EndpointIdentity(endpointID: 5, attachmentID: 6), loadBalancer: east),
        ]
        var compiler = SnapshotCompiler()
        let snapshot = try compiler.compile(catalog, endpoints: attachments,
                                            health: health(eastGroup, ["198.18.1.11": .healthy, "198.18.1.12": .healthy, "198.18.1.13": .unhealthy])
                                                .merging(health(westGroup.arn, ["198.18.1.13": .healthy, "198.18.2.21": .unhealthy])) { $1 },
                                            now: now, monotonicSeconds: 1, version: 1)
        #expect(snapshot.targets.map { $0?.address.description } == ["198.18.1.11", "198.18.1.12", "198.18.1.13", "198.18.1.13", "198.18.2.21"],
                "198.18.1.13 serves both: a slot in each")
        let (eastPolicy, westPolicy) = (snapshot.policies[0], snapshot.policies[1])
        #expect(eastPolicy.loadBalancer == east.description && westPolicy.loadBalancer == west.arn.description)
        #expect(snapshot.policies[2].loadBalancer == east.description, "every endpoint of a load balancer follows it")
        #expect(Set(eastPolicy.selection.maglev) == [TargetSlot(0), TargetSlot(1)], "east's healthy targets only")
        #expect(Set(westPolicy.selection.maglev) == [TargetSlot(3)], "west's 198.18.1.13 is healthy in west's group")
        #expect(eastPolicy.keyMode == .fiveTuple && westPolicy.keyMode == .twoTuple)
        #expect(eastPolicy.timeouts.udp == 120 && westPolicy.timeouts.udp == 30)
        #expect(snapshot.policy(loadBalancer: west.arn.description)?.keyMode == .twoTuple)
    }
}
