import Foundation
import Testing
import TestSupport
import Wire
@testable import PacketIO
import TestTraits

/// UDP GSO and GRO and the steering program on real sockets (loopback): what the kernel does with
/// them, not what we think it does.
@Suite(.blocking) struct OffloadIOTests {
    static let loopback = IPv4Address(127, 0, 0, 1)

    /// Fills `batch` with `sizes.count` datagrams to `port`, each byte pattern telling which it is.
    static func fill(_ batch: PacketBatch, sizes: [Int], port: UInt16) {
        for (slot, size) in sizes.enumerated() {
            let area = batch.readArea(slot)
            for index in 0..<size { area[index] = UInt8(truncatingIfNeeded: slot &* 7 &+ index) }
            batch.offsets[slot] = batch.headroom
            batch.lengths[slot] = size
            batch.peers[slot] = UDPPeer(address: loopback, port: port)
        }
        batch.count = sizes.count
    }

    /// Runs of one size go out as GSO messages; with GRO the receiver gets them back coalesced
    /// (a slot and its segment size) and splitting gives every datagram, byte for byte.
    @Test func gsoRunsArriveCoalescedAndSplitExactly() throws {
        let receiver = try GeneveSocket(bind: UDPPeer(address: Self.loopback, port: 0), reusePort: false, offloads: true)
        let port = try PacketIOTests.boundPort(receiver)
        let sender = try GeneveSocket(bind: UDPPeer(address: Self.loopback, port: 0), reusePort: false, offloads: true)
        let sizes = Array(repeating: 1400, count: 30) + [700] + Array(repeating: 300, count: 5)
        let out = PacketBatch(capacity: 64)
        Self.fill(out, sizes: sizes, port: port)
        #expect(sender.send(out) == sizes.count)
        #expect(sender.lastGSOMessages == 2, "one message for the 1400s and the 700 that ends them, one for the 300s")
        let back = PacketBatch(capacity: 8, packetCapacity: 65_536, headroom: 0)
        var datagrams: [[UInt8]] = []
        var coalesced = 0
        for _ in 0..<100 where datagrams.count < sizes.count {
            receiver.receive(into: back)
            for slot in 0..<back.count {
                let data = Array(back.data(slot))
                let size = back.segmentSizes[slot] > 0 ? back.segmentSizes[slot] : data.count
                if size < data.count { coalesced += 1 }
                datagrams += stride(from: 0, to: data.count, by: size).map { Array(data[$0..<min($0 + size, data.count)]) }
            }
            if back.count == 0 { usleep(10_000) }
        }
        #expect(coalesced > 0, "GRO delivered at least one run whole")
        #expect(datagrams.map(\.count) == sizes)
        for (slot, datagram) in datagrams.enumerated() {
            #expect(datagram == (0..<sizes[slot]).map { UInt8(truncatingIfNeeded: slot &* 7 &+ $0) }, "datagram \(slot)")
        }
    }

    /// The steering program sends a datagram to the group's socket its cookie's owner bits name.
    @Test func returnsAreSteeredByTheCookiesOwnerBits() throws {
        let first = try GeneveSocket(bind: UDPPeer(address: Self.loopback, port: 0), reusePort: true)
        let port = try PacketIOTests.boundPort(first)
        let second = try GeneveSocket(bind: UDPPeer(address: Self.loopback, port: port), reusePort: true)
        try first.attachReusePortProgram(ReusePortProgram.steeringByOwner(ownerBits: 1))
        let sender = try GeneveSocket(bind: UDPPeer(address: Self.loopback, port: 0), reusePort: false)
        // 40 datagrams from one sender (one 4-tuple, so the kernel's hash alone would pick one socket).
        let out = PacketBatch(capacity: 64)
        for slot in 0..<40 {
            let area = out.readArea(slot)
            let owner: UInt32 = slot % 2 == 0 ? 0 : 1
            AWSGeneveMetadata.write(to: area, protocolType: Geneve.protocolTypeIPv4, endpointID: 1, attachmentID: 2,
                                    cookie: owner << 31 | UInt32(slot))
            area[Geneve.awsHeaderLength] = 0x45
            out.offsets[slot] = out.headroom
            out.lengths[slot] = Geneve.awsHeaderLength + 20
            out.peers[slot] = UDPPeer(address: Self.loopback, port: port)
        }
        out.count = 40
        #expect(sender.send(out) == 40)
        var owners: [[UInt32]] = [[], []]
        let back = PacketBatch(capacity: 64)
        for _ in 0..<100 where owners[0].count + owners[1].count < 40 {
            for (index, socket) in [first, second].enumerated() {
                socket.receive(into: back)
                for slot in 0..<back.count {
                    let cookie = try AWSGeneveMetadata(parsing: UnsafeRawBufferPointer(back.data(slot))).cookie
                    owners[index].append(cookie >> 31)
                }
            }
            usleep(5_000)
        }
        #expect(owners[0].count == 20 && owners[0].allSatisfy { $0 == 0 })
        #expect(owners[1].count == 20 && owners[1].allSatisfy { $0 == 1 })
    }

    /// An appliance that answers with UDP checksum 0 and TTL 2 (both legal) reaches a socket with
    /// GRO on intact: sent through a raw socket as such an appliance's kernel would put it on the wire.
    @Test func zeroChecksumAndLowTTLArriveWithGROOn() throws {
        let receiver = try GeneveSocket(bind: UDPPeer(address: Self.loopback, port: 0), reusePort: false, offloads: true)
        let port = try PacketIOTests.boundPort(receiver)
        let inner = PacketBuilder("198.18.10.2", "198.18.20.2").udp(1000, 2000, payload: Array(repeating: 0x5A, count: 200))
        var frame = GeneveFrameBuilder.frame(outerSource: "127.0.0.1", outerDestination: "127.0.0.1", sourcePort: 6081, inner: inner,
                                             endpointID: 7, attachmentID: 8, cookie: 9, udpChecksum: false, timeToLive: 2)
        frame[22] = UInt8(port >> 8)   // the UDP destination port; no checksum to fix
        frame[23] = UInt8(port & 0xFF)
        let raw = socket(AF_INET, Int32(SOCK_RAW.rawValue), Int32(IPPROTO_RAW))
        try #require(raw >= 0, "a raw socket needs root (CI runs as root)")
        defer { close(raw) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let sent = frame.withUnsafeBytes { bytes in
            withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(raw, bytes.baseAddress, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        }
        #expect(sent == frame.count)
        let back = PacketBatch(capacity: 4, packetCapacity: 65_536, headroom: 0)
        for _ in 0..<100 {
            receiver.receive(into: back)
            if back.count > 0 { break }
            usleep(10_000)
        }
        try #require(back.count == 1)
        #expect(Array(back.data(0)) == Array(frame[28...]), "the GENEVE payload as sent")
        #expect(try AWSGeneveMetadata(parsing: UnsafeRawBufferPointer(back.data(0))).cookie == 9)
    }
}
