import Foundation
import Lab
import Testing
import Wire
@testable import PacketIO
import TestTraits

/// The real I/O parts: batched UDP on loopback, and a TUN device (root, as in CI).
@Suite(.blocking) struct PacketIOTests {
    @Test func batchesGoOutAndComeBackInOneCallEach() throws {
        let receiver = try GeneveSocket(bind: UDPPeer(address: IPv4Address(127, 0, 0, 1), port: 0), reusePort: false)
        let port = try Self.boundPort(receiver)
        let sender = try GeneveSocket(bind: UDPPeer(address: IPv4Address(127, 0, 0, 1), port: 0), reusePort: false)
        let out = PacketBatch(capacity: 64)
        for slot in 0..<64 {
            // Data written after the headroom, sent from the headroom's end: GENEVE would go in front.
            let area = out.readArea(slot)
            for index in 0..<100 { area[index] = UInt8(truncatingIfNeeded: slot + index) }
            out.offsets[slot] = out.headroom
            out.lengths[slot] = slot == 7 ? 0 : 100  // a dropped slot is skipped
            out.peers[slot] = UDPPeer(address: IPv4Address(127, 0, 0, 1), port: port)
        }
        out.count = 64
        #expect(sender.send(out) == 63)
        let back = PacketBatch(capacity: 64)
        var received = 0
        for _ in 0..<50 where received < 63 {
            receiver.receive(into: back)
            for slot in 0..<back.count {
                #expect(back.lengths[slot] == 100 && back.offsets[slot] == 0)
                #expect(back.peers[slot].address == IPv4Address(127, 0, 0, 1))
            }
            received += back.count
            if back.count == 0 { usleep(10_000) }
        }
        #expect(received == 63)
    }

    @Test func aDatagramLargerThanTheBufferArrivesEmpty() throws {
        let receiver = try GeneveSocket(bind: UDPPeer(address: IPv4Address(127, 0, 0, 1), port: 0), reusePort: false)
        let port = try Self.boundPort(receiver)
        let sender = try GeneveSocket(bind: UDPPeer(address: IPv4Address(127, 0, 0, 1), port: 0), reusePort: false)
        let out = PacketBatch(capacity: 1, packetCapacity: 2000)
        out.offsets[0] = 0
        out.lengths[0] = 1500
        out.peers[0] = UDPPeer(address: IPv4Address(127, 0, 0, 1), port: port)
        out.count = 1
        #expect(sender.send(out) == 1)
        let small = PacketBatch(capacity: 1, packetCapacity: 500, headroom: 0)
        for _ in 0..<50 where small.count == 0 {
            receiver.receive(into: small)
            if small.count == 0 { usleep(10_000) }
        }
        #expect(small.count == 1 && small.lengths[0] == 0, "truncated: the data plane drops it as bad GENEVE")
    }

    @Test func secondPlainBindOnAPortInUseSaysSo() throws {
        let first = try GeneveSocket(bind: UDPPeer(address: IPv4Address(127, 0, 0, 1), port: 0), reusePort: true)
        let port = try Self.boundPort(first)
        #expect { _ = try GeneveSocket(bind: UDPPeer(address: IPv4Address(127, 0, 0, 1), port: port), reusePort: false) } throws: {
            ($0 as? PacketIOError)?.kind == .addressInUse
        }
        // Workers share the port with SO_REUSEPORT.
        _ = try GeneveSocket(bind: UDPPeer(address: IPv4Address(127, 0, 0, 1), port: port), reusePort: true)
    }

    @Test func tunDeviceComesUpWithItsMTUAndOutlivesItsQueuesUntilRemoved() throws {
        guard geteuid() == 0 else {
            Issue.record("TUN devices need root (CI runs as root): run `sudo swift test`")
            return
        }
        let name = "gwt\(getpid() % 10000)\(Int.random(in: 10...99))"
        // Never left behind in the host's namespace, whatever fails.
        defer { _ = try? Self.ip(["link", "del", name]) }
        var device: TunDevice? = try TunDevice(name: name, queueCount: 2, mtu: 9001)
        #expect(device?.queues.count == 2)
        let shown = try Self.ip(["link", "show", name])
        #expect(shown.contains("mtu 9001") && shown.contains("UP"), "\(shown)")
        // Reads never block: whatever the kernel sent in at bring-up (IPv6 solicitations), then nil.
        var buffer = [UInt8](repeating: 0, count: 9216)
        var reads = 0
        while reads < 100, buffer.withUnsafeMutableBytes({ device!.read(queue: 0, into: $0) }) != nil { reads += 1 }
        #expect(reads < 100)
        device = nil
        // A device gwlbd made is persistent (a restarted gwlbd finds it, with its routes) and says so.
        #expect(try Self.ip(["link", "show", name]).contains("alias \(TunDevice.alias)"), "the device outlives its queues")
        #expect(TunDevice.removePersistent(name))
        #expect(try Self.ip(["link", "show", name]).contains("does not exist"), "removed once its persistence ends")
        // remove() on a live device: gone with its last queue.
        device = try TunDevice(name: name, queueCount: 1, mtu: 1500)
        device?.remove()
        device = nil
        #expect(try Self.ip(["link", "show", name]).contains("does not exist"), "remove() ends the device with its queues")
    }

    /// A device deleted under the worker (`ip link del`) answers every poll with an error at once:
    /// the worker takes it out of its poll set (counted, the device marked lost for the control
    /// side) and then waits as it should instead of spinning.
    @Test func aDeletedDeviceLeavesThePollSet() throws {
        guard geteuid() == 0 else {
            Issue.record("TUN devices need root (CI runs as root): run `sudo swift test`")
            return
        }
        let name = "gwd\(getpid() % 10000)\(Int.random(in: 10...99))"
        defer { _ = try? Self.ip(["link", "del", name]) }
        let device = try TunDevice(name: name, queueCount: 1, mtu: 1500)
        let io = try SystemIO(endpoints: EndpointRegistry([device]), queue: 0,
                              socket: GeneveSocket(bind: UDPPeer(address: IPv4Address(127, 0, 0, 1), port: 0)))
        #expect(try Self.ip(["link", "del", name]).isEmpty)
        io.waitForInput(timeoutMilliseconds: 1000)
        #expect(io.endpointsLost == 1 && device.isLost)
        let start = ContinuousClock.now
        for _ in 0..<3 { io.waitForInput(timeoutMilliseconds: 100) }
        let waited = ContinuousClock.now - start
        #expect(waited >= .milliseconds(290), "three waits of 100 ms returned after \(waited): the worker would spin")
        #expect(io.endpointsLost == 1)
        let batch = PacketBatch()
        io.readEndpoint(0, into: batch)
        #expect(batch.count == 0)
    }

    static func boundPort(_ socket: GeneveSocket) throws -> UInt16 {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socket.descriptor, $0, &length) }
        }
        return UInt16(bigEndian: address.sin_port)
    }

    static func ip(_ arguments: [String]) throws -> String {
        let result = try Shell.execute(["ip"] + arguments)
        return result.output + result.errors
    }
}
