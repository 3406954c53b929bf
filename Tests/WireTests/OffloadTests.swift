import Testing
import TestSupport
@testable import Wire

/// TUN offloads in user space: super-packets cut into the packets a plain segmentation gives, and
/// returned segments joined only as Linux's GRO joins them. Checksums are verified by a plain
/// byte-by-byte sum written here, not by the code under test.
@Suite struct OffloadTests {
    /// RFC 1071 the slow way: 16-bit big-endian words, end-around carry.
    static func naiveSum(_ bytes: [UInt8]) -> UInt32 {
        var sum: UInt32 = 0
        var index = 0
        while index < bytes.count {
            sum += UInt32(bytes[index]) << 8 | (index + 1 < bytes.count ? UInt32(bytes[index + 1]) : 0)
            index += 2
        }
        while sum > 0xFFFF { sum = (sum & 0xFFFF) + (sum >> 16) }
        return sum
    }

    /// Whether the IP header checksum (IPv4) and the transport checksum of `packet` verify.
    static func checksumsVerify(_ packet: [UInt8]) -> Bool {
        let isIPv4 = packet[0] >> 4 == 4
        let headerLength = isIPv4 ? Int(packet[0] & 0x0F) * 4 : 40
        if isIPv4, naiveSum(Array(packet[..<headerLength])) != 0xFFFF { return false }
        let transport = Array(packet[headerLength...])
        let proto = isIPv4 ? packet[9] : packet[6]
        let pseudo = (isIPv4 ? Array(packet[12..<20]) : Array(packet[8..<40]))
            + [0, 0, UInt8(transport.count >> 8 & 0xFF), UInt8(transport.count & 0xFF), 0, 0, 0, proto]
        return naiveSum(pseudo + transport) == 0xFFFF
    }

