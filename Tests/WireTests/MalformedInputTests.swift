import Testing
import TestSupport
@testable import Wire

/// Every way a packet can be wrong gives its own error, never a trap.
@Suite struct MalformedInputTests {
    func summaryError(_ bytes: [UInt8]) -> WireError? {
        bytes.withUnsafeBytes { raw in
            do throws(WireError) { _ = try PacketSummary(parsing: raw); return nil } catch { return error }
        }
    }

    func geneveError(_ bytes: [UInt8]) -> WireError? {
        bytes.withUnsafeBytes { raw in
            do throws(WireError) { _ = try AWSGeneveMetadata(parsing: raw); return nil } catch { return error }
        }
    }

    /// GENEVE payload (UDP payload) of the golden frame.
    var geneve: [UInt8] { Array(GoldenFrames.toAppliance[GoldenFrames.genevePayloadOffset...]) }

    @Test func ipv4Errors() {
        let good = Samples.v4.udp(1, 2)
        #expect(summaryError(good) == nil)
        var packet = good; packet[0] = 0x44
        #expect(summaryError(packet) == .badIHL)
        packet = good; packet[0] = 0x4F
        #expect(summaryError(packet) == .badIHL, "IHL past the packet")
        packet = good; packet[0] = 0x55
        #expect(summaryError(packet) == .badVersion)
        packet = good; packet[3] = UInt8(good.count + 1)
        #expect(summaryError(packet) == .lengthMismatch, "total length past the packet")
        packet = good; packet[2] = 0; packet[3] = 19
        #expect(summaryError(packet) == .lengthMismatch, "total length shorter than the header")
        packet = good; packet[20 + 5] = 7
        #expect(summaryError(packet) == .lengthMismatch, "UDP length below 8")
        #expect(summaryError([]) == .truncated)
        #expect(summaryError([0x45]) == .truncated)
    }

    @Test func trailingBytesBeyondTotalLengthAreIgnored() throws {
        let packet = Samples.v4.udp(1, 2, payload: [1, 2])
        let summary = try (packet + [0, 0, 0, 0]).withUnsafeBytes { try PacketSummary(parsing: $0) }
        #expect(summary.length == packet.count)
    }

    @Test func ipv6Errors() {
        var packet = Samples.v6.udp(1, 2)
        packet[0] = 0x70
        #expect(summaryError(packet) == .badVersion)
        packet = Samples.v6.udp(1, 2)
        packet[5] &+= 1
        #expect(summaryError(packet) == .lengthMismatch)
        // An extension header whose length runs past the packet.
        packet = Samples.v6WithExtensions.udp(1, 2)
        packet[41] = 200
        #expect(summaryError(packet) == .optionOverrun)
        // IPv4-mapped addresses are not valid on the wire.
        #expect(summaryError(PacketBuilder("fd00::1", "::ffff:198.18.0.1").udp(1, 2)) == .mappedAddress)
        // Nine hop-by-hop headers in a row.
        var builder = Samples.v6
        builder.extensionHeaders = Array(repeating: IPv6ExtensionHeader(kind: .ipv6DestinationOptions, bytes: [0, 0, 1, 4, 0, 0, 0, 0]), count: 9)
        #expect(summaryError(builder.udp(1, 2)) == .tooManyExtensionHeaders)
        builder.extensionHeaders.removeLast()
        #expect(summaryError(builder.udp(1, 2)) == nil, "eight extension headers are fine")
    }

    @Test func transportErrors() {
        // TCP data offset below 5 words, and past the segment.
        var packet = Samples.v4.tcp(1, 2, flags: .syn)
        packet[20 + 12] = 0x40
        #expect(summaryError(packet) == .lengthMismatch)
        packet[20 + 12] = 0xF0
        #expect(summaryError(packet) == .lengthMismatch)
        // TCP, UDP and ICMP cut short inside an otherwise consistent IP packet.
        for (proto, length) in [(IPProtocol.tcp, 19), (.udp, 7), (.icmp, 7)] {
            #expect(summaryError(Samples.v4.raw(proto, payload: [UInt8](repeating: 0, count: length))) == .truncated)
        }
        // Any other protocol needs no transport header.
        #expect(summaryError(Samples.v4.raw(.gre, payload: [])) == nil)
    }

    @Test func geneveErrors() {
        #expect(geneveError(geneve) == nil)
        var payload = geneve
        payload[0] = 0x48
        #expect(geneveError(payload) == .badVersion)
        payload = geneve
        payload[0] = 0x3F
        #expect(geneveError(payload) == .optionOverrun, "option block past the packet")
        payload = geneve
        payload[8 + 3] = 0x1F
        #expect(geneveError(payload) == .optionOverrun, "one option past the option block")
        payload = geneve
        payload[1] = 0x80
        #expect(geneveError(payload) == .controlPacket)
        payload = geneve
        payload[2] = 0x65; payload[3] = 0x58  // transparent Ethernet bridging
        #expect(geneveError(payload) == .unsupportedProtocolType)
        payload = geneve
        payload[2] = 0x86; payload[3] = 0xDD
        #expect(geneveError(payload) == .innerVersionMismatch)
        #expect(geneveError(Array(geneve[0..<40])) == .truncated, "no inner packet")
        #expect(geneveError([]) == .truncated)
    }

    func payload(options: [GeneveOption], critical: Bool = false, inner: [UInt8] = Samples.v4.udp(1, 2)) -> [UInt8] {
        var header = GeneveHeader(protocolType: Geneve.protocolTypeIPv4, options: options)
        header.hasCriticalOptions = critical
        return header.bytes + inner
    }

    @Test func geneveOptionRules() throws {
        let aws: [GeneveOption] = [.endpointID(1), .attachmentID(2), .flowCookie(3)]
        let unknown = GeneveOption(optionClass: 0x0103, type: 0x10, data: [0, 0, 0, 0])
        let unknownCritical = GeneveOption(optionClass: 0x0103, type: 0x90, data: [0, 0, 0, 0])
        // Any order, unknown non-critical options skipped.
        let reordered = try payload(options: [.flowCookie(3), unknown, .attachmentID(2), .endpointID(1)]).withUnsafeBytes {
            try AWSGeneveMetadata(parsing: $0)
        }
        #expect(reordered.endpointID == 1 && reordered.attachmentID == 2 && reordered.cookie == 3)
        #expect(reordered.innerOffset == 8 + 12 + 12 + 8 + 8)
        #expect(geneveError(payload(options: aws + [unknownCritical])) == .unknownCriticalOption)
        #expect(geneveError(payload(options: aws + [unknown], critical: true)) == .unknownCriticalOption,
                "C bit set and an option we do not understand")
        #expect(geneveError(payload(options: aws, critical: true)) == nil, "C bit with only understood options")
        #expect(geneveError(payload(options: [.endpointID(1), .attachmentID(2)])) == .missingAWSOption)
        // An AWS type with the wrong length is not understood.
        let shortCookie = GeneveOption(optionClass: Geneve.awsOptionClass, type: 3, data: [0, 0, 0, 0, 0, 0, 0, 0])
        #expect(geneveError(payload(options: [.endpointID(1), .attachmentID(2), shortCookie])) == .missingAWSOption)
    }

    @Test func everyErrorHasAUniqueName() {
        let names = WireError.allCases.map(\.name)
        #expect(Set(names).count == names.count)
    }
}
