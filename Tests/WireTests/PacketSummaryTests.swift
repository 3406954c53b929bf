import Testing
import TestSupport
@testable import Wire

@Suite struct PacketSummaryTests {
    func summary(_ bytes: [UInt8]) throws -> PacketSummary {
        try bytes.withUnsafeBytes { try PacketSummary(parsing: $0) }
    }

    @Test func ipv4TCP() throws {
        let s = try summary(Samples.v4WithOptions.tcp(40000, 443, flags: [.syn, .ece], payload: [1, 2]))
        #expect(s.version == .v4 && s.protocol == .tcp)
        #expect(s.sourcePort == 40000 && s.destinationPort == 443 && s.tcpFlags == [.syn, .ece])
        #expect(s.transportOffset == 24 && !s.isFragment && s.length == 24 + 20 + 2)
    }

    @Test func ipv6WalksExtensionHeadersToTheTransport() throws {
        let s = try summary(Samples.v6WithExtensions.udp(53, 5353, payload: [1]))
        #expect(s.version == .v6 && s.protocol == .udp && s.transportOffset == 40 + 8 + 16 + 8)
        #expect(s.sourcePort == 53 && s.destinationPort == 5353)
        #expect(s.source == IPv6Address("fd00::1") && s.destination == IPv6Address("fd00:0:0:1::2"))
    }

    @Test func icmpHasNoPorts() throws {
        for packet in [Samples.v4.icmpEcho(identifier: 7), Samples.v6.icmpEcho(identifier: 7)] {
            let s = try summary(packet)
            #expect(s.sourcePort == 0 && s.destinationPort == 0 && s.tcpFlags.isEmpty)
            #expect(s.protocol == (s.version == .v4 ? .icmp : .icmpv6))
        }
    }

    @Test(arguments: [(UInt16(0), true), (UInt16(185), true), (UInt16(185), false)])
    func fragmentsAreFlaggedAndCarryNoPorts(offset: UInt16, more: Bool) throws {
        for var builder in [Samples.v4, Samples.v6WithExtensions] {
            builder.fragment = (offset, more)
            let s = try summary(builder.udp(1000, 2000, payload: [1, 2, 3, 4]))
            #expect(s.isFragment && s.protocol == .udp)
            #expect(s.sourcePort == 0 && s.destinationPort == 0)
        }
    }

    @Test func ipv6LaterFragmentHasNoTransportHeader() throws {
        var builder = Samples.v6
        builder.fragment = (100, false)
        // A later fragment's payload is not a header: 3 bytes of it must not be read as a truncated UDP header.
        let s = try summary(builder.raw(.udp, payload: [1, 2, 3]))
        #expect(s.isFragment && s.transportOffset == s.length)
    }
}
