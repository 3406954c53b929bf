//  RFC 768
//  |          Source Port          |       Destination Port        |
//  |            Length             |           Checksum            |

/// A validated UDP header in place; `bytes` is cut to the UDP length.
public struct UDPView {
    public static let length = 8
    public let bytes: UnsafeRawBufferPointer

    /// `datagram` is the UDP header and payload as the IP layer delivered them.
    @inline(__always)
    public init(validating datagram: UnsafeRawBufferPointer) throws(WireError) {
        let header = try UDPView(validatingHeader: datagram)
        guard header.length <= datagram.count else { throw .lengthMismatch }
        bytes = datagram.prefix(upTo: header.length)
    }

    /// Checks the 8-byte header alone; the payload need not be present.
    @inline(__always)
    public init(validatingHeader header: UnsafeRawBufferPointer) throws(WireError) {
        guard header.count >= Self.length else { throw .truncated }
        guard Int(header.u16(4)) >= Self.length else { throw .lengthMismatch }
        bytes = header
    }

    public var sourcePort: UInt16 { bytes.u16(0) }
    public var destinationPort: UInt16 { bytes.u16(2) }
    public var length: Int { Int(bytes.u16(4)) }
    public var checksum: UInt16 { bytes.u16(6) }
    public var payload: UnsafeRawBufferPointer { bytes.dropping(Self.length) }
}

/// A UDP header as a value.
public struct UDPHeader: WireHeader {
    public var sourcePort: UInt16
    public var destinationPort: UInt16
    public var length: UInt16
    public var checksum: UInt16 = 0

    public init(sourcePort: UInt16, destinationPort: UInt16, length: UInt16, checksum: UInt16 = 0) {
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.length = length
        self.checksum = checksum
    }

    public init(parsing bytes: UnsafeRawBufferPointer) throws(WireError) {
        let view = try UDPView(validatingHeader: bytes)
        self.init(sourcePort: view.sourcePort, destinationPort: view.destinationPort,
                  length: UInt16(view.length), checksum: view.checksum)
    }

    public var encodedLength: Int { UDPView.length }

    public func write(to buffer: UnsafeMutableRawBufferPointer) {
        buffer.setU16(sourcePort, at: 0)
        buffer.setU16(destinationPort, at: 2)
        buffer.setU16(length, at: 4)
        buffer.setU16(checksum, at: 6)
    }
}
