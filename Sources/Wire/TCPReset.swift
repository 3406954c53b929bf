/// Builds TCP RST segments (with their IP header) for the `send_tcp_reset.*` attributes: to answer
/// a TCP packet that has no flow, or to close a flow gwlb gives up on (idle timeout, unhealthy or
/// deregistered target).
public enum TCPReset {
    /// The longest packet `write` produces: IPv6 + TCP without options.
    public static let maximumLength = IPv6View.fixedLength + TCPView.minimumLength

    /// Writes the RST that RFC 9293 §3.10.7.1 prescribes in answer to `packet`: addresses and
    /// ports swapped; sequence number from the segment's ACK if it has one, else 0 with an ACK of
    /// its sequence number plus its length (SYN and FIN count one each). Returns the length
    /// written, or nil when there is nothing to answer: not TCP, a fragment, or itself a RST (a RST
    /// is never answered). Throws when `packet` is malformed.
    public static func reply(to packet: UnsafeRawBufferPointer,
                             into buffer: UnsafeMutableRawBufferPointer) throws(WireError) -> Int? {
        let summary = try PacketSummary(parsing: packet)
        guard summary.protocol == .tcp, !summary.isFragment else { return nil }
        let tcp = try TCPView(validating: UnsafeRawBufferPointer(rebasing: packet[summary.transportOffset..<summary.length]))
        guard !tcp.flags.contains(.rst) else { return nil }
        let sequence: UInt32, acknowledgment: UInt32?
        if tcp.flags.contains(.ack) {
            (sequence, acknowledgment) = (tcp.acknowledgmentNumber, nil)
        } else {
            let length = UInt32(tcp.payloadLength) + (tcp.flags.contains(.syn) ? 1 : 0) + (tcp.flags.contains(.fin) ? 1 : 0)
            (sequence, acknowledgment) = (0, tcp.sequenceNumber &+ length)
        }
        return write(into: buffer, source: summary.destination, destination: summary.source,
                     sourcePort: tcp.destinationPort, destinationPort: tcp.sourcePort,
                     sequence: sequence, acknowledgment: acknowledgment)
    }

    /// Writes an IP packet carrying one RST segment. IPv4-mapped addresses (both) give an IPv4
    /// packet, others IPv6. With `acknowledgment`, the ACK bit is set too. Returns the length.
    public static func write(into buffer: UnsafeMutableRawBufferPointer, source: IPv6Address,
                             destination: IPv6Address, sourcePort: UInt16, destinationPort: UInt16,
                             sequence: UInt32, acknowledgment: UInt32?) -> Int {
        var tcp = TCPHeader(sourcePort: sourcePort, destinationPort: destinationPort,
                            flags: acknowledgment == nil ? .rst : [.rst, .ack])
        tcp.sequenceNumber = sequence
        tcp.acknowledgmentNumber = acknowledgment ?? 0
        var checksum = InternetChecksum()
        let ipLength: Int
        if let source4 = source.mappedIPv4, let destination4 = destination.mappedIPv4 {
            var ip = IPv4Header(totalLength: UInt16(IPv4View.minimumLength + TCPView.minimumLength),
                                protocol: .tcp, source: source4, destination: destination4)
            ip.flags = IPv4Header.dontFragmentFlag
            ip.withComputedChecksum().write(to: buffer)
            ipLength = IPv4View.minimumLength
            checksum.addPseudoHeader(source: source4, destination: destination4, protocol: .tcp,
                                     length: TCPView.minimumLength)
        } else {
            IPv6Header(payloadLength: UInt16(TCPView.minimumLength), nextHeader: .tcp, source: source,
                       destination: destination).write(to: buffer)
            ipLength = IPv6View.fixedLength
            checksum.addPseudoHeader(source: source, destination: destination, protocol: .tcp,
                                     length: TCPView.minimumLength)
        }
        let segment = UnsafeMutableRawBufferPointer(rebasing: buffer[ipLength..<(ipLength + TCPView.minimumLength)])
        tcp.write(to: segment)
        checksum.add(UnsafeRawBufferPointer(segment))
        segment.setU16(checksum.value, at: 16)
        return ipLength + TCPView.minimumLength
    }
}
