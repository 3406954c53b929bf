//  RFC 8926 §3.4 base header and §3.5 options
//  |Ver|  Opt Len  |O|C|    Rsvd.  |          Protocol Type        |
//  |        Virtual Network Identifier (VNI)       |    Reserved   |
//  |                    Variable-Length Options                    |
//  option:
//  |          Option Class         |      Type     |R|R|R| Length  |
//  |                 Variable-Length Option Data                   |
//  Opt Len and Length count 4-byte words; the option Length excludes the option's own header.

/// GENEVE numbers from the RFC and from AWS Gateway Load Balancer's wire format.
public enum Geneve {
    public static let udpPort: UInt16 = 6081
    public static let baseLength = 8
    public static let optionHeaderLength = 4
    /// The largest option block Opt Len can express (63 words).
    public static let maximumOptionsLength = 63 * 4
    public static let protocolTypeIPv4: UInt16 = 0x0800
    public static let protocolTypeIPv6: UInt16 = 0x86DD
    /// Type bit that marks an option critical (RFC 8926 §3.5).
    public static let criticalTypeBit: UInt8 = 0x80

    /// AWS GWLB's option class and types (README "Connecting a real appliance").
    public static let awsOptionClass: UInt16 = 0x0108
    public static let awsEndpointIDType: UInt8 = 0x01
    public static let awsAttachmentIDType: UInt8 = 0x02
    public static let awsFlowCookieType: UInt8 = 0x03
    /// Base header plus AWS's three options: 8 + 12 + 12 + 8.
    public static let awsHeaderLength = 40
    /// Outer IPv4 + UDP + GENEVE with AWS's options: the 68 bytes gwlb adds to every packet.
    public static let awsOverhead = OuterIPv4UDPHeader.length + awsHeaderLength
}

/// One GENEVE option as a value.
public struct GeneveOption: Hashable, Sendable {
    public var optionClass: UInt16
    public var type: UInt8
    /// The three reserved bits, kept so that writing is exact.
    public var reservedBits: UInt8 = 0
    /// Option data, a multiple of 4 bytes, at most 124.
    public var data: [UInt8]

    public init(optionClass: UInt16, type: UInt8, reservedBits: UInt8 = 0, data: [UInt8]) {
        self.optionClass = optionClass
        self.type = type
        self.reservedBits = reservedBits
        self.data = data
    }

    public var isCritical: Bool { type & Geneve.criticalTypeBit != 0 }
    public var encodedLength: Int { Geneve.optionHeaderLength + data.count }

    public static func endpointID(_ id: UInt64) -> GeneveOption {
        GeneveOption(optionClass: Geneve.awsOptionClass, type: Geneve.awsEndpointIDType, data: bigEndianBytes(id))
    }

    public static func attachmentID(_ id: UInt64) -> GeneveOption {
        GeneveOption(optionClass: Geneve.awsOptionClass, type: Geneve.awsAttachmentIDType, data: bigEndianBytes(id))
    }

    public static func flowCookie(_ cookie: UInt32) -> GeneveOption {
        GeneveOption(optionClass: Geneve.awsOptionClass, type: Geneve.awsFlowCookieType,
                     data: bigEndianBytes(UInt64(cookie)).suffix(4))
    }

    private static func bigEndianBytes(_ value: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: value >> (56 - 8 * $0)) }
    }
}

/// A GENEVE header as a value: base header and options in wire order, unknown ones included.
/// Parsing checks structure only (version, lengths); what to accept is the receiver's policy
/// (`AWSGeneveMetadata`).
public struct GeneveHeader: WireHeader {
    public var isControl: Bool = false
    public var hasCriticalOptions: Bool = false
    /// The six reserved bits after O and C.
    public var reservedFlags: UInt8 = 0
    public var protocolType: UInt16
    /// 24 bits.
    public var vni: UInt32 = 0
    public var reserved: UInt8 = 0
    public var options: [GeneveOption] = []

    public init(protocolType: UInt16, options: [GeneveOption] = []) {
        self.protocolType = protocolType
        self.options = options
    }

    /// AWS's header: endpoint id, attachment id and flow cookie, in AWS's order.
    public static func aws(protocolType: UInt16, endpointID: UInt64, attachmentID: UInt64,
                           cookie: UInt32) -> GeneveHeader {
        GeneveHeader(protocolType: protocolType,
                     options: [.endpointID(endpointID), .attachmentID(attachmentID), .flowCookie(cookie)])
    }

    public init(parsing bytes: UnsafeRawBufferPointer) throws(WireError) {
        guard bytes.count >= Geneve.baseLength else { throw .truncated }
        guard bytes.u8(0) >> 6 == 0 else { throw .badVersion }
        let end = Geneve.baseLength + Int(bytes.u8(0) & 0x3F) * 4
        guard end <= bytes.count else { throw .optionOverrun }
        isControl = bytes.u8(1) & 0x80 != 0
        hasCriticalOptions = bytes.u8(1) & 0x40 != 0
        reservedFlags = bytes.u8(1) & 0x3F
        protocolType = bytes.u16(2)
        vni = bytes.u32(4) >> 8
        reserved = bytes.u8(7)
        var offset = Geneve.baseLength
        while offset < end {
            guard offset + Geneve.optionHeaderLength <= end else { throw .optionOverrun }
            let dataLength = Int(bytes.u8(offset + 3) & 0x1F) * 4
            let dataStart = offset + Geneve.optionHeaderLength
            guard dataStart + dataLength <= end else { throw .optionOverrun }
            options.append(GeneveOption(optionClass: bytes.u16(offset), type: bytes.u8(offset + 2),
                                        reservedBits: bytes.u8(offset + 3) >> 5,
                                        data: Array(bytes[dataStart..<(dataStart + dataLength)])))
            offset = dataStart + dataLength
        }
    }

    public var encodedLength: Int { Geneve.baseLength + options.reduce(0) { $0 + $1.encodedLength } }

    public func write(to buffer: UnsafeMutableRawBufferPointer) {
        let optionsLength = encodedLength - Geneve.baseLength
        precondition(optionsLength <= Geneve.maximumOptionsLength, "GENEVE options exceed 252 bytes")
        buffer.setU8(UInt8(optionsLength / 4), at: 0)
        buffer.setU8((isControl ? 0x80 : 0) | (hasCriticalOptions ? 0x40 : 0) | reservedFlags & 0x3F, at: 1)
        buffer.setU16(protocolType, at: 2)
        buffer.setU32(vni << 8 | UInt32(reserved), at: 4)
        var offset = Geneve.baseLength
        for option in options {
            precondition(option.data.count % 4 == 0 && option.data.count <= 124, "GENEVE option data must be 0-124 bytes in words")
            buffer.setU16(option.optionClass, at: offset)
            buffer.setU8(option.type, at: offset + 2)
            buffer.setU8(option.reservedBits << 5 | UInt8(option.data.count / 4), at: offset + 3)
            buffer.copy(option.data, at: offset + Geneve.optionHeaderLength)
            offset += option.encodedLength
        }
    }

    /// The first AWS option of `type`, if present.
    public func awsOption(_ type: UInt8) -> GeneveOption? {
        options.first { $0.optionClass == Geneve.awsOptionClass && $0.type == type }
    }
}