    static func payload(_ count: Int, seed: UInt8 = 7) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed)) }
    }

    static func segments(of superPacket: [UInt8], header: VirtioNetHeader) throws -> [[UInt8]] {
        try superPacket.withUnsafeBytes { raw in
            let packet = try SuperPacket(packet: raw, header: header)
            return (0..<packet.segmentCount).map { index in
                var out = [UInt8](repeating: 0, count: packet.segmentLength(index))
                out.withUnsafeMutableBytes { _ = packet.segment(index, into: $0) }
                return out
            }
        }
    }

    /// The IPv4 identification and header checksum differ by design (each segment its own id).
    static func withoutIPv4Identification(_ packet: [UInt8]) -> [UInt8] {
        guard packet[0] >> 4 == 4 else { return packet }
        var copy = packet
        for offset in [4, 5, 10, 11] { copy[offset] = 0 }
        return copy
    }

    @Test(arguments: ["198.18.10.2", "fd00:10::2"])
    func tcpSuperPacketIsCutLikeAPlainSegmentation(source: String) throws {
        let destination = source.contains(":") ? "fd00:20::2" : "198.18.20.2"
        let builder = PacketBuilder(source, destination)
        let data = Self.payload(5000)
        let flags: TCPFlags = [.ack, .psh, .fin, .cwr]
        let whole = builder.tcp(40000, 5201, flags: flags, sequence: 0xFFFF_F000, acknowledgment: 77, payload: data)
        let isIPv4 = !source.contains(":")
        let header = VirtioNetHeader(flags: VirtioNetHeader.flagNeedsChecksum, gsoType: isIPv4 ? VirtioNetHeader.gsoTCPv4 : VirtioNetHeader.gsoTCPv6,
                                     headerLength: UInt16(isIPv4 ? 40 : 60), gsoSize: 1400, checksumStart: UInt16(isIPv4 ? 20 : 40), checksumOffset: 16)
        let cut = try Self.segments(of: whole, header: header)
        #expect(cut.count == 4)
        for (index, segment) in cut.enumerated() {
            let chunk = Array(data[(index * 1400)..<min(data.count, (index + 1) * 1400)])
            var expectedFlags: TCPFlags = index == cut.count - 1 ? flags.subtracting(.cwr) : [.ack]
            if index == 0 { expectedFlags = index == cut.count - 1 ? flags : [.ack, .cwr] }
            // The sequence number wraps past 2^32 within this super-packet.
            let expected = builder.tcp(40000, 5201, flags: expectedFlags, sequence: 0xFFFF_F000 &+ UInt32(index * 1400), acknowledgment: 77,
                                       payload: chunk)
            #expect(Self.withoutIPv4Identification(segment) == Self.withoutIPv4Identification(expected), "segment \(index)")
            #expect(Self.checksumsVerify(segment), "segment \(index)")
            if isIPv4 { #expect(UInt16(segment[4]) << 8 | UInt16(segment[5]) == 1 + UInt16(index), "identification counts up") }
        }
    }

    @Test func udpSuperPacketIsCutIntoDatagrams() throws {
        let builder = PacketBuilder("198.18.10.2", "198.18.20.2")
        let data = Self.payload(2500, seed: 3)
        let whole = builder.udp(5000, 6000, payload: data)
        let header = VirtioNetHeader(flags: VirtioNetHeader.flagNeedsChecksum, gsoType: VirtioNetHeader.gsoUDPL4, headerLength: 28, gsoSize: 1000,
                                     checksumStart: 20, checksumOffset: 6)
        let cut = try Self.segments(of: whole, header: header)
        #expect(cut.map(\.count) == [1028, 1028, 528])
        for (index, segment) in cut.enumerated() {
            let expected = builder.udp(5000, 6000, payload: Array(data[(index * 1000)..<min(data.count, (index + 1) * 1000)]))
            #expect(Self.withoutIPv4Identification(segment) == Self.withoutIPv4Identification(expected))
            #expect(Self.checksumsVerify(segment))
        }
    }

    /// A whole packet whose checksum the kernel left partial (the pseudo-header sum in the field).
    @Test func partialChecksumIsCompleted() throws {
        for source in ["198.18.10.2", "fd00:10::2"] {
            let builder = PacketBuilder(source, source.contains(":") ? "fd00:20::2" : "198.18.20.2")
            let complete = builder.tcp(1, 2, flags: .ack, payload: Self.payload(333))
            let offset = source.contains(":") ? 40 : 20
            var partial = complete
            let pseudoAddresses = source.contains(":") ? Array(complete[8..<40]) : Array(complete[12..<20])
            let length = complete.count - offset
            let pseudo = Self.naiveSum(pseudoAddresses + [0, 0, UInt8(length >> 8), UInt8(length & 0xFF), 0, 0, 0, 6])
            partial[offset + 16] = UInt8(pseudo >> 8)
            partial[offset + 17] = UInt8(pseudo & 0xFF)
            let header = VirtioNetHeader(flags: VirtioNetHeader.flagNeedsChecksum, checksumStart: UInt16(offset), checksumOffset: 16)
            #expect(try Self.segments(of: partial, header: header) == [complete])
        }
    }

    @Test func superPacketsThatLieAreRefused() {
        let tcp = PacketBuilder("198.18.10.2", "198.18.20.2").tcp(1, 2, flags: .ack, payload: Self.payload(3000))
        let udpAsTCP = VirtioNetHeader(flags: 1, gsoType: VirtioNetHeader.gsoUDPL4, gsoSize: 1000, checksumStart: 20, checksumOffset: 6)
        let v6AsV4 = VirtioNetHeader(flags: 1, gsoType: VirtioNetHeader.gsoTCPv6, gsoSize: 1000, checksumStart: 20, checksumOffset: 16)
        let zeroSize = VirtioNetHeader(flags: 1, gsoType: VirtioNetHeader.gsoTCPv4, gsoSize: 0, checksumStart: 20, checksumOffset: 16)
        let checksumOutside = VirtioNetHeader(flags: 1, checksumStart: 3030, checksumOffset: 16)
        for header in [udpAsTCP, v6AsV4, zeroSize, checksumOutside] {
            #expect(throws: WireError.self) { _ = try Self.segments(of: tcp, header: header) }
        }
    }

    // MARK: Coalescing

    struct Emitted: Equatable {
        var endpoint: Int
        var packet: [UInt8]
        var header: VirtioNetHeader
        var segments: Int
    }

    static func coalesce(_ packets: [[UInt8]], endpoint: Int = 0, coalescer: TCPCoalescer = TCPCoalescer()) throws -> [Emitted] {
        var emitted: [Emitted] = []
        let emit: TCPCoalescer.Emit = { emitted.append(Emitted(endpoint: $0, packet: Array($1), header: $2, segments: $3)) }
        for packet in packets {
            let summary = try PacketSummary(parsing: packet)
            packet.withUnsafeBytes { coalescer.add($0, summary: summary, endpoint: endpoint, emit: emit) }
        }
        coalescer.flush(emit: emit)
        return emitted
    }

    static func train(_ builder: PacketBuilder, from sequence: UInt32 = 1000, sizes: [Int], ports: (UInt16, UInt16) = (40000, 5201),
                      lastFlags: TCPFlags = .ack, acknowledgment: UInt32 = 9) -> [[UInt8]] {
        var next = sequence
        return sizes.enumerated().map { index, size in
            defer { next &+= UInt32(size) }
            return builder.tcp(ports.0, ports.1, flags: index == sizes.count - 1 ? lastFlags : .ack, sequence: next,
                               acknowledgment: acknowledgment, payload: payload(size, seed: UInt8(index)))
        }
    }

    /// In-order segments become one super-packet, which cut again gives the same segments back.
    @Test(arguments: ["198.18.10.2", "fd00:10::2"])
    func inOrderSegmentsRoundTrip(source: String) throws {
        let builder = PacketBuilder(source, source.contains(":") ? "fd00:20::2" : "198.18.20.2")
        let segments = Self.train(builder, sizes: [1000, 1000, 1000, 1000, 600], lastFlags: [.ack, .psh])
        let emitted = try Self.coalesce(segments)
        #expect(emitted.count == 1)
        let joined = try #require(emitted.first)
        #expect(joined.segments == 5 && joined.header.gsoSize == 1000 && joined.header.needsChecksum)
        #expect(joined.header.segmentation == (source.contains(":") ? VirtioNetHeader.gsoTCPv6 : VirtioNetHeader.gsoTCPv4))
        let again = try Self.segments(of: joined.packet, header: joined.header)
        #expect(again.map(Self.withoutIPv4Identification) == segments.map(Self.withoutIPv4Identification))
        #expect(again.allSatisfy(Self.checksumsVerify))
    }

    @Test func onlyWhatGROJoinsIsJoined() throws {
        let builder = PacketBuilder("198.18.10.2", "198.18.20.2")
        // A gap in sequence numbers.
        var gap = Self.train(builder, sizes: [1000, 1000])
        gap.append(builder.tcp(40000, 5201, flags: .ack, sequence: 1000 + 3000, acknowledgment: 9, payload: Self.payload(1000)))
        #expect(try Self.coalesce(gap).map(\.segments) == [2, 1])
        // A different acknowledgment number.
        var acks = Self.train(builder, sizes: [1000, 1000])
        acks.append(builder.tcp(40000, 5201, flags: .ack, sequence: 3000, acknowledgment: 10, payload: Self.payload(1000)))
        #expect(try Self.coalesce(acks).map(\.segments) == [2, 1])
        // A larger segment after a smaller one; and nothing after a short one.
        #expect(try Self.coalesce(Self.train(builder, sizes: [500, 1000])).map(\.segments) == [1, 1])
        #expect(try Self.coalesce(Self.train(builder, sizes: [1000, 500, 500])).map(\.segments) == [2, 1])
        // PSH ends a super-packet; FIN, SYN, RST are never joined, and come after what preceded them.
        #expect(try Self.coalesce(Self.train(builder, sizes: [1000, 1000, 1000], lastFlags: [.ack, .fin])).map(\.segments) == [2, 1])
        let pushed = Self.train(builder, sizes: [1000, 1000], lastFlags: [.ack, .psh])
            + [builder.tcp(40000, 5201, flags: .ack, sequence: 3000, acknowledgment: 9, payload: Self.payload(1000))]
        let pushedOut = try Self.coalesce(pushed)
        #expect(pushedOut.map(\.segments) == [2, 1])
        #expect(TCPFlags(rawValue: pushedOut[0].packet[33]).contains(.psh), "PSH is on the joined packet")
        // Different endpoints are different super-packets.
        let coalescer = TCPCoalescer()
        var emitted: [Emitted] = []
        let emit: TCPCoalescer.Emit = { emitted.append(Emitted(endpoint: $0, packet: Array($1), header: $2, segments: $3)) }
        for (index, packet) in Self.train(builder, sizes: [1000, 1000]).enumerated() {
            let summary = try PacketSummary(parsing: packet)
            packet.withUnsafeBytes { coalescer.add($0, summary: summary, endpoint: index, emit: emit) }
        }
        coalescer.flush(emit: emit)
        #expect(emitted.map(\.endpoint) == [0, 1])
    }

    /// Interleaved flows are joined each on its own; the other direction's pure ACKs pass through
    /// without breaking them; a flow's non-data packet comes after its pending data.
    @Test func flowsAreJoinedSeparatelyAndInOrder() throws {
        let builder = PacketBuilder("198.18.10.2", "198.18.20.2")
        let a = Self.train(builder, sizes: [1000, 1000, 1000], ports: (40000, 5201))
        let b = Self.train(builder, from: 5_000_000, sizes: [1200, 1200], ports: (40001, 5201))
        let ack = PacketBuilder("198.18.20.2", "198.18.10.2").tcp(5201, 40000, flags: .ack, sequence: 9, acknowledgment: 2000)
        let fin = builder.tcp(40000, 5201, flags: [.ack, .fin], sequence: 4000, acknowledgment: 9)
        let emitted = try Self.coalesce([a[0], b[0], ack, a[1], b[1], a[2], fin])
        #expect(emitted.map(\.segments) == [1, 3, 1, 2])
        #expect(emitted[0].packet == ack)
        #expect(emitted[2].packet == fin, "the FIN comes right after its flow's data")
        #expect(UInt16(emitted[3].packet[20]) << 8 | UInt16(emitted[3].packet[21]) == 40001)
    }

    // MARK: Path MTU

    @Test func packetTooBigNamesTheMTUAndQuotesThePacket() throws {
        var buffer = [UInt8](repeating: 0, count: PacketTooBig.maximumLength)
        for source in ["198.18.10.2", "fd00:10::2"] {
            let builder = PacketBuilder(source, source.contains(":") ? "fd00:20::2" : "198.18.20.2")
            var big = builder.tcp(40000, 5201, flags: .ack, payload: Self.payload(8900))
            if !source.contains(":") { big[6] |= 0x40 }   // DF
            let summary = try PacketSummary(parsing: big)
            let length = try #require(buffer.withUnsafeMutableBytes { out in
                big.withUnsafeBytes { PacketTooBig.reply(to: $0, summary: summary, mtu: 8500, into: out) }
            })
            let reply = Array(buffer[..<length])
            let answer = try PacketSummary(parsing: reply)
            #expect(answer.source == summary.destination && answer.destination == summary.source)
            if source.contains(":") {
                #expect(length == 1280 && reply[40] == 2 && reply[41] == 0)
                #expect(reply[44..<48] == [0, 0, 0x21, 0x34], "MTU 8500")
                #expect(Array(reply[48...]) == Array(big[..<(1280 - 48)]))
                #expect(Self.checksumsVerify(reply))
            } else {
                #expect(length == 576 && reply[20] == 3 && reply[21] == 4)
                #expect(reply[26..<28] == [0x21, 0x34], "next-hop MTU 8500")
                #expect(Array(reply[28...]) == Array(big[..<548]))
                #expect(Self.naiveSum(Array(reply[..<20])) == 0xFFFF && Self.naiveSum(Array(reply[20...])) == 0xFFFF)
            }
        }
        // No DF: dropped silently. An ICMP error: never answered.
        let plain = PacketBuilder("198.18.10.2", "198.18.20.2").udp(1, 2, payload: Self.payload(9000))
        var unreachable = PacketBuilder("198.18.10.2", "198.18.20.2").raw(.icmp, payload: [3, 1, 0, 0, 0, 0, 0, 0] + Self.payload(9000))
        unreachable[6] |= 0x40
        for packet in [plain, unreachable] {
            let summary = try PacketSummary(parsing: packet)
            let length = buffer.withUnsafeMutableBytes { out in packet.withUnsafeBytes { PacketTooBig.reply(to: $0, summary: summary, mtu: 8500, into: out) } }
            #expect(length == nil)
        }
    }
}
