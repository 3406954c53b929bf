import Foundation

/// A pcapng file (the format tshark and Wireshark read): a section header, one interface of raw
/// IP packets with nanosecond timestamps, and an enhanced packet block per packet, each with a
/// comment (why it was captured: the drop reason, or the target it went to or came from).
public struct PcapNGWriter {
    /// LINKTYPE_RAW: each packet starts with its IPv4 or IPv6 header.
    static let linkTypeRaw: UInt16 = 101
    public private(set) var data = Data()

    public init(snapLength: UInt32 = 9216) {
        // Section header block: byte-order magic, version 1.0, section length unknown.
        var section = Data()
        section.append(le32(0x1A2B_3C4D))
        section.append(le16(1))
        section.append(le16(0))
        section.append(le64(UInt64.max))
        appendBlock(type: 0x0A0D_0D0A, body: section)
        // Interface description block, with if_tsresol = 9 (nanoseconds).
        var interface = Data()
        interface.append(le16(Self.linkTypeRaw))
        interface.append(le16(0))
        interface.append(le32(snapLength))
        interface.append(Self.option(9, Data([9])))
        interface.append(Self.option(0, Data()))
        appendBlock(type: 1, body: interface)
    }

    /// Adds a packet captured at `nanoseconds` since 1970, `originalLength` long on the wire.
    public mutating func append(_ packet: [UInt8], nanoseconds: Int64, originalLength: Int, comment: String) {
        var body = Data()
        body.append(le32(0))
        let time = UInt64(max(nanoseconds, 0))
        body.append(le32(UInt32(time >> 32)))
        body.append(le32(UInt32(truncatingIfNeeded: time)))
        body.append(le32(UInt32(packet.count)))
        body.append(le32(UInt32(max(originalLength, packet.count))))
        body.append(contentsOf: packet)
        body.append(Data(count: (4 - packet.count % 4) % 4))
        body.append(Self.option(1, Data(comment.utf8)))
        body.append(Self.option(0, Data()))
        appendBlock(type: 6, body: body)
    }

    private mutating func appendBlock(type: UInt32, body: Data) {
        let length = UInt32(12 + body.count)
        data.append(le32(type))
        data.append(le32(length))
        data.append(body)
        data.append(le32(length))
    }

    /// An option: code, length, value padded to 32 bits.
    static func option(_ code: UInt16, _ value: Data) -> Data {
        var option = le16(code) + le16(UInt16(value.count)) + value
        option.append(Data(count: (4 - value.count % 4) % 4))
        return option
    }
}

private func le16(_ value: UInt16) -> Data { withUnsafeBytes(of: value.littleEndian) { Data($0) } }
private func le32(_ value: UInt32) -> Data { withUnsafeBytes(of: value.littleEndian) { Data($0) } }
private func le64(_ value: UInt64) -> Data { withUnsafeBytes(of: value.littleEndian) { Data($0) } }
