import DataPlane
import PacketIO
import Testing
import TestSupport
import Wire

/// With several workers, each flow belongs to one: packets read by another worker (any endpoint
/// queue, any socket) are handed to the owner, so both directions and the returns share one state.
@Suite struct WorkerHandoffTests {
    @Test func everyPacketReachesItsFlowsOwner() throws {
        let harness = Harness(workers: 2)
        let flows = 200
        // Every packet read by worker 0: about half belong to worker 1.
        for port in 1...flows {
            harness.send(PacketBuilder("198.18.10.2", "198.18.20.2").tcp(UInt16(port), 80, flags: .syn), worker: 0)
        }
        harness.run()
        // The replies read by worker 1.
        for port in 1...flows {
            harness.send(PacketBuilder("198.18.20.2", "198.18.10.2").tcp(80, UInt16(port), flags: [.syn, .ack]), worker: 1)
        }
        harness.run()
        let sent = harness.takeSent()
        #expect(sent.count == 2 * flows, "no SYN-ACK dropped as a TCP packet without flow")
        #expect(harness.statistics.drops(.tcpWithoutFlow) == 0)
        #expect(harness.statistics.handedOff > UInt64(flows / 2))
        var targetByPort: [UInt16: UDPPeer] = [:]
        for datagram in sent {
            let inner = try PacketSummary(parsing: Array(datagram.bytes[40...]))
            let port = inner.sourcePort == 80 ? inner.destinationPort : inner.sourcePort
            if let known = targetByPort[port] { #expect(known == datagram.to) } else { targetByPort[port] = datagram.to }
        }
        // Returns arrive at whichever socket the kernel picks: alternate.
        for (index, datagram) in sent.enumerated() { harness.reflect(datagram, worker: index % 2) }
        harness.run()
        #expect(harness.takeDelivered().count == 2 * flows)
        #expect(harness.statistics.totalDrops == 0)
        #expect(harness.statistics.activeFlows == Int64(flows))
        let owned = harness.plane.workers.map { $0.tracker.table.count }
        #expect(owned.allSatisfy { $0 > flows / 4 }, "flows spread over both workers: \(owned)")
    }

    /// A hand-off that finds the owner's ring full is dropped, and its record names the packet:
    /// addresses, ports, protocol, endpoint and, for a return, the appliance.
    @Test func overflowRecordsNameThePacket() throws {
        let harness = Harness(workers: 2, handoffCapacity: 4)
        // One at a time, so the forward hand-offs never fill the ring.
        for port in 1...64 {
            harness.send(PacketBuilder("198.18.10.2", "198.18.20.2").udp(UInt16(port), 53), worker: 0)
            harness.run()
        }
        let cookies = harness.plane.workers[1].tracker.table.cookies
        let owned = try harness.takeSent().filter { datagram in
            let metadata = try datagram.bytes.withUnsafeBytes { try AWSGeneveMetadata(parsing: $0) }
            return cookies.owner(of: metadata.cookie) == 1
        }
        try #require(owned.count > 8)
        // Worker 1's returns all arrive at worker 0 in one pass: more than its ring to worker 1 holds.
        for datagram in owned { harness.reflect(datagram, worker: 0) }
        _ = harness.plane.workers[0].runOnce(at: harness.time)
        harness.plane.workers[0].publish()
        let drops = harness.plane.recentDrops().filter { $0.reason == .handoffOverflow }
        #expect(drops.count == owned.count - 4)
        for drop in drops {
            #expect(drop.source == PacketBuilder.address("198.18.10.2") && drop.destination == PacketBuilder.address("198.18.20.2"))
            #expect(drop.protocol == .udp && drop.destinationPort == 53 && drop.sourcePort > 0)
            #expect(drop.endpoint == 0 && drop.appliance != nil)
        }
    }
}
