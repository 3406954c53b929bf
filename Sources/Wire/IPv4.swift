//  RFC 791 §3.1
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |Version|  IHL  |Type of Service|          Total Length         |
//  |         Identification        |Flags|      Fragment Offset    |
//  |  Time to Live |    Protocol   |         Header Checksum       |
//  |                       Source Address                          |
//  |                    Destination Address                        |
//  |                    Options                    |    Padding    |

/// A validated IPv4 header in place. `bytes` is exactly the packet (total length), so the
/// payload is everything after the header.
public struct IPv4View {
    public static let minimumLength = 20
    public let bytes: UnsafeRawBufferPointer

    /// Checks version, IHL and total length against `packet`; trailing bytes beyond the total
    /// length are cut off (link-layer padding), never read.
    @inline(__always)
    public init(validating packet: UnsafeRawBufferPointer) throws(WireError) {
        let header = try IPv4View(validatingHeader: packet)
        guard header.totalLength <= packet.count else { throw .lengthMismatch }
        bytes = packet.prefix(upTo: header.totalLength)
    }

    /// Checks the header alone (version, IHL, a total length that covers the header); the payload
    /// need not be present. `bytes` is all of `header`.
    @inline(__always)
    public init(validatingHeader header: UnsafeRawBufferPointer) throws(WireError) {
        guard header.count >= Self.minimumLength else { throw .truncated }
        guard header.u8(0) >> 4 == 4 else { throw .badVersion }
        let headerLength = Int(header.u8(0) & 0x0F) * 4
        guard headerLength >= Self.minimumLength, headerLength <= header.count else { throw .badIHL }
        guard Int(header.u16(2)) >= headerLength else { throw .lengthMismatch }
        bytes = header
    }

    public var headerLength: Int { Int(bytes.u8(0) & 0x0F) * 4 }
    public var typeOfService: UInt8 { bytes.u8(1) }
    public var totalLength: Int { Int(bytes.u16(2)) }
    public var identification: UInt16 { bytes.u16(4) }
    public var dontFragment: Bool { bytes.u8(6) & 0x40 != 0 }
    public var moreFragments: Bool { bytes.u8(6) & 0x20 != 0 }
    /// In 8-byte units.
    public var fragmentOffset: UInt16 { bytes.u16(6) & 0x1FFF }
    /// Any fragment, first or later: its transport header may be missing or partial.
    public var isFragment: Bool { bytes.u16(6) & 0x3FFF != 0 }
    public var timeToLive: UInt8 { bytes.u8(8) }
    public var `protocol`: IPProtocol { IPProtocol(rawValue: bytes.u8(9)) }
    public var checksum: UInt16 { bytes.u16(10) }
    public var source: IPv4Address { IPv4Address(rawValue: bytes.u32(12)) }
    public var destination: IPv4Address { IPv4Address(rawValue: bytes.u32(16)) }
    public var payload: UnsafeRawBufferPointer { bytes.dropping(headerLength) }
}

/// An IPv4 header as a value, options included. `write(to:)` writes the stored checksum; call
/// `withComputedChecksum()` for a header you built.
public struct IPv4Header: WireHeader {
    public var typeOfService: UInt8 = 0
    public var totalLength: UInt16
    public var identification: UInt16 = 0
    /// The three flag bits (reserved, DF, MF) in the low bits.
    public var flags: UInt8 = 0
    public var fragmentOffset: UInt16 = 0
    public var timeToLive: UInt8 = 64
    public var `protocol`: IPProtocol
    public var checksum: UInt16 = 0
    public var source: IPv4Address
    public var destination: IPv4Address
    /// Option bytes, a multiple of 4 long (at most 40).
    public var options: [UInt8] = []

    public static let dontFragmentFlag: UInt8 = 0b010
    public static let moreFragmentsFlag: UInt8 = 0b001

    public init(totalLength: UInt16, protocol proto: IPProtocol, source: IPv4Address,
                destination: IPv4Address) {
        self.totalLength = totalLength
        self.protocol = proto
        self.source = source
        self.destination = destination
    }

    public init(parsing bytes: UnsafeRawBufferPointer) throws(WireError) {
        let view = try IPv4View(validatingHeader: bytes)
        typeOfService = view.typeOfService
        totalLength = UInt16(view.totalLength)
        identification = view.identification
        flags = view.bytes.u8(6) >> 5
        fragmentOffset = view.fragmentOffset
        timeToLive = view.timeToLive
        self.protocol = view.protocol
        checksum = view.checksum
        source = view.source
        destination = view.destination
        options = Array(view.bytes[IPv4View.minimumLength..<view.headerLength])
    }

    public var encodedLength: Int { IPv4View.minimumLength + options.count }

    public func write(to buffer: UnsafeMutableRawBufferPointer) {
        precondition(options.count % 4 == 0 && options.count <= 40, "IPv4 options must be 0-40 bytes in words")
        buffer.setU8(0x40 | UInt8(encodedLength / 4), at: 0)
        buffer.setU8(typeOfService, at: 1)
        buffer.setU16(totalLength, at: 2)
        buffer.setU16(identification, at: 4)
        buffer.setU16(UInt16(flags & 0b111) << 13 | fragmentOffset & 0x1FFF, at: 6)
        buffer.setU8(timeToLive, at: 8)
        buffer.setU8(self.protocol.rawValue, at: 9)
        buffer.setU16(checksum, at: 10)
        buffer.setU32(source.rawValue, at: 12)
        buffer.setU32(destination.rawValue, at: 16)
        buffer.copy(options, at: IPv4View.minimumLength)
    }

    /// This header with its checksum field computed over its own bytes.
    public func withComputedChecksum() -> IPv4Header {
        var header = self
        header.checksum = 0
        header.checksum = header.bytes.withUnsafeBytes { InternetChecksum.of($0) }
        return header
    }
}
