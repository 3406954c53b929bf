/// The outer IPv4 + UDP headers of a GENEVE frame. gwlbd's own socket lets the kernel write these;
/// this writer builds whole frames where no socket does it for us: raw sockets, captures, tests.
public struct OuterIPv4UDPHeader: Hashable, Sendable {
    public static let length = IPv4View.minimumLength + UDPView.length

    public var source: IPv4Address
    public var destination: IPv4Address
    public var sourcePort: UInt16
    public var destinationPort: UInt16 = Geneve.udpPort
    public var timeToLive: UInt8 = 64
    public var identification: UInt16 = 0
    public var dontFragment: Bool = false

    public init(source: IPv4Address, destination: IPv4Address, sourcePort: UInt16,
                destinationPort: UInt16 = Geneve.udpPort) {
        self.source = source
        self.destination = destination
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
    }

    /// Writes both headers into the first 28 bytes of `frame`, whose next `payloadLength` bytes
    /// are the UDP payload. The IPv4 checksum is always computed; the UDP checksum only when
    /// `udpChecksum` is true (0 is legal for UDP over IPv4, RFC 768, and RFC 8926 §3.3 allows it).
    public func write(to frame: UnsafeMutableRawBufferPointer, payloadLength: Int, udpChecksum: Bool = true) {
        let udpLength = UDPView.length + payloadLength
        precondition(Self.length + payloadLength <= frame.count && udpLength <= Int(UInt16.max))
        var ip = IPv4Header(totalLength: UInt16(IPv4View.minimumLength + udpLength), protocol: .udp,
                            source: source, destination: destination)
        ip.identification = identification
        ip.flags = dontFragment ? IPv4Header.dontFragmentFlag : 0
        ip.timeToLive = timeToLive
        ip.write(to: frame)
        frame.setU16(InternetChecksum.of(UnsafeRawBufferPointer(rebasing: frame[..<IPv4View.minimumLength])), at: 10)

        let udp = UnsafeMutableRawBufferPointer(rebasing: frame[IPv4View.minimumLength..<(Self.length + payloadLength)])
        UDPHeader(sourcePort: sourcePort, destinationPort: destinationPort, length: UInt16(udpLength)).write(to: udp)
        guard udpChecksum else { return }
        var sum = InternetChecksum()
        sum.addPseudoHeader(source: source, destination: destination, protocol: .udp, length: udpLength)
        sum.add(UnsafeRawBufferPointer(udp))
        // A computed 0 is sent as 0xFFFF: 0 means "no checksum" (RFC 768).
        let value = sum.value
        udp.setU16(value == 0 ? 0xFFFF : value, at: 6)
    }
}
