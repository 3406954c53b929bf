/// A packet as a TUN device with offloads hands it over: possibly a TCP or UDP super-packet the
/// kernel left unsegmented (TSO/USO), possibly with its transport checksum left to fill. `segment`
/// writes the ordinary packets it stands for, one at a time, each complete: its own IP length,
/// IPv4 identification and header checksum, TCP sequence number and flags (FIN and PSH on the last
/// segment only, CWR on the first only), UDP length, and a full transport checksum; what Linux's
/// own software segmentation gives.
public struct SuperPacket {
    public let packet: UnsafeRawBufferPointer
    public let header: VirtioNetHeader
    /// Where the transport header starts, and its length (0 when there is nothing to segment).
    public let transportOffset: Int
    public let transportHeaderLength: Int
    /// Payload bytes per segment (the whole packet when not segmented).
    public let segmentSize: Int
    public let segmentCount: Int
    let isTCP: Bool

    /// Reads the virtio header's claims against the packet. A super-packet whose headers do not
    /// agree with them is malformed: the caller counts it dropped.
    public init(packet: UnsafeRawBufferPointer, header: VirtioNetHeader) throws(WireError) {
        self.packet = packet
        self.header = header
        guard packet.count >= 1 else { throw .truncated }
        let version = packet.u8(0) >> 4
        switch header.segmentation {
        case VirtioNetHeader.gsoNone:
            transportOffset = Int(header.checksumStart)
            transportHeaderLength = 0
            segmentSize = packet.count
            segmentCount = 1
            isTCP = false
            if header.needsChecksum {
                guard transportOffset + Int(header.checksumOffset) + 2 <= packet.count else { throw .lengthMismatch }
            }
            return
        case VirtioNetHeader.gsoTCPv4, VirtioNetHeader.gsoTCPv6, VirtioNetHeader.gsoUDPL4:
            break
        default:
            throw .unsupportedProtocolType
        }
        isTCP = header.segmentation != VirtioNetHeader.gsoUDPL4
        switch version {
        case 4:
            guard packet.count >= IPv4View.minimumLength else { throw .truncated }
            let ihl = Int(packet.u8(0) & 0x0F) * 4
            guard ihl >= IPv4View.minimumLength, header.segmentation != VirtioNetHeader.gsoTCPv6 else { throw .badIHL }
            guard packet.u8(9) == (isTCP ? IPProtocol.tcp.rawValue : IPProtocol.udp.rawValue) else { throw .unsupportedProtocolType }
            transportOffset = ihl
        case 6:
            guard packet.count >= IPv6View.fixedLength, header.segmentation != VirtioNetHeader.gsoTCPv4 else { throw .truncated }
            // The kernel says where the transport header starts (after any extension headers).
            transportOffset = header.needsChecksum ? Int(header.checksumStart) : IPv6View.fixedLength
            guard transportOffset >= IPv6View.fixedLength else { throw .lengthMismatch }
        default:
            throw .badVersion
        }
        if isTCP {
            guard transportOffset + TCPView.minimumLength <= packet.count else { throw .truncated }
            transportHeaderLength = Int(packet.u8(transportOffset + 12) >> 4) * 4
            guard transportHeaderLength >= TCPView.minimumLength else { throw .lengthMismatch }
        } else {
            transportHeaderLength = UDPView.length
        }
        let headers = transportOffset + transportHeaderLength
        guard headers <= packet.count, header.gsoSize > 0 else { throw .lengthMismatch }
        segmentSize = Int(header.gsoSize)
        let payload = packet.count - headers
        segmentCount = max(1, (payload + segmentSize - 1) / segmentSize)
    }

    /// Bytes of segment `index` once written.
    public func segmentLength(_ index: Int) -> Int {
        guard transportHeaderLength > 0 else { return packet.count }
        let headers = transportOffset + transportHeaderLength
        return headers + min(segmentSize, packet.count - headers - index * segmentSize)
    }

