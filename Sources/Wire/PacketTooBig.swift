/// Builds the ICMP message that makes path MTU discovery work through gwlb: "fragmentation needed
/// and DF set" (RFC 792, type 3 code 4, next-hop MTU in bytes 6–7, RFC 1191) for IPv4, "packet too
/// big" (RFC 4443 §3.2, type 2, MTU in bytes 4–7) for IPv6. It comes from the dropped packet's
/// destination, goes to its source, and quotes as much of the packet as the minimum MTU allows
/// (576 bytes in all for IPv4, RFC 1812 §4.3.2.3; 1280 for IPv6).
public enum PacketTooBig {
    /// The longest message `reply` writes.
    public static let maximumLength = 1280

    /// Writes the message answering `packet` (too big for `mtu`) into `buffer`. Nil when nothing
    /// is to be sent: an IPv4 packet without DF (it may be dropped silently, and AWS does), or an
    /// ICMP error itself (RFC 1122 §3.2.2 and RFC 4443 §2.4 forbid answering those).
    public static func reply(to packet: UnsafeRawBufferPointer, summary: PacketSummary, mtu: Int,
                             into buffer: UnsafeMutableRawBufferPointer) -> Int? {
        precondition(buffer.count >= maximumLength)
        switch summary.version {
        case .v4:
            guard packet.u8(6) & 0x40 != 0 else { return nil }   // DF
            if summary.protocol == .icmp, !summary.isFragment, summary.transportOffset < packet.count,
               !ICMPHeader.isEcho(type: packet.u8(summary.transportOffset), protocol: .icmp) { return nil }
            let quoted = min(packet.count, 576 - IPv4View.minimumLength - ICMPView.length)
            let length = IPv4View.minimumLength + ICMPView.length + quoted
            buffer.setU32(0x4500_0000 | UInt32(length), at: 0)
            buffer.setU32(0, at: 4)                                   // identification, flags
            buffer.setU32(0x4001_0000, at: 8)                         // TTL 64, ICMP, checksum 0
            buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: packet[16..<20]), to: 12)   // from its destination
            buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: packet[12..<16]), to: 16)   // to its source
            buffer.setU16(InternetChecksum.of(UnsafeRawBufferPointer(rebasing: buffer[..<20])), at: 10)
            let icmp = UnsafeMutableRawBufferPointer(rebasing: buffer[20..<length])
            icmp.setU32(0x0304_0000, at: 0)
            icmp.setU32(UInt32(min(mtu, 0xFFFF)), at: 4)
            icmp.copyMemory(from: UnsafeRawBufferPointer(rebasing: packet[..<quoted]), to: ICMPView.length)
            icmp.setU16(InternetChecksum.of(UnsafeRawBufferPointer(icmp)), at: 2)
            return length
        case .v6:
            if summary.protocol == .icmpv6, !summary.isFragment, summary.transportOffset < packet.count,
               packet.u8(summary.transportOffset) < 128 { return nil }
            let quoted = min(packet.count, maximumLength - IPv6View.fixedLength - ICMPView.length)
            let payload = ICMPView.length + quoted
            buffer.setU32(0x6000_0000, at: 0)
            buffer.setU32(UInt32(payload) << 16 | UInt32(IPProtocol.icmpv6.rawValue) << 8 | 64, at: 4)
            buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: packet[24..<40]), to: 8)
            buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: packet[8..<24]), to: 24)
            let icmp = UnsafeMutableRawBufferPointer(rebasing: buffer[40..<(40 + payload)])
            icmp.setU32(0x0200_0000, at: 0)
            icmp.setU32(UInt32(mtu), at: 4)
            icmp.copyMemory(from: UnsafeRawBufferPointer(rebasing: packet[..<quoted]), to: ICMPView.length)
            var sum = InternetChecksum()
            SuperPacket.addPseudoHeader(UnsafeRawBufferPointer(buffer), protocol: .icmpv6, transportLength: payload, to: &sum)
            sum.add(UnsafeRawBufferPointer(icmp))
            icmp.setU16(sum.value, at: 2)
            return 40 + payload
        }
    }
}

extension UnsafeMutableRawBufferPointer {
    @inline(__always)
    func copyMemory(from source: UnsafeRawBufferPointer, to offset: Int) {
        UnsafeMutableRawBufferPointer(rebasing: self[offset..<(offset + source.count)]).copyMemory(from: source)
    }
}
