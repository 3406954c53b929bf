import Testing
import TestSupport
@testable import Wire

@Suite struct TCPResetTests {
    func reply(to packet: [UInt8]) throws -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: TCPReset.maximumLength)
        let length = try out.withUnsafeMutableBytes { buffer in try packet.withUnsafeBytes { try TCPReset.reply(to: $0, into: buffer) } }
        return length.map { Array(out[..<$0]) }
    }

    /// The transport checksum verifies: the sum over pseudo-header and segment is all ones.
    func transportChecksumVerifies(_ packet: [UInt8]) throws -> Bool {
        let s = try packet.withUnsafeBytes { try PacketSummary(parsing: $0) }
        var sum = InternetChecksum()
        if let source = s.source.mappedIPv4, let destination = s.destination.mappedIPv4 {
            sum.addPseudoHeader(source: source, destination: destination, protocol: .tcp, length: s.length - s.transportOffset)
        } else {
            sum.addPseudoHeader(source: s.source, destination: s.destination, protocol: .tcp, length: s.length - s.transportOffset)
        }
        Array(packet[s.transportOffset..<s.length]).withUnsafeBytes { sum.add($0) }
        return sum.value == 0
    }

    @Test(arguments: [Samples.v4, Samples.v6])
    func answersASegmentWithoutACK(builder: PacketBuilder) throws {
        let syn = builder.tcp(40000, 80, flags: .syn, sequence: 5000, payload: [1, 2, 3])
        let rst = try #require(try reply(to: syn))
        let s = try rst.withUnsafeBytes { try PacketSummary(parsing: $0) }
        #expect(s.source == builder.destination && s.destination == builder.source)
        #expect(s.sourcePort == 80 && s.destinationPort == 40000 && s.tcpFlags == [.rst, .ack])
        let tcp = try TCPHeader(parsing: Array(rst[s.transportOffset...]))
        #expect(tcp.sequenceNumber == 0 && tcp.acknowledgmentNumber == 5000 + 3 + 1, "SYN counts one")
        #expect(try transportChecksumVerifies(rst))
        if s.version == .v4 {
            #expect(Array(rst[0..<20]).withUnsafeBytes { InternetChecksum.of($0) } == 0)
        }
    }

    @Test(arguments: [Samples.v4, Samples.v6])
    func answersASegmentWithACKFromItsAcknowledgment(builder: PacketBuilder) throws {
        let ack = builder.tcp(40000, 80, flags: [.ack, .psh], sequence: 7, acknowledgment: 0xFFFF_0000, payload: [1])
        let rst = try #require(try reply(to: ack))
        let s = try rst.withUnsafeBytes { try PacketSummary(parsing: $0) }
        let tcp = try TCPHeader(parsing: Array(rst[s.transportOffset...]))
        #expect(tcp.flags == .rst && tcp.sequenceNumber == 0xFFFF_0000 && tcp.acknowledgmentNumber == 0)
        #expect(try transportChecksumVerifies(rst))
    }

    @Test func neverAnswersAReset() throws {
        #expect(try reply(to: Samples.v4.tcp(1, 2, flags: .rst)) == nil)
    }

    @Test func ignoresNonTCPAndRejectsMalformed() throws {
        #expect(try reply(to: Samples.v4.udp(1, 2)) == nil)
        var fragment = Samples.v4
        fragment.fragment = (0, true)
        #expect(try reply(to: fragment.tcp(1, 2, flags: .syn)) == nil)
        #expect(throws: WireError.lengthMismatch) { try reply(to: Array(Samples.v4.tcp(1, 2, flags: .syn).prefix(30))) }
    }
}
