/// What a received GENEVE packet says, as AWS GWLB defines it, read in place without allocating:
/// the per-packet half of the return path. Unknown non-critical options are skipped (they stay in
/// the packet untouched); options may come in any order.
public struct AWSGeneveMetadata: Hashable, Sendable {
    public var protocolType: UInt16
    public var endpointID: UInt64
    public var attachmentID: UInt64
    public var cookie: UInt32
    /// Offset of the inner packet in the GENEVE payload.
    public var innerOffset: Int

    /// The inner packet's IP version, from the protocol type.
    public var innerVersion: IPVersion { protocolType == Geneve.protocolTypeIPv6 ? .v6 : .v4 }

    /// Reads `payload` (the UDP payload) and applies the receiver rules of README "Connecting a real appliance": version 0,
    /// options within bounds, no control packets, no critical option we do not understand (nor any
    /// unknown option when the C bit is set), protocol type IPv4/IPv6, an inner packet whose version
    /// matches, and all three AWS options present.
    @inline(__always)
    public init(parsing payload: UnsafeRawBufferPointer) throws(WireError) {
        guard payload.count >= Geneve.baseLength else { throw .truncated }
        let first = payload.u8(0), flags = payload.u8(1)
        guard first >> 6 == 0 else { throw .badVersion }
        let end = Geneve.baseLength + Int(first & 0x3F) * 4
        guard end <= payload.count else { throw .optionOverrun }
        guard flags & 0x80 == 0 else { throw .controlPacket }
        let criticalFlag = flags & 0x40 != 0
        protocolType = payload.u16(2)
        let expectedVersion: UInt8
        switch protocolType {
        case Geneve.protocolTypeIPv4: expectedVersion = 4
        case Geneve.protocolTypeIPv6: expectedVersion = 6
        default: throw .unsupportedProtocolType
        }

        var found: UInt8 = 0
        var endpointID: UInt64 = 0, attachmentID: UInt64 = 0, cookie: UInt32 = 0
        var offset = Geneve.baseLength
        while offset < end {
            guard offset + Geneve.optionHeaderLength <= end else { throw .optionOverrun }
            let optionClass = payload.u16(offset)
            let type = payload.u8(offset + 2)
            let dataLength = Int(payload.u8(offset + 3) & 0x1F) * 4
            let data = offset + Geneve.optionHeaderLength
            guard data + dataLength <= end else { throw .optionOverrun }
            var understood = false
            if optionClass == Geneve.awsOptionClass {
                switch (type, dataLength) {
                case (Geneve.awsEndpointIDType, 8): endpointID = payload.u64(data); found |= 1; understood = true
                case (Geneve.awsAttachmentIDType, 8): attachmentID = payload.u64(data); found |= 2; understood = true
                case (Geneve.awsFlowCookieType, 4): cookie = payload.u32(data); found |= 4; understood = true
                default: break
                }
            }
            if !understood, criticalFlag || type & Geneve.criticalTypeBit != 0 { throw .unknownCriticalOption }
            offset = data + dataLength
        }
        guard end < payload.count else { throw .truncated }
        guard payload.u8(end) >> 4 == expectedVersion else { throw .innerVersionMismatch }
        guard found == 7 else { throw .missingAWSOption }
        self.endpointID = endpointID
        self.attachmentID = attachmentID
        self.cookie = cookie
        innerOffset = end
    }

    /// Writes AWS's 40-byte header (base header and the three options, in AWS's order) at the start
    /// of `buffer`: the per-packet half of the forward path, into the headroom before the inner packet.
    @inline(__always)
    public static func write(to buffer: UnsafeMutableRawBufferPointer, protocolType: UInt16,
                             endpointID: UInt64, attachmentID: UInt64, cookie: UInt32) {
        precondition(buffer.count >= Geneve.awsHeaderLength)
        // Safe: 40 bytes checked above; every store below ends at or before byte 40.
        buffer.setU32(0x0800_0000 | UInt32(protocolType), at: 0)  // version 0, 8 option words, O=C=0
        buffer.setU32(0, at: 4)                                      // VNI 0, reserved
        buffer.setU32(UInt32(Geneve.awsOptionClass) << 16 | UInt32(Geneve.awsEndpointIDType) << 8 | 2, at: 8)
        buffer.setU64(endpointID, at: 12)
        buffer.setU32(UInt32(Geneve.awsOptionClass) << 16 | UInt32(Geneve.awsAttachmentIDType) << 8 | 2, at: 20)
        buffer.setU64(attachmentID, at: 24)
        buffer.setU32(UInt32(Geneve.awsOptionClass) << 16 | UInt32(Geneve.awsFlowCookieType) << 8 | 1, at: 32)
        buffer.setU32(cookie, at: 36)
    }
}
