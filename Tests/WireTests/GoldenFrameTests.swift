import Testing
import TestSupport
@testable import Wire

/// The frames AWS's tunnel handler puts on the wire (README "Connecting a real appliance"), read and written back byte for byte.
@Suite struct GoldenFrameTests {
    let frame = GoldenFrames.toAppliance

    @Test func outerHeadersParseAndRewriteExactly() throws {
        let ip = try IPv4Header(parsing: frame)
        #expect(ip.source == IPv4Address(198, 18, 0, 1))
        #expect(ip.destination == IPv4Address(198, 18, 0, 2))
        #expect(ip.protocol == .udp)
        #expect(Int(ip.totalLength) == frame.count)
        #expect(ip.bytes == Array(frame[0..<20]))
        #expect(ip.withComputedChecksum().checksum == ip.checksum)

        let udp = try UDPHeader(parsing: Array(frame[20...]))
        #expect(udp.sourcePort == 50000 && udp.destinationPort == Geneve.udpPort)
        #expect(udp.bytes == Array(frame[20..<28]))
    }

    @Test func geneveHeaderParsesToAWSOptionsAndRewritesExactly() throws {
        let payload = Array(frame[GoldenFrames.genevePayloadOffset...])
        let geneve = try GeneveHeader(parsing: payload)
        #expect(geneve.protocolType == Geneve.protocolTypeIPv4)
        #expect(geneve.vni == 0 && !geneve.isControl && !geneve.hasCriticalOptions)
        #expect(geneve.options.map(\.type) == [1, 2, 3])
        #expect(geneve.encodedLength == Geneve.awsHeaderLength)
        #expect(geneve.bytes == Array(payload[0..<40]))
        #expect(geneve == .aws(protocolType: Geneve.protocolTypeIPv4, endpointID: GoldenFrames.endpointID,
                               attachmentID: GoldenFrames.attachmentID, cookie: GoldenFrames.cookie))

        let metadata = try payload.withUnsafeBytes { try AWSGeneveMetadata(parsing: $0) }
        #expect(metadata.endpointID == GoldenFrames.endpointID)
        #expect(metadata.attachmentID == GoldenFrames.attachmentID)
        #expect(metadata.cookie == GoldenFrames.cookie)
        #expect(metadata.innerOffset == 40 && metadata.innerVersion == .v4)
    }

    @Test func innerPacketParsesAndRewritesExactly() throws {
        let inner = Array(frame[GoldenFrames.innerOffset...])
        let ip = try IPv4Header(parsing: inner)
        #expect(ip.bytes == Array(inner[0..<20]))
        let udp = try UDPHeader(parsing: Array(inner[20...]))
        #expect(udp.sourcePort == 40000 && udp.destinationPort == 5001)
        #expect(udp.bytes == Array(inner[20..<28]))
        #expect(String(decoding: inner[28...], as: UTF8.self) == "gwlbtun-interop-probe")

        let summary = try inner.withUnsafeBytes { try PacketSummary(parsing: $0) }
        #expect(summary.source == IPv6Address(mapping: IPv4Address(198, 18, 100, 1)))
        #expect(summary.destination == IPv6Address(mapping: IPv4Address(198, 18, 200, 2)))
        #expect(summary.sourcePort == 40000 && summary.destinationPort == 5001 && summary.length == inner.count)
    }

    /// Our writers, checksums included, produce AWS's frame from its parts.
    @Test func writersRebuildTheWholeFrame() {
        let built = GeneveFrameBuilder.frame(
            outerSource: "198.18.0.1", outerDestination: "198.18.0.2", sourcePort: 50000,
            inner: Array(frame[GoldenFrames.innerOffset...]), endpointID: GoldenFrames.endpointID,
            attachmentID: GoldenFrames.attachmentID, cookie: GoldenFrames.cookie)
        #expect(built.hex == frame.hex)
    }

    /// The appliance's reply: UDP checksum 0, outer TTL 2, GENEVE unchanged.
    @Test func applianceReplyIsAcceptedWithZeroChecksum() throws {
        let reply = GoldenFrames.fromAppliance
        let ip = try IPv4Header(parsing: reply)
        #expect(ip.timeToLive == 2 && ip.source == IPv4Address(198, 18, 0, 2))
        #expect(ip.withComputedChecksum().checksum == ip.checksum)
        let udp = try UDPHeader(parsing: Array(reply[20...]))
        #expect(udp.checksum == 0 && udp.destinationPort == Geneve.udpPort)
        let metadata = try Array(reply[28...]).withUnsafeBytes { try AWSGeneveMetadata(parsing: $0) }
        #expect(metadata.cookie == GoldenFrames.cookie && metadata.endpointID == GoldenFrames.endpointID)
        #expect(Array(reply[28..<68]) == Array(frame[28..<68]))
        let rebuilt = GeneveFrameBuilder.frame(
            outerSource: "198.18.0.2", outerDestination: "198.18.0.1", sourcePort: 50000,
            inner: Array(reply[68...]), endpointID: GoldenFrames.endpointID, attachmentID: GoldenFrames.attachmentID,
            cookie: GoldenFrames.cookie, udpChecksum: false, identification: 0xE149, timeToLive: 2)
        #expect(rebuilt.hex == reply.hex)
    }

    @Test func overheadIs68Bytes() {
        #expect(Geneve.awsOverhead == 68)
        #expect(GoldenFrames.toAppliance.count - GoldenFrames.innerOffset == 49)
    }
}