    /// Writes segment `index` (0..<segmentCount) at the start of `destination`, which has room for
    /// `segmentLength(index)` bytes; returns that length.
    @discardableResult
    public func segment(_ index: Int, into destination: UnsafeMutableRawBufferPointer) -> Int {
        let length = segmentLength(index)
        precondition(length <= destination.count, "segment larger than its buffer")
        guard transportHeaderLength > 0 else {
            UnsafeMutableRawBufferPointer(rebasing: destination[..<length]).copyMemory(from: packet)
            if header.needsChecksum {
                // UDP's checksum field is at offset 6 (TCP's at 16): a UDP sum of 0 must go out as 0xFFFF.
                Self.completeChecksum(UnsafeMutableRawBufferPointer(rebasing: destination[..<length]),
                                      start: transportOffset, offset: Int(header.checksumOffset), isUDP: header.checksumOffset == 6)
            }
            return length
        }
        let headers = transportOffset + transportHeaderLength
        let payloadStart = headers + index * segmentSize
        // Safe: headers <= packet.count (init) and payloadStart + (length - headers) <= packet.count.
        destination.copyMemory(from: UnsafeRawBufferPointer(rebasing: packet[..<headers]))
        UnsafeMutableRawBufferPointer(rebasing: destination[headers..<length])
            .copyMemory(from: UnsafeRawBufferPointer(rebasing: packet[payloadStart..<(payloadStart + length - headers)]))
        let out = UnsafeMutableRawBufferPointer(rebasing: destination[..<length])
        let transportLength = length - transportOffset
        if UnsafeRawBufferPointer(out).u8(0) >> 4 == 4 {
            out.setU16(UInt16(length), at: 2)
            out.setU16(UnsafeRawBufferPointer(out).u16(4) &+ UInt16(truncatingIfNeeded: index), at: 4)
            out.setU16(0, at: 10)
            out.setU16(InternetChecksum.of(UnsafeRawBufferPointer(rebasing: out[..<transportOffset])), at: 10)
        } else {
            out.setU16(UInt16(length - IPv6View.fixedLength), at: 4)
        }
        let transport = UnsafeMutableRawBufferPointer(rebasing: out[transportOffset...])
        let checksumField: Int
        if isTCP {
            let sequence = UnsafeRawBufferPointer(transport).u32(4) &+ UInt32(truncatingIfNeeded: index * segmentSize)
            transport.setU32(sequence, at: 4)
            var flags = UnsafeRawBufferPointer(transport).u8(13)
            if index != segmentCount - 1 { flags &= ~(TCPFlags.fin.rawValue | TCPFlags.psh.rawValue) }
            if index != 0 { flags &= ~TCPFlags.cwr.rawValue }
            transport.setU8(flags, at: 13)
            checksumField = 16
        } else {
            transport.setU16(UInt16(transportLength), at: 4)
            checksumField = 6
        }
        transport.setU16(0, at: checksumField)
        var sum = InternetChecksum()
        Self.addPseudoHeader(UnsafeRawBufferPointer(out), protocol: isTCP ? .tcp : .udp, transportLength: transportLength, to: &sum)
        sum.add(UnsafeRawBufferPointer(transport))
        var value = sum.value
        if !isTCP, value == 0 { value = 0xFFFF }
        transport.setU16(value, at: checksumField)
        return length
    }

    /// The pseudo-header of `packet` (either version) added to `sum`.
    static func addPseudoHeader(_ packet: UnsafeRawBufferPointer, protocol proto: IPProtocol, transportLength: Int,
                                to sum: inout InternetChecksum) {
        if packet.u8(0) >> 4 == 4 {
            sum.add(UnsafeRawBufferPointer(rebasing: packet[12..<20]))
        } else {
            sum.add(UnsafeRawBufferPointer(rebasing: packet[8..<40]))
        }
        sum.add(UInt16(proto.rawValue))
        sum.add(UInt32(transportLength))
    }

    /// Fills a checksum the kernel left partial: the field already holds the pseudo-header sum, so
    /// the sum from `start` to the end, complemented, is the checksum.
    public static func completeChecksum(_ packet: UnsafeMutableRawBufferPointer, start: Int, offset: Int, isUDP: Bool) {
        var sum = InternetChecksum()
        sum.add(UnsafeRawBufferPointer(rebasing: packet[start...]))
        var value = sum.value
        if isUDP, value == 0 { value = 0xFFFF }
        packet.setU16(value, at: start + offset)
    }
}
