import TestSupport
import Wire

/// Packets and headers the Wire tests share: one of each kind we parse, with the parser that reads it.
enum Samples {
    static let v4 = PacketBuilder("198.18.100.1", "198.18.200.2")
    static let v6 = PacketBuilder("fd00::1", "fd00:0:0:1::2")

    static var v6WithExtensions: PacketBuilder {
        var builder = v6
        builder.extensionHeaders = [
            IPv6ExtensionHeader(kind: .hopByHop, bytes: [0, 0, 1, 4, 0, 0, 0, 0]),          // PadN
            IPv6ExtensionHeader(kind: .ipv6DestinationOptions, bytes: [0, 1] + [UInt8](repeating: 0, count: 14)),
            IPv6ExtensionHeader(kind: .ipv6Routing, bytes: [0, 0, 4, 0, 0, 0, 0, 0]),      // segments left 0
        ]
        return builder
    }

    static var v4WithOptions: PacketBuilder {
        var builder = v4
        builder.ipv4Options = [0x94, 0x04, 0x00, 0x00]  // router alert
        return builder
    }

    /// Whole packets, named, for summary and truncation tests.
    static var packets: [(name: String, bytes: [UInt8])] {
        [
            ("ipv4-udp", v4.udp(40000, 5001, payload: Array("hello".utf8))),
            ("ipv4-tcp-options", {
                var tcp = TCPHeader(sourcePort: 40000, destinationPort: 443, flags: .syn)
                tcp.options = [2, 4, 0x05, 0xB4, 1, 1, 4, 2]  // MSS, NOP, NOP, SACK-permitted
                return v4WithOptions.raw(.tcp, payload: tcp.bytes)
            }()),
            ("ipv4-icmp", v4.icmpEcho(identifier: 7, payload: [1, 2, 3, 4])),
            ("ipv6-tcp", v6.tcp(40000, 80, flags: [.ack, .psh], payload: [9, 9, 9])),
            ("ipv6-ext-udp", v6WithExtensions.udp(53, 5353, payload: [1])),
            ("ipv6-icmpv6", v6.icmpEcho(identifier: 9)),
        ]
    }
}

/// Runs a value type's parser on bytes, for tables of parsers.
struct HeaderParser: Sendable {
    let name: String
    let parse: @Sendable ([UInt8]) throws(WireError) -> [UInt8]

    static func of<H: WireHeader>(_ type: H.Type, _ name: String) -> HeaderParser {
        HeaderParser(name: name) { (bytes: [UInt8]) throws(WireError) -> [UInt8] in try H(parsing: bytes).bytes }
    }

    static let all: [HeaderParser] = [
        .of(IPv4Header.self, "IPv4Header"), .of(IPv6Header.self, "IPv6Header"), .of(TCPHeader.self, "TCPHeader"),
        .of(UDPHeader.self, "UDPHeader"), .of(ICMPHeader.self, "ICMPHeader"), .of(GeneveHeader.self, "GeneveHeader"),
    ]
}
