import Wire

/// Synthetic flows for the benchmarks: flow i is TCP (60 %), UDP (30 %) or ICMP (10 %) between a
/// client in 198.18.0.0/16 and a server in 198.19.0.0/16; every i gives a distinct flow key in
/// five-tuple mode (the address pair alone is distinct, so ICMP's three-tuple keys are too).
struct SyntheticTraffic {
    static let headroom = Geneve.awsOverhead
    static let slotSize = 256
    static let payloadLength = 16

    enum Kind { case tcp, udp, icmp }

    static func kind(of flow: Int) -> Kind {
        switch flow % 10 {
        case 0..<6: .tcp
        case 6..<9: .udp
        default: .icmp
        }
    }

    static func client(_ flow: Int) -> IPv4Address { IPv4Address(rawValue: 0xC612_0000 | UInt32(flow >> 8 & 0xFFFF)) }
    static func server(_ flow: Int) -> IPv4Address { IPv4Address(rawValue: 0xC613_0000 | UInt32(flow & 0xFF)) }
    static func clientPort(_ flow: Int) -> UInt16 { UInt16(1024 + flow % 60_000) }
    static func serverPort(_ flow: Int) -> UInt16 { [443, 80, 53, 8080][flow % 4] }

    /// Writes the packet of `flow` into `slot` after the headroom: the first packet (SYN for TCP)
    /// when `first`, else a mid-flow packet (ACK), from the server side when `reply`. Returns the
    /// packet's length. Uses Wire's writers, which allocate nothing.
    static func write(flow: Int, first: Bool, reply: Bool, into slot: UnsafeMutableRawBufferPointer) -> Int {
        let packet = UnsafeMutableRawBufferPointer(rebasing: slot[headroom...])
        let (source, destination) = reply ? (server(flow), client(flow)) : (client(flow), server(flow))
        let (sourcePort, destinationPort) = reply ? (serverPort(flow), clientPort(flow)) : (clientPort(flow), serverPort(flow))
        let transport = UnsafeMutableRawBufferPointer(rebasing: packet[IPv4View.minimumLength...])
        let transportLength: Int
        let proto: IPProtocol
        switch kind(of: flow) {
        case .tcp:
            let flags: TCPFlags = first ? .syn : (reply ? [.ack, .psh] : .ack)
            TCPHeader(sourcePort: sourcePort, destinationPort: destinationPort, flags: flags).write(to: transport)
            (proto, transportLength) = (.tcp, TCPView.minimumLength + payloadLength)
        case .udp:
            let length = UDPView.length + payloadLength
            UDPHeader(sourcePort: sourcePort, destinationPort: destinationPort, length: UInt16(length)).write(to: transport)
            (proto, transportLength) = (.udp, length)
        case .icmp:
            ICMPHeader(type: reply ? ICMPHeader.echoReplyV4 : ICMPHeader.echoRequestV4, code: 0,
                       restOfHeader: UInt32(flow & 0xFFFF) << 16).write(to: transport)
            (proto, transportLength) = (.icmp, ICMPView.length + payloadLength)
        }
        let length = IPv4View.minimumLength + transportLength
        IPv4Header(totalLength: UInt16(length), protocol: proto, source: source, destination: destination).write(to: packet)
        return length
    }
}

/// xorshift64*: cheap random flow choices outside the timed regions.
struct XorShift {
    var state: UInt64
    mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 0x2545_F491_4F6C_DD1D
    }
}
