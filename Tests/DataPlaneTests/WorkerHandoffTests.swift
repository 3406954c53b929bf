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
}
