import Foundation
import PacketIO
import Testing
import TestSupport
import Wire
@testable import DataPlane

/// Data-path probes on the return path (no endpoint, the process's key, an echo with the token)
/// end at the workers without a drop; anything else naming no endpoint is still `unknown_endpoint`.
/// And the prober over real UDP sockets on loopback.
@Suite struct DataPathProbeTests {
    func probe(key: UInt64, token: UInt64) -> (to: UDPPeer, bytes: [UInt8]) {
        var bytes = [UInt8](repeating: 0, count: DataPathProbe.datagramLength)
        let length = bytes.withUnsafeMutableBytes {
            DataPathProbe.write(into: $0, address: IPv4Address(198, 18, 1, 1), key: key, sequence: 1, token: token)
        }
        #expect(length == bytes.count)
        return (UDPPeer(address: Harness.appliances[0], port: Geneve.udpPort), bytes)
    }

    @Test func aReturnedProbeIsNotedAndNotDelivered() throws {
        let harness = Harness()
        harness.reflect(probe(key: harness.plane.probeReplies.key, token: 0xFEED))
        harness.run()
        #expect(harness.takeDelivered().isEmpty && harness.statistics.drops(.unknownEndpoint) == 0)
        #expect(harness.plane.probeReplies.contains(0xFEED, from: Harness.appliances[0]) && harness.plane.probeReplies.returned.load(ordering: .relaxed) == 1)
        #expect(!harness.plane.probeReplies.contains(0xFEED, from: Harness.appliances[1]), "a probe counts only from the target it went through")
        // Another key (another gwlbd's, or a forger's): not a probe of ours.
        harness.reflect(probe(key: harness.plane.probeReplies.key ^ 1, token: 0xBEEF))
        harness.run()
        #expect(!harness.plane.probeReplies.contains(0xBEEF, from: Harness.appliances[0]) && harness.statistics.drops(.unknownEndpoint) == 1)
    }

    @Test func theProbeIsAValidEchoRequestFromTheAddressToItself() throws {
        let (_, bytes) = probe(key: 7, token: 42)
        try bytes.withUnsafeBytes { datagram in
            let metadata = try AWSGeneveMetadata(parsing: datagram)
            #expect(metadata.endpointID == 0 && metadata.attachmentID == 7)
            let inner = UnsafeRawBufferPointer(rebasing: datagram[metadata.innerOffset...])
            let summary = try PacketSummary(parsing: inner)
            #expect(summary.protocol == .icmp && summary.source == summary.destination)
            #expect(DataPathProbe.token(inner, summary: summary) == 42)
            #expect(InternetChecksum.of(UnsafeRawBufferPointer(rebasing: inner[20...])) == 0, "ICMP checksum")
            #expect(InternetChecksum.of(UnsafeRawBufferPointer(rebasing: inner[..<20])) == 0, "IPv4 header checksum")
        }
    }

    /// The prober sends from its address to the target's GENEVE port and waits for the token; here
    /// a socket on loopback plays the appliance and the worker at once.
    @Test func theProberWaitsForItsOwnToken() throws {
        let appliance = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(appliance) }
        var address = sockaddr_in(address: IPv4Address(127, 0, 0, 1), port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(appliance, $0, length) == 0 && getsockname(appliance, $0, &length) == 0 }
        }
        #expect(bound)
        let port = UInt16(bigEndian: address.sin_port)
        let replies = DataPathProbeReplies()
        let prober = DataPathProber(address: IPv4Address(127, 0, 0, 1), replies: replies)
        let answering = Thread {
            var buffer = [UInt8](repeating: 0, count: 2048)
            let count = recv(appliance, &buffer, buffer.count, 0)
            guard count > 0 else { return }
            buffer.withUnsafeBytes { datagram in
                let bytes = UnsafeRawBufferPointer(rebasing: datagram[..<count])
                guard let metadata = try? AWSGeneveMetadata(parsing: bytes), metadata.attachmentID == replies.key else { return }
                let inner = UnsafeRawBufferPointer(rebasing: bytes[metadata.innerOffset...])
                if let summary = try? PacketSummary(parsing: inner), let token = DataPathProbe.token(inner, summary: summary) {
                    replies.received(token: token, from: IPv4Address(127, 0, 0, 1))
                }
            }
        }
        answering.start()
        guard case .returned(let seconds) = prober.probe(IPv4Address(127, 0, 0, 1), port: port, timeout: 2) else {
            Issue.record("the probe did not come back")
            return
        }
        #expect(seconds < 1)
        // Nobody answers now: lost after the timeout.
        let started = Date()
        #expect(prober.probe(IPv4Address(127, 0, 0, 1), port: port, timeout: 0.3) == .lost)
        #expect(Date().timeIntervalSince(started) >= 0.3)
    }
}
