import DataPlane
import Testing
import TestSupport
import Wire

/// The workers' side of the flow logs: records per direction when an aggregation interval closes,
/// when a flow ends, and per dropped packet; nothing while the interval is open.
@Suite struct FlowLogRecordTests {
    let client = PacketBuilder("198.18.10.2", "198.18.20.2")
    let server = PacketBuilder("198.18.20.2", "198.18.10.2")

    func take(_ ring: FlowLogRing) -> [FlowLogRecord] {
        var records: [FlowLogRecord] = []
        ring.drain { records.append($0) }
        return records
    }

    /// Sends `packet` in, returns it from its appliance, and runs the worker until both are done.
    func roundTrip(_ harness: Harness, _ packet: [UInt8]) {
        harness.send(packet)
        harness.run()
        for datagram in harness.takeSent() { harness.reflect(datagram) }
        harness.run()
    }

    @Test func eachIntervalGetsARecordPerDirectionOnceItCloses() throws {
        let harness = Harness(flowLogInterval: 60)
        let ring = try #require(harness.plane.flowLogRings.first)
        harness.run()  // the first pass, at wall second 1000: the interval is [960, 1020)
        let request = client.udp(40000, 53, payload: Array(repeating: 1, count: 20))
        let answer = server.udp(53, 40000, payload: Array(repeating: 2, count: 40))
        roundTrip(harness, request)
        harness.clock.advance(by: 3)
        roundTrip(harness, request)
        roundTrip(harness, answer)
        #expect(take(ring).isEmpty, "nothing while the interval is open")

        harness.clock.advance(by: 18)  // 1021: the interval closed
        harness.run()
        let closed = take(ring).sorted { $0.sourcePort > $1.sourcePort }
        #expect(closed.count == 2)
        let out = try #require(closed.first), back = try #require(closed.last)
        #expect(out.interval == 960 && out.accepted && out.source == PacketBuilder.address("198.18.10.2") && out.sourcePort == 40000)
        #expect(out.packets == 2 && out.bytes == UInt64(2 * request.count) && out.start == 1000 && out.end == 1003)
        #expect(back.interval == 960 && back.destination == PacketBuilder.address("198.18.10.2") && back.sourcePort == 53)
        #expect(back.packets == 1 && back.bytes == UInt64(answer.count) && back.start == 1003)

        // The next interval starts from zero; a dropped packet is a REJECT record at once.
        roundTrip(harness, request)
        harness.send(client.udp(40001, 53, payload: Array(repeating: 0, count: 8600)))
        harness.run()
        let rejected = take(ring)
        #expect(rejected.count == 1 && rejected.first?.accepted == false && rejected.first?.interval == 1020
                && rejected.first?.packets == 1 && rejected.first?.sourcePort == 40001, "\(rejected)")
        // The flow ends (idle past UDP's 120 s): its last traffic is recorded then, in its interval.
        harness.clock.advance(by: 130)
        harness.run()
        let last = take(ring)
        #expect(last.contains { $0.accepted && $0.interval == 1020 && $0.packets == 1 && $0.sourcePort == 40000 }, "\(last)")
        #expect(!last.contains { $0.packets == 0 })
    }
}
