/// IP version of a packet.
public enum IPVersion: UInt8, Hashable, Sendable {
    case v4 = 4
    case v6 = 6
}

/// What the per-packet path needs to know of an IP packet (either version), read in one pass:
/// addresses, protocol, ports, TCP flags and whether it is a fragment. IPv4 addresses are held in
/// their IPv4-mapped IPv6 form so both families share one representation.
public struct PacketSummary: Hashable, Sendable {
    public var version: IPVersion
    public var source: IPv6Address
    public var destination: IPv6Address
    public var `protocol`: IPProtocol
    /// 0 unless the protocol is TCP or UDP and the packet is not a fragment.
    public var sourcePort: UInt16
    public var destinationPort: UInt16
    /// Empty unless TCP and not a fragment.
    public var tcpFlags: TCPFlags
    /// First or later fragment: the transport header may be missing, so ports are not used.
    public var isFragment: Bool
    /// Bytes of the IP packet (IPv4 total length, IPv6 40 + payload length).
    public var length: Int
    /// Offset of the transport header; equals `length` for a later fragment.
    public var transportOffset: Int

    /// Reads an IP packet of either version. Throws for anything a router would not forward:
    /// truncated or inconsistent headers, a transport header cut short, IPv4-mapped IPv6 addresses.
    @inline(__always)
    public init(parsing packet: UnsafeRawBufferPointer) throws(WireError) {
        guard packet.count >= 1 else { throw .truncated }
        switch packet.u8(0) >> 4 {
        case 4:
            let ip = try IPv4View(validating: packet)
            version = .v4
            source = IPv6Address(mapping: ip.source)
            destination = IPv6Address(mapping: ip.destination)
            self.protocol = ip.protocol
            isFragment = ip.isFragment
            length = ip.totalLength
            transportOffset = ip.headerLength
        case 6:
            let ip = try IPv6View(validating: packet)
            let upper = try ip.upperLayer()
            version = .v6
            source = ip.source
            destination = ip.destination
            guard !source.isIPv4Mapped, !destination.isIPv4Mapped else { throw .mappedAddress }
            self.protocol = upper.protocol
            isFragment = upper.isFragment
            length = ip.bytes.count
            transportOffset = upper.isLaterFragment ? length : upper.offset
        default:
            throw .badVersion
        }
        sourcePort = 0
        destinationPort = 0
        tcpFlags = []
        guard !isFragment else { return }
        // Safe: transportOffset <= length <= packet.count, checked by the views above.
        let transport = UnsafeRawBufferPointer(rebasing: packet[transportOffset..<length])
        switch self.protocol {
        case .tcp:
            let tcp = try TCPView(validating: transport)
            sourcePort = tcp.sourcePort
            destinationPort = tcp.destinationPort
            tcpFlags = tcp.flags
        case .udp:
            let udp = try UDPView(validating: transport)
            sourcePort = udp.sourcePort
            destinationPort = udp.destinationPort
        case .icmp, .icmpv6:
            _ = try ICMPView(validating: transport)
        default:
            break
        }
    }
}
