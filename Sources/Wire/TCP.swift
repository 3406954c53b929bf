//  RFC 9293 §3.1
//  |          Source Port          |       Destination Port        |
//  |                        Sequence Number                        |
//  |                    Acknowledgment Number                      |
//  |  Data |       |C|E|U|A|P|R|S|F|                               |
//  | Offset| Rsrvd |W|C|R|C|S|S|Y|I|            Window             |
//  |           Checksum            |         Urgent Pointer        |
//  |                           [Options]                           |

/// TCP control bits.
public struct TCPFlags: OptionSet, Hashable, Sendable {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let fin = TCPFlags(rawValue: 0x01)
    public static let syn = TCPFlags(rawValue: 0x02)
    public static let rst = TCPFlags(rawValue: 0x04)
    public static let psh = TCPFlags(rawValue: 0x08)
    public static let ack = TCPFlags(rawValue: 0x10)
    public static let urg = TCPFlags(rawValue: 0x20)
    public static let ece = TCPFlags(rawValue: 0x40)
    public static let cwr = TCPFlags(rawValue: 0x80)
}

/// A validated TCP header in place.
public struct TCPView {
    public static let minimumLength = 20
    public let bytes: UnsafeRawBufferPointer

    /// `segment` is the TCP header and payload.
    @inline(__always)
    public init(validating segment: UnsafeRawBufferPointer) throws(WireError) {
        guard segment.count >= Self.minimumLength else { throw .truncated }
        let dataOffset = Int(segment.u8(12) >> 4) * 4
        guard dataOffset >= Self.minimumLength, dataOffset <= segment.count else { throw .lengthMismatch }
        bytes = segment
    }

    public var sourcePort: UInt16 { bytes.u16(0) }
    public var destinationPort: UInt16 { bytes.u16(2) }
    public var sequenceNumber: UInt32 { bytes.u32(4) }
    public var acknowledgmentNumber: UInt32 { bytes.u32(8) }
    public var headerLength: Int { Int(bytes.u8(12) >> 4) * 4 }
    public var flags: TCPFlags { TCPFlags(rawValue: bytes.u8(13)) }
    public var window: UInt16 { bytes.u16(14) }
    public var checksum: UInt16 { bytes.u16(16) }
    public var payloadLength: Int { bytes.count - headerLength }
}

/// A TCP header as a value, options included (the payload is not part of it).
public struct TCPHeader: WireHeader {
    public var sourcePort: UInt16
    public var destinationPort: UInt16
    public var sequenceNumber: UInt32 = 0
    public var acknowledgmentNumber: UInt32 = 0
    /// The 4 reserved bits between data offset and flags, kept so writing is exact.
    public var reserved: UInt8 = 0
    public var flags: TCPFlags
    public var window: UInt16 = 0
    public var checksum: UInt16 = 0
    public var urgentPointer: UInt16 = 0
    /// Option bytes, a multiple of 4 long (at most 40).
    public var options: [UInt8] = []

    public init(sourcePort: UInt16, destinationPort: UInt16, flags: TCPFlags) {
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.flags = flags
    }

    public init(parsing bytes: UnsafeRawBufferPointer) throws(WireError) {
        let view = try TCPView(validating: bytes)
        sourcePort = view.sourcePort
        destinationPort = view.destinationPort
        sequenceNumber = view.sequenceNumber
        acknowledgmentNumber = view.acknowledgmentNumber
        reserved = bytes.u8(12) & 0x0F
        flags = view.flags
        window = view.window
        checksum = view.checksum
        urgentPointer = bytes.u16(18)
        options = Array(bytes[TCPView.minimumLength..<view.headerLength])
    }

    public var encodedLength: Int { TCPView.minimumLength + options.count }

    public func write(to buffer: UnsafeMutableRawBufferPointer) {
        precondition(options.count % 4 == 0 && options.count <= 40, "TCP options must be 0-40 bytes in words")
        buffer.setU16(sourcePort, at: 0)
        buffer.setU16(destinationPort, at: 2)
        buffer.setU32(sequenceNumber, at: 4)
        buffer.setU32(acknowledgmentNumber, at: 8)
        buffer.setU8(UInt8(encodedLength / 4) << 4 | reserved & 0x0F, at: 12)
        buffer.setU8(flags.rawValue, at: 13)
        buffer.setU16(window, at: 14)
        buffer.setU16(checksum, at: 16)
        buffer.setU16(urgentPointer, at: 18)
        buffer.copy(options, at: TCPView.minimumLength)
    }
}
