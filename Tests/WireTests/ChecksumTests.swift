import Testing
import TestSupport
@testable import Wire

@Suite struct ChecksumTests {
    /// RFC 1071 §3's worked example: the sum of these words is ddf2, the checksum its complement.
    @Test func rfc1071Example() {
        let bytes: [UInt8] = [0x00, 0x01, 0xF2, 0x03, 0xF4, 0xF5, 0xF6, 0xF7]
        #expect(bytes.withUnsafeBytes { InternetChecksum.of($0) } == ~0xDDF2)
    }

    @Test func oddLengthPadsWithZero() {
        let odd: [UInt8] = [0x12, 0x34, 0x56]
        let even: [UInt8] = [0x12, 0x34, 0x56, 0x00]
        #expect(odd.withUnsafeBytes { InternetChecksum.of($0) } == even.withUnsafeBytes { InternetChecksum.of($0) })
    }

    /// A header with its checksum filled in sums to zero (all ones before complement).
    @Test func headerVerifiesToZero() {
        let header = Array(GoldenFrames.toAppliance[0..<20])
        #expect(header.withUnsafeBytes { InternetChecksum.of($0) } == 0)
    }

    /// RFC 1624: updating for a changed field equals summing everything again.
    @Test func incrementalUpdateMatchesFullRecompute() {
        var generator = SeededGenerator(state: 1624)
        for _ in 0..<2_000 {
            var header = IPv4Header(totalLength: UInt16.random(in: 20...9000, using: &generator), protocol: .udp,
                                    source: IPv4Address(rawValue: generator.next32()), destination: IPv4Address(rawValue: generator.next32()))
            header.timeToLive = UInt8.random(in: 1...255, using: &generator)
            header = header.withComputedChecksum()
            // TTL decrement: the word holding TTL and protocol changes.
            var changed = header
            changed.timeToLive -= 1
            let oldWord = UInt16(header.timeToLive) << 8 | UInt16(header.protocol.rawValue)
            let newWord = UInt16(changed.timeToLive) << 8 | UInt16(changed.protocol.rawValue)
            #expect(InternetChecksum.updated(header.checksum, replacing: oldWord, with: newWord)
                    == changed.withComputedChecksum().checksum)
            // Address rewrite (NAT).
            changed = header
            changed.destination = IPv4Address(rawValue: generator.next32())
            #expect(InternetChecksum.updated(header.checksum, replacing: header.destination.rawValue, with: changed.destination.rawValue)
                    == changed.withComputedChecksum().checksum)
        }
    }
}

extension SeededGenerator {
    mutating func next32() -> UInt32 { UInt32(truncatingIfNeeded: next()) }
}
