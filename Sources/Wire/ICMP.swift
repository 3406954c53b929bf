//  RFC 792 (ICMP) and RFC 4443 §2.1 (ICMPv6) share the first 8 bytes:
//  |     Type      |     Code      |          Checksum             |
//  |     Identifier (echo)         |      Sequence Number (echo)   |

/// A validated ICMP or ICMPv6 header in place (the two share this layout).
public struct ICMPView {
    public static let length = 8
    public let bytes: UnsafeRawBufferPointer

    @inline(__always)
    public init(validating message: UnsafeRawBufferPointer) throws(WireError) {
        guard message.count >= Self.length else { throw .truncated }
        bytes = message
    }

    public var type: UInt8 { bytes.u8(0) }
    public var code: UInt8 { bytes.u8(1) }
    public var checksum: UInt16 { bytes.u16(2) }
    /// The echo identifier; only meaningful when `ICMPHeader.isEcho` says so.
    public var identifier: UInt16 { bytes.u16(4) }
    public var sequenceNumber: UInt16 { bytes.u16(6) }
}

/// An ICMP or ICMPv6 header as a value: the first 8 bytes of the message.
public struct ICMPHeader: WireHeader {
    public var type: UInt8
    public var code: UInt8
    public var checksum: UInt16 = 0
    /// Bytes 4–7: identifier and sequence for echo, other meanings for other types.
    public var restOfHeader: UInt32 = 0

    public static let echoReplyV4: UInt8 = 0
    public static let echoRequestV4: UInt8 = 8
    public static let echoRequestV6: UInt8 = 128
    public static let echoReplyV6: UInt8 = 129

    public init(type: UInt8, code: UInt8, checksum: UInt16 = 0, restOfHeader: UInt32 = 0) {
        self.type = type
        self.code = code
        self.checksum = checksum
        self.restOfHeader = restOfHeader
    }

    public init(parsing bytes: UnsafeRawBufferPointer) throws(WireError) {
        let view = try ICMPView(validating: bytes)
        self.init(type: view.type, code: view.code, checksum: view.checksum, restOfHeader: bytes.u32(4))
    }

    /// Echo request or reply of the given protocol (ICMP or ICMPv6).
    public static func isEcho(type: UInt8, protocol proto: IPProtocol) -> Bool {
        proto == .icmpv6 ? (type == echoRequestV6 || type == echoReplyV6)
            : (type == echoRequestV4 || type == echoReplyV4)
    }

    public var identifier: UInt16 { UInt16(truncatingIfNeeded: restOfHeader >> 16) }
    public var sequenceNumber: UInt16 { UInt16(truncatingIfNeeded: restOfHeader) }

    public var encodedLength: Int { ICMPView.length }

    public func write(to buffer: UnsafeMutableRawBufferPointer) {
        buffer.setU8(type, at: 0)
        buffer.setU8(code, at: 1)
        buffer.setU16(checksum, at: 2)
        buffer.setU32(restOfHeader, at: 4)
    }
}
