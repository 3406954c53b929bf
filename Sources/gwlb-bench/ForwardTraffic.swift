import PacketIO
import Wire
#if canImport(Glibc)
import Glibc
#endif

/// The traffic of `gwlb-bench forward`: a sender that blasts UDP datagrams of one IP size over
/// several flows with sendmmsg, and a sink that counts what arrives. Both run inside the lab's
/// namespaces, started by the orchestrator.
enum ForwardTraffic {
    static let port: UInt16 = 9000
    static let flows = 16

    /// Sends `size`-byte IP packets (IPv4 + UDP) to `destination` for `seconds`; prints the count.
    static func send(to destination: IPv4Address, size: Int, seconds: Double) {
        let sockets = (0..<flows).map { _ in try! GeneveSocket(bind: UDPPeer(address: IPv4Address(rawValue: 0), port: 0), reusePort: false) }
        let batch = PacketBatch(capacity: 64, packetCapacity: 2048, headroom: 0)
        for slot in 0..<batch.capacity {
            batch.offsets[slot] = 0
            batch.lengths[slot] = size - 28
            batch.peers[slot] = UDPPeer(address: destination, port: port)
        }
        batch.count = batch.capacity
        let end = monotonicSeconds() + seconds
        var sent = 0, round = 0
        while monotonicSeconds() < end {
            for _ in 0..<8 {
                sent += sockets[round % flows].send(batch)
                round += 1
            }
        }
        print(sent)
    }

    /// Counts datagrams on the benchmark port until none came for a second after the first; prints the count.
    static func sink() {
        let socket = try! GeneveSocket(bind: UDPPeer(address: IPv4Address(rawValue: 0), port: port), reusePort: false)
        let batch = PacketBatch(capacity: 64, packetCapacity: 2048, headroom: 0)
        var received = 0
        var descriptor = pollfd(fd: socket.descriptor, events: Int16(POLLIN), revents: 0)
        var started = false
        while true {
            let ready = poll(&descriptor, 1, started ? 1000 : 30_000)
            if ready == 0 { break }
            while true {
                socket.receive(into: batch)
                if batch.count == 0 { break }
                received += batch.count
                started = true
            }
        }
        print(received)
    }

    static func monotonicSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}

/// The bare loop baseline: the same TUN queues and GENEVE sockets as gwlbd (PacketIO's SystemIO),
/// one thread per queue, and no logic: every packet from the endpoint gets one fixed GENEVE header
/// and goes to one appliance; every datagram back loses its first 40 bytes and goes into the endpoint.
enum BareLoop {
    static func run(interface: String, local: IPv4Address, appliance: IPv4Address, workers: Int) -> Never {
        let device = try! TunDevice(name: interface, queueCount: workers, mtu: 9001)
        var header = [UInt8](repeating: 0, count: Geneve.awsHeaderLength)
        header.withUnsafeMutableBytes {
            AWSGeneveMetadata.write(to: $0, protocolType: Geneve.protocolTypeIPv4, endpointID: 1, attachmentID: 2, cookie: 3)
        }
        let ios = (0..<workers).map { queue in
            try! SystemIO(endpoints: EndpointRegistry([device]), queue: queue, socket: GeneveSocket(bind: UDPPeer(address: local, port: Geneve.udpPort)))
        }
        for io in ios.dropFirst() {
            let context = Unmanaged.passRetained(LoopContext(io: io, header: header, appliance: appliance))
            var thread = pthread_t()
            pthread_create(&thread, nil, { raw in
                Unmanaged<LoopContext>.fromOpaque(raw!).takeRetainedValue().loop()
            }, context.toOpaque())
        }
        LoopContext(io: ios[0], header: header, appliance: appliance).loop()
    }

    final class LoopContext {
        let io: SystemIO
        let header: [UInt8]
        let appliance: UDPPeer
        let out = PacketBatch(), back = PacketBatch()

        init(io: SystemIO, header: [UInt8], appliance: IPv4Address) {
            self.io = io
            self.header = header
            self.appliance = UDPPeer(address: appliance, port: Geneve.udpPort)
        }

        func loop() -> Never {
            while true {
                var work = false
                io.readEndpoint(0, into: out)
                if out.count > 0 {
                    work = true
                    for slot in 0..<out.count {
                        out.offsets[slot] -= header.count
                        out.lengths[slot] += header.count
                        header.withUnsafeBytes { out.data(slot).copyMemory(from: $0) }
                        out.peers[slot] = appliance
                    }
                    _ = io.sendDatagrams(out)
                }
                io.receiveDatagrams(into: back)
                if back.count > 0 {
                    work = true
                    for slot in 0..<back.count where back.lengths[slot] > header.count {
                        _ = io.writeEndpoint(0, packet: UnsafeRawBufferPointer(rebasing: back.data(slot)[header.count...]))
                    }
                }
                if !work { io.waitForInput(timeoutMilliseconds: 100) }
            }
        }
    }
}
