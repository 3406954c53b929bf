import Foundation
import TestSupport
import Wire

/// A starting corpus per target, from the tests' vectors and builders: the fuzzer mutates valid
/// inputs far deeper than it would reach from nothing.
extension FuzzTarget {
    var seeds: [[UInt8]] {
        let v4 = PacketBuilder("198.18.10.2", "198.18.20.2"), v6 = PacketBuilder("fd00:10::2", "fd00:20::2")
        var fragment = v4
        fragment.fragment = (offset: 0, more: true)
        var optioned = v4
        optioned.ipv4Options = [1, 1, 1, 1]
        let packets = [v4.tcp(40000, 80, flags: .syn), v4.tcp(40000, 80, flags: [.ack, .psh], payload: Array(repeating: 7, count: 100)),
                       v6.tcp(40000, 80, flags: .syn), v4.udp(5000, 53, payload: [1, 2, 3]), v6.udp(5000, 53, payload: [1, 2, 3]),
                       v4.icmpEcho(identifier: 1), v6.icmpEcho(identifier: 1), fragment.udp(5000, 53, payload: Array(repeating: 1, count: 64)),
                       optioned.tcp(1, 2, flags: .ack)]
        switch self {
        case .geneve, .geneveDifferential:
            let v6Return = GeneveHeader.aws(protocolType: Geneve.protocolTypeIPv6, endpointID: 1, attachmentID: 2, cookie: 3)
            return [Array(GoldenFrames.toAppliance[GoldenFrames.genevePayloadOffset...]),
                    Array(GoldenFrames.fromAppliance[GoldenFrames.genevePayloadOffset...]),
                    Self.encoded(v6Return) + v6.udp(1, 2)]
        case .packetSummary, .tcpReset, .packetTooBig:
            return packets
        case .superPacket:
            let payload = Array(repeating: UInt8(9), count: 4000)
            let tcp4 = v4.tcp(40000, 80, flags: [.ack, .psh], payload: payload), tcp6 = v6.tcp(40000, 80, flags: .ack, payload: payload)
            let udp4 = v4.udp(5000, 53, payload: payload)
            return [Self.virtio(VirtioNetHeader(flags: 1, gsoType: VirtioNetHeader.gsoTCPv4, headerLength: 40, gsoSize: 1400,
                                                checksumStart: 20, checksumOffset: 16)) + tcp4,
                    Self.virtio(VirtioNetHeader(flags: 1, gsoType: VirtioNetHeader.gsoTCPv6, headerLength: 60, gsoSize: 1400,
                                                checksumStart: 40, checksumOffset: 16)) + tcp6,
                    Self.virtio(VirtioNetHeader(flags: 1, gsoType: VirtioNetHeader.gsoUDPL4, headerLength: 28, gsoSize: 1400,
                                                checksumStart: 20, checksumOffset: 6)) + udp4,
                    Self.virtio(VirtioNetHeader()) + packets[0]]
        case .coalescer:
            // Consecutive segments of one flow, and another flow's between them.
            let segments = (0..<4).map { v4.tcp(40000, 80, flags: .ack, sequence: 1000 + UInt32($0) * 100, payload: Array(repeating: 5, count: 100)) }
            let order: [[UInt8]] = [segments[0], segments[1], v6.tcp(1, 2, flags: .ack, payload: [1]), segments[2], segments[3]]
            var stream: [UInt8] = []
            for packet in order { stream += [0, UInt8(packet.count >> 8), UInt8(packet.count & 0xFF)] + packet }
            return [stream]
        case .xml:
            return [Array("""
            <DescribeTargetGroupsResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"><DescribeTargetGroupsResult>\
            <TargetGroups><member><TargetGroupName>my-targets</TargetGroupName><Port>6081</Port><HealthCheckEnabled>true</HealthCheckEnabled>\
            </member></TargetGroups></DescribeTargetGroupsResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata>\
            </DescribeTargetGroupsResponse>
            """.utf8)]
        }
    }

    static func encoded(_ header: GeneveHeader) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: header.encodedLength)
        bytes.withUnsafeMutableBytes { header.write(to: $0) }
        return bytes
    }

    static func virtio(_ header: VirtioNetHeader) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: VirtioNetHeader.length)
        bytes.withUnsafeMutableBytes { header.write(to: $0) }
        return bytes
    }

    /// Writes the seeds into `directory` when it holds nothing yet (a fresh corpus).
    func plantSeeds(in directory: String) {
        guard (try? FileManager.default.contentsOfDirectory(atPath: directory))?.isEmpty == true else { return }
        for (index, seed) in seeds.enumerated() {
            FileManager.default.createFile(atPath: "\(directory)/seed-\(index)", contents: Data(seed))
        }
    }
}
