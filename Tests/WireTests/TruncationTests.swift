import Testing
import TestSupport
@testable import Wire

/// Every header cut at every length is rejected, never read past its end.
@Suite struct TruncationTests {
    @Test(arguments: Samples.packets.map(\.name))
    func everyPrefixOfAPacketIsRejected(name: String) throws {
        let packet = try #require(Samples.packets.first { $0.name == name }).bytes
        #expect(throws: Never.self) { try packet.withUnsafeBytes { _ = try PacketSummary(parsing: $0) } }
        for length in 0..<packet.count {
            #expect(throws: WireError.self, "\(name) cut to \(length)") {
                try Array(packet[..<length]).withUnsafeBytes { _ = try PacketSummary(parsing: $0) }
            }
        }
    }

    @Test func everyPrefixOfAGeneveFrameIsRejected() {
        let payload = Array(GoldenFrames.toAppliance[GoldenFrames.genevePayloadOffset...])
        for length in 0..<(Geneve.awsHeaderLength + 1) {
            #expect(throws: WireError.self, "cut to \(length)") {
                try Array(payload[..<length]).withUnsafeBytes { _ = try AWSGeneveMetadata(parsing: $0) }
            }
        }
    }

    @Test func everyPrefixOfEveryHeaderValueIsRejected() throws {
        let geneve = Array(GoldenFrames.toAppliance[GoldenFrames.genevePayloadOffset...])
        let v4 = Samples.packets[1].bytes, v6 = Samples.v6WithExtensions.udp(1, 2), udp = Samples.packets[0].bytes
        let cases: [(HeaderParser, [UInt8])] = [
            (HeaderParser.all[0], v4), (HeaderParser.all[1], v6), (HeaderParser.all[2], Array(v4[24...])),
            (HeaderParser.all[3], Array(udp[20...])), (HeaderParser.all[4], [8, 0, 0, 0, 0, 1, 0, 1]),
            (HeaderParser.all[5], Array(geneve[..<40])),
        ]
        for (parser, bytes) in cases {
            let full = try parser.parse(bytes)
            for length in 0..<full.count {
                #expect(throws: WireError.self, "\(parser.name) cut to \(length)") { try parser.parse(Array(bytes[..<length])) }
            }
        }
    }
}
