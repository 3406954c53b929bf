import Foundation
#if canImport(Glibc)
import Glibc
#endif

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

/// `gwlb capture`: reads gwlbd's /v1/capture stream into a pcapng file.
public enum PacketCapture {
    public struct Summary: Sendable {
        public var captured: Int
        public var lost: Int
    }

    /// Captures into `path`; `query` is /v1/capture's (drops=1, or address/port; count; duration).
    /// `progress` hears about each packet (a line for the terminal).
    /// `stop` is asked at each line (a heartbeat comes every second): true ends the capture early.
    public static func run(socketPath: String, query: [(String, String)], path: String, exclusive: Bool = false,
                           progress: (String) -> Void = { _ in }, stop: () -> Bool = { false }) throws -> Summary {
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~:"))
        let text = query.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed) ?? $0.1)" }.joined(separator: "&")
        var writer = PcapNGWriter()
        var geneveAddress = "0.0.0.0"
        var summary = Summary(captured: 0, lost: 0)
        var client = UnixHTTPClient(socketPath: socketPath, timeoutSeconds: 10)
        client.userAgent = "gwlb-capture"
        try client.streamLines("/v1/capture?" + text) { line in
            guard !stop() else { return false }
            guard let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else { return true }
            if let address = object["geneveAddress"] as? String {
                geneveAddress = address
                progress("capturing to \(path)")
            }
            if object["end"] as? Bool == true {
                summary.lost = object["lost"] as? Int ?? 0
                return false
            }
            guard let encoded = object["data"] as? String, let bytes = Data(base64Encoded: encoded) else { return true }
            var packet = [UInt8](bytes)
            var length = object["length"] as? Int ?? packet.count
            if object["geneve"] as? Bool == true, let appliance = object["appliance"] as? String {
                // A GENEVE datagram's payload: give it the IPv4 and UDP headers it came with.
                let headers = Self.ipv4UDPHeaders(from: appliance, to: geneveAddress, payloadLength: length)
                packet = headers + packet
                length += headers.count
            }
            let comment = Self.comment(object)
            writer.append(packet, nanoseconds: (object["time"] as? Int).map(Int64.init) ?? 0, originalLength: length, comment: comment)
            summary.captured += 1
            progress(comment)
            return true
        }
        try Self.write(writer.data, to: path, exclusive: exclusive)
        return summary
    }

    /// Writes a capture readable by its owner only (0600), never through a link; `exclusive`: only
    /// into a file that did not exist (the console names its own files, so one planted there by
    /// someone else is refused rather than written into).
    static func write(_ data: Data, to path: String, exclusive: Bool) throws {
        let flags = O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | (exclusive ? O_EXCL : O_TRUNC)
        let fd = open(path, flags, 0o600)
        guard fd >= 0 else {
            throw UnixHTTPClient.ConnectionError(description: "cannot write the capture \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        let written = data.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        guard written == data.count else {
            throw UnixHTTPClient.ConnectionError(description: "cannot write the capture \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// What a packet's comment says: `drop: oversize`, `drop: bad_geneve (truncated)`, `to target 198.18.1.11`.
    static func comment(_ object: [String: Any]) -> String {
        switch object["event"] as? String {
        case "drop":
            let detail = (object["detail"] as? String).map { " (\($0))" } ?? ""
            let from = (object["appliance"] as? String).map { ", from appliance \($0)" } ?? ""
            return "drop: \(object["reason"] as? String ?? "?")\(detail)\(from)"
        case "to_target": return "to target \(object["target"] as? String ?? "?")"
        case "from_target": return "from target \(object["target"] as? String ?? "?")"
        default: return ""
        }
    }

    /// IPv4 (checksummed) and UDP (no checksum, as IPv4 allows) headers from `source` to `destination`, port 6081 both.
    static func ipv4UDPHeaders(from source: String, to destination: String, payloadLength: Int) -> [UInt8] {
        func octets(_ text: String) -> [UInt8] {
            let parts = text.split(separator: ".").compactMap { UInt8($0) }
            return parts.count == 4 ? parts : [0, 0, 0, 0]
        }
        let total = 20 + 8 + payloadLength
        var header: [UInt8] = [0x45, 0, UInt8(total >> 8 & 0xFF), UInt8(total & 0xFF), 0, 0, 0x40, 0, 64, 17, 0, 0]
        header += octets(source) + octets(destination)
        var sum = 0
        for index in stride(from: 0, to: 20, by: 2) { sum += Int(header[index]) << 8 | Int(header[index + 1]) }
        while sum > 0xFFFF { sum = (sum & 0xFFFF) + (sum >> 16) }
        let checksum = ~UInt16(sum)
        header[10] = UInt8(checksum >> 8)
        header[11] = UInt8(checksum & 0xFF)
        let udpLength = 8 + payloadLength
        return header + [0x17, 0xC1, 0x17, 0xC1, UInt8(udpLength >> 8 & 0xFF), UInt8(udpLength & 0xFF), 0, 0]
    }
}
