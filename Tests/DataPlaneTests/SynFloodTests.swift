import DataPlane
import PacketIO
import Testing
import TestSupport
import Wire

/// A SYN flood against a worker with 1,024 flow entries: spoofed sources, each SYN returned by the
/// appliance (so confirmed) and never answered. Half-open flows leave after 10 s idle, so 80 SYNs a
/// second hold about 880 entries; established connections keep forwarding and new ones still open.
/// (With the TCP idle timeout of 350 s, the table was full after 13 s.)
@Suite struct SynFloodTests {
    let client = PacketBuilder("198.18.10.2", "198.18.20.2")
    let server = PacketBuilder("198.18.20.2", "198.18.10.2")

    /// Sends `packets` through the worker and the appliance; returns how many reached the endpoint.
    func roundTrip(_ harness: Harness, _ packets: [[UInt8]]) -> Int {
        for packet in packets { harness.send(packet) }
        harness.run()
        for datagram in harness.takeSent() { harness.reflect(datagram) }
        harness.run()
        return harness.takeDelivered().count
    }

    func handshake(_ harness: Harness, port: UInt16) -> Bool {
        roundTrip(harness, [client.tcp(port, 80, flags: .syn)]) == 1
            && roundTrip(harness, [server.tcp(80, port, flags: [.syn, .ack])]) == 1
            && roundTrip(harness, [client.tcp(port, 80, flags: .ack)]) == 1
    }

    @Test func establishedFlowsAndNewConnectionsSurviveASynFlood() {
        let harness = Harness(flowsPerWorker: 1024)
        for port in UInt16(1)...10 { #expect(handshake(harness, port: port)) }
        var spoofed = 0
        for second in 0..<60 {
            let flood = (0..<80).map { _ in
                spoofed += 1
                return PacketBuilder("198.19.\(spoofed / 256).\(spoofed % 256)", "198.18.20.2").tcp(UInt16(1024 + spoofed % 60000), 80, flags: .syn)
            }
            #expect(roundTrip(harness, flood) == 80, "second \(second): flood SYNs refused, the table is full")
            let data = (UInt16(1)...10).map { client.tcp($0, 80, flags: [.ack, .psh], payload: [UInt8(second)]) }
            #expect(roundTrip(harness, data) == 10, "second \(second): an established connection lost a segment")
            if second % 10 == 9 { #expect(handshake(harness, port: UInt16(100 + second)), "second \(second): a new connection could not open") }
            harness.clock.advance(by: 1)
        }
        #expect(harness.statistics.drops(.flowTableFull) == 0 && harness.statistics.rejectedFlows == 0)
        #expect(harness.statistics.activeFlows < 1000, "\(harness.statistics.activeFlows) flows held")
    }

    /// The server answers the spoofed SYNs, as a real one does: a SYN-ACK each, resent every second
    /// for 15 s (Linux resends at 1, 3, 7, 15 and 31 s). Those answers must not keep the half-open
    /// flows alive, or 80 SYNs a second hold 2,000 entries and the table fills (as `hping3` against
    /// the lab's server showed); the timer runs from the SYN.
    @Test func theServersSynAcksDoNotKeepAFloodsFlowsAlive() {
        let harness = Harness(flowsPerWorker: 1024)
        for port in UInt16(1)...10 { #expect(handshake(harness, port: port)) }
        var spoofed = 0
        var answering: [(second: Int, address: String, port: UInt16)] = []
        for second in 0..<40 {
            let flood = (0..<80).map { _ in
                spoofed += 1
                let address = "198.19.\(spoofed / 256).\(spoofed % 256)", port = UInt16(1024 + spoofed % 60000)
                answering.append((second, address, port))
                return PacketBuilder(address, "198.18.20.2").tcp(port, 80, flags: .syn)
            }
            #expect(roundTrip(harness, flood) == 80, "second \(second): flood SYNs refused, the table is full")
            answering.removeAll { $0.second < second - 15 }
            let synAcks = answering.filter { $0.second < second }.map { PacketBuilder("198.18.20.2", $0.address).tcp(80, $0.port, flags: [.syn, .ack]) }
            _ = roundTrip(harness, synAcks)
            let data = (UInt16(1)...10).map { client.tcp($0, 80, flags: [.ack, .psh], payload: [UInt8(second)]) }
            #expect(roundTrip(harness, data) == 10, "second \(second): an established connection lost a segment")
            harness.clock.advance(by: 1)
        }
        #expect(harness.statistics.drops(.flowTableFull) == 0 && harness.statistics.rejectedFlows == 0)
        #expect(harness.statistics.activeFlows < 1000, "\(harness.statistics.activeFlows) flows held")
    }
}
