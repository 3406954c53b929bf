import Testing
import TestSupport
import Wire
@testable import Flows

@Suite struct FlowKeyTests {
    func summary(_ bytes: [UInt8]) -> PacketSummary {
        try! bytes.withUnsafeBytes { try PacketSummary(parsing: $0) }
    }

    func key(_ bytes: [UInt8], _ mode: FlowKeyMode = .fiveTuple) -> FlowKey {
        FlowKey(summary(bytes), mode: mode)
    }

    static let families = [("198.18.100.1", "198.18.200.2"), ("fd00::1", "fd00:0:0:1::2")]

    @Test(arguments: families, FlowKeyMode.allCases)
    func bothDirectionsGiveOneKey(addresses: (String, String), mode: FlowKeyMode) {
        let out = PacketBuilder(addresses.0, addresses.1), back = PacketBuilder(addresses.1, addresses.0)
        #expect(key(out.tcp(40000, 80, flags: .syn), mode) == key(back.tcp(80, 40000, flags: [.syn, .ack]), mode))
        #expect(key(out.udp(5000, 53), mode) == key(back.udp(53, 5000), mode))
        #expect(key(out.icmpEcho(identifier: 1), mode) == key(back.icmpEcho(identifier: 1), mode))
    }

    /// Same addresses both ways: the ports decide the order, and both directions still agree.
    @Test func sameAddressOrdersByPort() {
        let host = PacketBuilder("198.18.0.9", "198.18.0.9")
        #expect(key(host.udp(1, 2)) == key(host.udp(2, 1)))
        #expect(key(host.udp(1, 2)).lowPort == 1)
    }

    @Test(arguments: families)
    func fiveTupleSeparatesPortsAndProtocols(addresses: (String, String)) {
        let b = PacketBuilder(addresses.0, addresses.1)
        #expect(key(b.tcp(40000, 80, flags: .syn)) != key(b.tcp(40001, 80, flags: .syn)))
        #expect(key(b.tcp(40000, 80, flags: .syn)) != key(b.udp(40000, 80)))
        // Non-TCP/UDP traffic is keyed on three tuples even in five-tuple mode.
        #expect(key(b.icmpEcho(identifier: 1)) == key(b.icmpEcho(identifier: 2)))
        #expect(key(b.raw(.gre, payload: [1, 2, 3, 4])).lowPort == 0)
    }

    @Test(arguments: families)
    func threeTupleIgnoresPorts(addresses: (String, String)) {
        let b = PacketBuilder(addresses.0, addresses.1)
        #expect(key(b.tcp(40000, 80, flags: .syn), .threeTuple) == key(b.tcp(1, 2, flags: .syn), .threeTuple))
        #expect(key(b.tcp(40000, 80, flags: .syn), .threeTuple) != key(b.udp(40000, 80), .threeTuple))
        #expect(key(b.udp(40000, 80), .threeTuple) == key(b.udp(7, 8), .threeTuple))
    }

    @Test(arguments: families)
    func twoTupleIgnoresPortsAndProtocol(addresses: (String, String)) {
        let b = PacketBuilder(addresses.0, addresses.1)
        let k = key(b.tcp(40000, 80, flags: .syn), .twoTuple)
        #expect(k == key(b.udp(1, 2), .twoTuple))
        #expect(k == key(b.icmpEcho(identifier: 3), .twoTuple))
        #expect(k != key(PacketBuilder(addresses.0, addresses.0).udp(1, 2), .twoTuple))
    }

    /// All fragments of a datagram reach the same flow: the first carries ports, the rest do not.
    @Test func fragmentsAreKeyedWithoutPorts() {
        var first = PacketBuilder("198.18.100.1", "198.18.200.2")
        first.fragment = (0, true)
        var later = first
        later.fragment = (185, false)
        let a = key(first.udp(5000, 53, payload: Array(repeating: 1, count: 16)))
        let b = key(later.raw(.udp, payload: Array(repeating: 2, count: 16)))
        #expect(a == b && a.lowPort == 0 && a.protocol == .udp)
    }

    /// Two endpoints may carry the same addresses (overlapping VPCs): their flows are distinct.
    @Test func endpointsSeparateFlows() {
        let packet = summary(PacketBuilder("198.18.0.1", "198.18.0.2").udp(1, 2))
        #expect(FlowKey(packet, mode: .fiveTuple, endpoint: 0) != FlowKey(packet, mode: .fiveTuple, endpoint: 1))
        let hasher = FlowHasher.random()
        #expect(hasher.hash(FlowKey(packet, mode: .fiveTuple, endpoint: 0)) != hasher.hash(FlowKey(packet, mode: .fiveTuple, endpoint: 1)))
    }

    @Test func familiesNeverShareAKey() {
        let v4 = key(PacketBuilder("198.18.0.1", "198.18.0.2").udp(1, 2))
        #expect(v4.isIPv4)
        #expect(!key(PacketBuilder("fd00::c612:1", "fd00::c612:2").udp(1, 2)).isIPv4)
    }

    /// The table's entry stays at 52 bytes: the 64-bytes-per-flow budget depends on it.
    @Test func layoutIsCompact() {
        #expect(MemoryLayout<FlowKey>.size == 38)
        #expect(MemoryLayout<FlowEntry>.stride == 52)
    }

    @Test func hasherIsKeyedPerProcess() {
        let k = key(PacketBuilder("198.18.0.1", "198.18.0.2").udp(1, 2))
        let a = FlowHasher.random(), b = FlowHasher.random()
        #expect(a.hash(k) == a.hash(k))
        #expect(a.hash(k) != b.hash(k), "two random keys giving one hash: 1 in 2^64")
        // SipHash-1-3 is a keyed function: same key, same output across processes.
        #expect(FlowHasher(key0: 1, key1: 2).hash(k) == FlowHasher(key0: 1, key1: 2).hash(k))
        #expect(FlowHasher(key0: 1, key1: 2).hash(k) != FlowHasher(key0: 1, key1: 3).hash(k))
    }
}
