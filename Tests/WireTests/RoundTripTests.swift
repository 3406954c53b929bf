import Testing
import TestSupport
@testable import Wire

/// Parse and write are exact inverses, both ways round.
@Suite struct RoundTripTests {
    func assertRoundTrip<H: WireHeader>(_ header: H, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let bytes = header.bytes
        #expect(bytes.count == header.encodedLength, sourceLocation: sourceLocation)
        let parsed = try H(parsing: bytes)
        #expect(parsed == header, sourceLocation: sourceLocation)
        #expect(parsed.bytes == bytes, sourceLocation: sourceLocation)
    }

    @Test func ipv4WithOptionsAndFragmentFields() throws {
        var header = IPv4Header(totalLength: 64, protocol: .udp, source: IPv4Address(198, 18, 0, 1),
                                destination: IPv4Address(198, 18, 0, 2))
        header.options = [0x94, 0x04, 0x00, 0x00, 0x01, 0x01, 0x01, 0x00]
        header.flags = IPv4Header.moreFragmentsFlag | 0b100  // reserved bit kept too
        header.fragmentOffset = 0x1ABC
        header.typeOfService = 0xB8
        header.identification = 0xBEEF
        header.timeToLive = 1
        header.checksum = 0x1234  // not recomputed: writing is exact
        try assertRoundTrip(header)
    }

    @Test func ipv6WithExtensionHeaders() throws {
        for packet in [Samples.v6WithExtensions.udp(1, 2), Samples.v6.tcp(1, 2, flags: .syn)] {
            let header = try IPv6Header(parsing: packet)
            try assertRoundTrip(header)
            #expect(header.bytes == Array(packet[0..<header.encodedLength]))
        }
        var header = IPv6Header(payloadLength: 8, nextHeader: .udp, source: IPv6Address("fd00::1")!,
                                destination: IPv6Address("fd00::2")!)
        header.trafficClass = 0xAB
        header.flowLabel = 0xF_1234
        try assertRoundTrip(header)
    }

    @Test func transportHeaders() throws {
        var tcp = TCPHeader(sourcePort: 1, destinationPort: 65535, flags: [.syn, .ece, .cwr])
        tcp.sequenceNumber = 0xFFFF_FFFF
        tcp.acknowledgmentNumber = 42
        tcp.reserved = 0b1011
        tcp.options = [2, 4, 5, 180]
        tcp.urgentPointer = 7
        try assertRoundTrip(tcp)
        try assertRoundTrip(UDPHeader(sourcePort: 6081, destinationPort: 6081, length: 8, checksum: 0xFFFF))
        try assertRoundTrip(ICMPHeader(type: 128, code: 0, checksum: 0xABCD, restOfHeader: 0x0007_0001))
    }

    /// Unknown options (critical or not, any class) are kept in place and in order.
    @Test func geneveKeepsUnknownOptionsInAnyOrder() throws {
        var header = GeneveHeader(protocolType: Geneve.protocolTypeIPv6, options: [
            .flowCookie(0xDEAD_BEEF),
            GeneveOption(optionClass: 0xFFFF, type: 0x85, reservedBits: 0b101, data: [1, 2, 3, 4, 5, 6, 7, 8]),
            .attachmentID(2), .endpointID(1),
            GeneveOption(optionClass: 0x0108, type: 0x7F, data: []),
        ])
        header.vni = 0xABCDEF
        header.reserved = 0x5A
        header.reservedFlags = 0b10_1010
        header.hasCriticalOptions = true
        try assertRoundTrip(header)
        #expect(try GeneveHeader(parsing: header.bytes).awsOption(Geneve.awsFlowCookieType)?.data == [0xDE, 0xAD, 0xBE, 0xEF])
    }

    @Test func builtPacketsRewriteByteForByte() throws {
        for (name, packet) in Samples.packets {
            let summary = try packet.withUnsafeBytes { try PacketSummary(parsing: $0) }
            let ipBytes: [UInt8] = summary.version == .v4 ? try IPv4Header(parsing: packet).bytes : try IPv6Header(parsing: packet).bytes
            #expect(ipBytes == Array(packet[0..<summary.transportOffset]), "\(name)")
        }
    }
}
