import Testing
import TestSupport
@testable import Wire

/// Random bytes and damaged packets go through every parser without a trap; whatever parses
/// writes back to the same bytes.
@Suite struct GarbageInputTests {
    func exercise(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { raw in
            _ = try? PacketSummary(parsing: raw)
            _ = try? AWSGeneveMetadata(parsing: raw)
            var out = [UInt8](repeating: 0, count: TCPReset.maximumLength)
            _ = out.withUnsafeMutableBytes { try? TCPReset.reply(to: raw, into: $0) }
        }
        for parser in HeaderParser.all {
            if let rewritten = try? parser.parse(bytes) {
                #expect(Array(bytes[..<rewritten.count]) == rewritten, "\(parser.name) round trip of \(bytes.hex)")
            }
        }
    }

    @Test func randomBytes() {
        var generator = SeededGenerator(state: 0x5EED)
        for _ in 0..<20_000 {
            let length = Int.random(in: 0..<96, using: &generator)
            var bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            // Half the time start like a real header, so parsers get past their first check.
            if !bytes.isEmpty, Bool.random(using: &generator) {
                bytes[0] = [0x45, 0x46, 0x60, 0x08, 0x00].randomElement(using: &generator)!
            }
            exercise(bytes)
        }
    }

    @Test func damagedPackets() {
        var generator = SeededGenerator(state: 0xBAD)
        let seeds = Samples.packets.map(\.bytes) + [Array(GoldenFrames.toAppliance[28...])]
        for _ in 0..<20_000 {
            var bytes = seeds.randomElement(using: &generator)!
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
            }
            if Bool.random(using: &generator) { bytes.removeLast(Int.random(in: 0..<bytes.count, using: &generator)) }
            exercise(bytes)
        }
    }
}
