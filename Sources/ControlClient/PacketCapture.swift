import ControlContract
import Foundation
#if canImport(Glibc)
import Glibc
#endif

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
                           progress: (String) -> Void = { _ in }, stop: () -> Bool = { false }) async throws -> Summary {
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~:"))
        let text = query.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed) ?? $0.1)" }.joined(separator: "&")
        var writer = PcapNGWriter()
        var geneveAddress = "0.0.0.0"
        var summary = Summary(captured: 0, lost: 0)
        var client = UnixHTTPClient(socketPath: socketPath, timeoutSeconds: 10)
        client.userAgent = "gwlb-capture"
        try await client.streamLines("/v1/capture?" + text) { line in
            guard !stop() else { return false }
            guard let decoded = try? ContractCoding.decode(CaptureLine.self, from: Data(line.utf8)) else { return true }
            switch decoded {
            case .start(_, let address):
                geneveAddress = address
                progress("capturing to \(path)")
            case .heartbeat:
                break
            case .end(_, let lost):
                summary.lost = lost
                return false
            case .packet(let captured):
                guard var packet = captured.bytes else { return true }
                var length = max(captured.length, packet.count)
                if captured.geneve, let appliance = captured.appliance {
                    // A GENEVE datagram's payload: give it the IPv4 and UDP headers it came with.
                    let headers = Self.ipv4UDPHeaders(from: appliance, to: geneveAddress, payloadLength: length)
                    packet = headers + packet
                    length += headers.count
                }
                writer.append(packet, nanoseconds: captured.time, originalLength: length, comment: captured.comment)
                summary.captured += 1
                progress(captured.comment)
            }
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
