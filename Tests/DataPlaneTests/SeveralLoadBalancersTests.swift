import DataPlane
import Flows
import PacketIO
import Testing
import TestSupport
import Wire

/// One data plane, two load balancers: each endpoint's packets follow its own load balancer's
/// targets, stickiness, timeouts and attributes, and its returns are checked against its own.
@Suite struct SeveralLoadBalancersTests {
    let client = PacketBuilder("198.18.10.2", "198.18.20.2")

    /// Endpoint 0: "east", appliance .11 (slot 0), AWS's defaults. Endpoint 1: "west", appliance .13
    /// (slot 2), two-tuple stickiness, UDP idle timeout 30 s, no path MTU discovery.
    static func snapshot() -> ForwardingSnapshot {
        let peers = Harness.appliances.map { UDPPeer(address: $0, port: Geneve.udpPort) }
        func selection(_ slot: Int) -> TargetSelection {
            TargetSelection(targets: [(TargetSlot(slot), UInt64(peers[slot].address.rawValue) << 16 | 6081, .healthy)])
        }
        let east = BalancerPolicy(loadBalancer: "east", selection: selection(0))
        let west = BalancerPolicy(loadBalancer: "west", selection: selection(2), keyMode: .twoTuple,
                                  timeouts: FlowTimeouts(udp: 30), pathMTUDiscovery: false)
        return ForwardingSnapshot(version: 2, endpoints: Harness.endpoints, targets: peers, policies: [east, west])
    }

    @Test func eachEndpointFollowsItsOwnLoadBalancer() throws {
        let harness = Harness()
        harness.plane.publish(Self.snapshot())
        // The same five-tuple through both endpoints: two flows, one per load balancer.
        let packet = client.udp(40000, 5001, payload: Array("hi".utf8))
        harness.send(packet, endpoint: 0)
        harness.send(packet, endpoint: 1)
        harness.run()
        let sent = harness.takeSent()
        try #require(sent.count == 2)
        let byEndpoint = try Dictionary(uniqueKeysWithValues: sent.map { datagram in
            (try datagram.bytes.withUnsafeBytes { try AWSGeneveMetadata(parsing: $0) }.endpointID, datagram)
        })
        #expect(byEndpoint[Harness.endpoints[0].endpointID]?.to.address == IPv4Address(198, 18, 1, 11), "east's appliance")
        #expect(byEndpoint[Harness.endpoints[1].endpointID]?.to.address == IPv4Address(198, 18, 1, 13), "west's appliance")
        for datagram in sent { harness.reflect(datagram) }
        harness.run()
        #expect(harness.takeDelivered(endpoint: 0) == [packet] && harness.takeDelivered(endpoint: 1) == [packet],
                "each return goes back into its own endpoint")
        // West's two-tuple stickiness: another port pair of the same hosts joins its flow.
        harness.send(client.udp(40001, 5002), endpoint: 1)
        harness.send(client.udp(40001, 5002), endpoint: 0)
        harness.run()
        #expect(harness.statistics.activeFlows == 3, "east opened a flow, west did not: \(harness.statistics.activeFlows)")
        for datagram in harness.takeSent() { harness.reflect(datagram) }
        harness.run()
        // West's flows live 30 s idle, east's 120 s (all confirmed by their appliance's return).
        harness.clock.advance(by: 31)
        harness.run()
        #expect(harness.statistics.expiredFlows == 1 && harness.statistics.activeFlows == 2)
    }

    @Test func oversizeAnswersFollowTheEndpointsLoadBalancer() throws {
        let harness = Harness()
        harness.plane.publish(Self.snapshot())
        // IPv6: any packet over the limit gets "packet too big" where path MTU discovery is on.
        let big = PacketBuilder("fd00:10::2", "fd00:20::2").udp(1, 2, payload: [UInt8](repeating: 0, count: 8_600))
        harness.send(big, endpoint: 0)
        harness.send(big, endpoint: 1)
        harness.run()
        #expect(harness.takeDelivered(endpoint: 0).count == 1, "east answers with ICMP (path MTU discovery on)")
        #expect(harness.takeDelivered(endpoint: 1).isEmpty, "west drops silently, as AWS")
        #expect(harness.statistics.drops(.oversize) == 2)
    }
}
