/// The header a TUN device opened with `IFF_VNET_HDR` puts before every packet (Linux's
/// `struct virtio_net_hdr`, 10 bytes, little-endian as on every host gwlb runs on). It says
/// whether the packet is a super-packet the kernel did not segment (`gsoType`, `gsoSize`) and
/// whether its transport checksum is left to fill (`needsChecksum`: the field at
/// `checksumStart + checksumOffset` holds the pseudo-header sum, the rest is to be summed).
public struct VirtioNetHeader: Hashable, Sendable {
    public static let length = 10

    public static let flagNeedsChecksum: UInt8 = 1
    /// `gsoType` values (`VIRTIO_NET_HDR_GSO_*`).
    public static let gsoNone: UInt8 = 0
    public static let gsoTCPv4: UInt8 = 1
    public static let gsoTCPv6: UInt8 = 4
    public static let gsoUDPL4: UInt8 = 5
    public static let gsoECN: UInt8 = 0x80

    public var flags: UInt8 = 0
    public var gsoType: UInt8 = VirtioNetHeader.gsoNone
    /// Length of the headers every segment repeats (a hint: gwlb recomputes it).
    public var headerLength: UInt16 = 0
    /// Payload bytes per segment.
    public var gsoSize: UInt16 = 0
    public var checksumStart: UInt16 = 0
    public var checksumOffset: UInt16 = 0

    public init(flags: UInt8 = 0, gsoType: UInt8 = VirtioNetHeader.gsoNone, headerLength: UInt16 = 0, gsoSize: UInt16 = 0,
                checksumStart: UInt16 = 0, checksumOffset: UInt16 = 0) {
        self.flags = flags
        self.gsoType = gsoType
        self.headerLength = headerLength
        self.gsoSize = gsoSize
        self.checksumStart = checksumStart
        self.checksumOffset = checksumOffset
    }

    /// A complete packet: nothing to segment, nothing to sum.
    public static let plain = VirtioNetHeader()

    public var needsChecksum: Bool { flags & Self.flagNeedsChecksum != 0 }
    /// The segmentation type without the ECN bit.
    public var segmentation: UInt8 { gsoType & ~Self.gsoECN }

    public init(reading bytes: UnsafeRawBufferPointer) throws(WireError) {
        guard bytes.count >= Self.length else { throw .truncated }
        flags = bytes.u8(0)
        gsoType = bytes.u8(1)
        headerLength = bytes.u16le(2)
        gsoSize = bytes.u16le(4)
        checksumStart = bytes.u16le(6)
        checksumOffset = bytes.u16le(8)
    }

    public func write(to bytes: UnsafeMutableRawBufferPointer) {
        bytes.setU8(flags, at: 0)
        bytes.setU8(gsoType, at: 1)
        bytes.setU16le(headerLength, at: 2)
        bytes.setU16le(gsoSize, at: 4)
        bytes.setU16le(checksumStart, at: 6)
        bytes.setU16le(checksumOffset, at: 8)
    }
}

extension UnsafeRawBufferPointer {
    @inline(__always)
    func u16le(_ offset: Int) -> UInt16 {
        assert(offset + 2 <= count)
        // Safe: callers validated `offset + 2 <= count`.
        return UInt16(littleEndian: loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }
}

extension UnsafeMutableRawBufferPointer {
    @inline(__always)
    func setU16le(_ value: UInt16, at offset: Int) {
        precondition(offset + 2 <= count)
        storeBytes(of: value.littleEndian, toByteOffset: offset, as: UInt16.self)
    }
}
