/// A data-path health probe (README "Health checks through the data path"): a GENEVE datagram with
/// AWS's options as gwlbd sends every flow's packets, carrying an ICMP echo request from gwlbd's
/// GENEVE address to itself, which an appliance returns like any other packet. Its options name no
/// endpoint (endpoint id 0) and carry the process's probe key as the attachment id, so the return
/// path tells a probe from traffic without a flow lookup; the echo's payload is a fresh random
/// token, which only a genuine return of this very probe has.
public enum DataPathProbe {
    public static let endpointID: UInt64 = 0
    /// Inner packet: IPv4 (20) + ICMP echo (8) + token (8) + marker (8).
    public static let innerLength = 44
    /// "gwlbprob": says what the packet is to anyone who captures it.
    static let marker: UInt64 = 0x6777_6C62_7072_6F62
    public static var datagramLength: Int { Geneve.baseLength + 3 * Geneve.optionHeaderLength + 8 + 8 + 4 + innerLength }

    /// Writes the probe datagram (the UDP payload) into `buffer`; returns its length.
    public static func write(into buffer: UnsafeMutableRawBufferPointer, address: IPv4Address, key: UInt64, sequence: UInt16,
                             token: UInt64) -> Int {
        let header = GeneveHeader.aws(protocolType: Geneve.protocolTypeIPv4, endpointID: endpointID, attachmentID: key, cookie: 0)
        header.write(to: buffer)
        let inner = UnsafeMutableRawBufferPointer(rebasing: buffer[header.encodedLength..<(header.encodedLength + innerLength)])
        IPv4Header(totalLength: UInt16(innerLength), protocol: .icmp, source: address, destination: address)
            .withComputedChecksum().write(to: inner)
        let icmp = UnsafeMutableRawBufferPointer(rebasing: inner[IPv4View.minimumLength...])
        icmp.setU8(ICMPHeader.echoRequestV4, at: 0)
        icmp.setU8(0, at: 1)
        icmp.setU16(0, at: 2)
        icmp.setU16(0x6777, at: 4)  // "gw"
        icmp.setU16(sequence, at: 6)
        icmp.setU64(token, at: 8)
        icmp.setU64(marker, at: 16)
        icmp.setU16(InternetChecksum.of(UnsafeRawBufferPointer(icmp)), at: 2)
        return header.encodedLength + innerLength
    }

    /// The token of a returned probe's inner packet, or nil when it is not one.
    public static func token(_ inner: UnsafeRawBufferPointer, summary: PacketSummary) -> UInt64? {
        guard summary.protocol == .icmp, summary.length == innerLength, summary.transportOffset == IPv4View.minimumLength,
              inner.count >= innerLength else { return nil }
        let icmp = inner.dropping(IPv4View.minimumLength)
        guard icmp.u8(0) == ICMPHeader.echoRequestV4, icmp.u64(16) == marker else { return nil }
        return icmp.u64(8)
    }
}
