//  RFC 8200 §3
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |Version| Traffic Class |           Flow Label                  |
//  |         Payload Length        |  Next Header  |   Hop Limit   |
//  |                         Source Address (16)                   |
//  |                      Destination Address (16)                 |
//  then extension headers (§4), each starting with its Next Header byte.

/// Where the upper-layer header of an IPv6 packet starts, after the extension headers.
public struct IPv6UpperLayer: Hashable, Sendable {
    public var `protocol`: IPProtocol
    /// Offset of the upper-layer header from the start of the packet.
    public var offset: Int
    /// The packet carries a Fragment header (first or later fragment).
    public var isFragment: Bool
    /// A fragment other than the first: no upper-layer header at all.
    public var isLaterFragment: Bool
}

/// A validated IPv6 packet in place; `bytes` is cut to 40 + payload length.
public struct IPv6View {
    public static let fixedLength = 40
    /// More extension headers than this is an attack, not a packet (RFC 8200 §4.1 allows each
    /// kind once, destination options twice).
    public static let maximumExtensionHeaders = 8
    public let bytes: UnsafeRawBufferPointer

    @inline(__always)
    public init(validating packet: UnsafeRawBufferPointer) throws(WireError) {
        let header = try IPv6View(validatingHeader: packet)
        let total = Self.fixedLength + header.payloadLength
        guard total <= packet.count else { throw .lengthMismatch }
        bytes = packet.prefix(upTo: total)
    }

    /// Checks the fixed header alone; the payload need not be present. `bytes` is all of `header`,
    /// so `upperLayer()` walks the extension headers that are there.
    @inline(__always)
    public init(validatingHeader header: UnsafeRawBufferPointer) throws(WireError) {
        guard header.count >= Self.fixedLength else { throw .truncated }
        guard header.u8(0) >> 4 == 6 else { throw .badVersion }
        bytes = header
    }

    public var trafficClass: UInt8 { UInt8(truncatingIfNeeded: bytes.u16(0) >> 4) }
    public var flowLabel: UInt32 { bytes.u32(0) & 0xF_FFFF }
    public var payloadLength: Int { Int(bytes.u16(4)) }
    public var nextHeader: IPProtocol { IPProtocol(rawValue: bytes.u8(6)) }
    public var hopLimit: UInt8 { bytes.u8(7) }
    public var source: IPv6Address { bytes.ipv6Address(8) }
    public var destination: IPv6Address { bytes.ipv6Address(24) }

    /// Walks hop-by-hop, routing, destination-options, fragment and AH headers to the upper layer.
    @inline(__always)
    public func upperLayer() throws(WireError) -> IPv6UpperLayer {
        var proto = nextHeader
        var offset = Self.fixedLength
        var isFragment = false
        for _ in 0...Self.maximumExtensionHeaders {
            let length: Int
            switch proto {
            case .hopByHop, .ipv6Routing, .ipv6DestinationOptions:
                guard offset + 2 <= bytes.count else { throw .optionOverrun }
                length = (Int(bytes.u8(offset + 1)) + 1) * 8
            case .ah:
                guard offset + 2 <= bytes.count else { throw .optionOverrun }
                length = (Int(bytes.u8(offset + 1)) + 2) * 4
            case .ipv6Fragment:
                guard offset + 8 <= bytes.count else { throw .optionOverrun }
                isFragment = true
                let offsetAndFlags = bytes.u16(offset + 2)
                if offsetAndFlags & 0xFFF8 != 0 {
                    // A later fragment: what follows is payload, not a header.
                    return IPv6UpperLayer(protocol: IPProtocol(rawValue: bytes.u8(offset)),
                                          offset: offset + 8, isFragment: true, isLaterFragment: true)
                }
                length = 8
            default:
                return IPv6UpperLayer(protocol: proto, offset: offset, isFragment: isFragment,
                                      isLaterFragment: false)
            }
            guard offset + length <= bytes.count else { throw .optionOverrun }
            proto = IPProtocol(rawValue: bytes.u8(offset))
            offset += length
        }
        throw .tooManyExtensionHeaders
    }
}

/// One IPv6 extension header, kept as its bytes (its own Next Header byte included).
public struct IPv6ExtensionHeader: Hashable, Sendable {
    /// What this header is (the Next Header value that pointed at it).
    public var kind: IPProtocol
    public var bytes: [UInt8]

    public init(kind: IPProtocol, bytes: [UInt8]) {
        self.kind = kind
        self.bytes = bytes
    }
}

/// An IPv6 header as a value, with the extension headers up to the upper layer.
public struct IPv6Header: WireHeader {
    public var trafficClass: UInt8 = 0
    public var flowLabel: UInt32 = 0
    public var payloadLength: UInt16
    public var nextHeader: IPProtocol
    public var hopLimit: UInt8 = 64
    public var source: IPv6Address
    public var destination: IPv6Address
    public var extensionHeaders: [IPv6ExtensionHeader] = []

    public init(payloadLength: UInt16, nextHeader: IPProtocol, source: IPv6Address,
                destination: IPv6Address) {
        self.payloadLength = payloadLength
        self.nextHeader = nextHeader
        self.source = source
        self.destination = destination
    }

    public init(parsing bytes: UnsafeRawBufferPointer) throws(WireError) {
        let view = try IPv6View(validatingHeader: bytes)
        let upper = try view.upperLayer()
        trafficClass = view.trafficClass
        flowLabel = view.flowLabel
        payloadLength = UInt16(view.payloadLength)
        nextHeader = view.nextHeader
        hopLimit = view.hopLimit
        source = view.source
        destination = view.destination
        // Re-walk to cut the chain into headers; upperLayer() already validated every length.
        var kind = nextHeader
        var offset = IPv6View.fixedLength
        while offset < upper.offset {
            let length: Int = switch kind {
            case .ipv6Fragment: 8
            case .ah: (Int(view.bytes.u8(offset + 1)) + 2) * 4
            default: (Int(view.bytes.u8(offset + 1)) + 1) * 8
            }
            extensionHeaders.append(IPv6ExtensionHeader(kind: kind, bytes: Array(view.bytes[offset..<(offset + length)])))
            kind = IPProtocol(rawValue: view.bytes.u8(offset))
            offset += length
        }
    }

    public var encodedLength: Int { IPv6View.fixedLength + extensionHeaders.reduce(0) { $0 + $1.bytes.count } }

    public func write(to buffer: UnsafeMutableRawBufferPointer) {
        buffer.setU32(6 << 28 | UInt32(trafficClass) << 20 | flowLabel & 0xF_FFFF, at: 0)
        buffer.setU16(payloadLength, at: 4)
        buffer.setU8(nextHeader.rawValue, at: 6)
        buffer.setU8(hopLimit, at: 7)
        buffer.setIPv6Address(source, at: 8)
        buffer.setIPv6Address(destination, at: 24)
        var offset = IPv6View.fixedLength
        for header in extensionHeaders {
            buffer.copy(header.bytes, at: offset)
            offset += header.bytes.count
        }
    }
}
