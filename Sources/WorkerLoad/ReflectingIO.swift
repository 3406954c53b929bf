import PacketIO
import Wire

/// In-memory I/O that plays the kernel and an appliance: endpoint reads serve one packet per flow
/// per round; datagrams sent come back as if the appliance returned them. Nothing allocates after init.
public final class ReflectingIO: WorkerIO {
    public let flows: Int
    private let templates: PacketBatch
    private let returns: PacketBatch
    private var nextFlow = 0
    private var pending = 0
    public private(set) var delivered = 0

    public init(flows: Int) {
        self.flows = flows
        templates = PacketBatch(capacity: flows, packetCapacity: 64, headroom: 0)
        returns = PacketBatch(capacity: 128, packetCapacity: 128, headroom: 0)
        for flow in 0..<flows {
            let packet = templates.readArea(flow)
            var ip = IPv4Header(totalLength: 20 + 8 + 18, protocol: .udp, source: IPv4Address(rawValue: 0xC612_0000 | UInt32(flow >> 8)),
                                destination: IPv4Address(rawValue: 0xC613_0000 | UInt32(flow & 0xFF)))
            ip = ip.withComputedChecksum()
            ip.write(to: packet)
            UDPHeader(sourcePort: UInt16(1024 + flow % 60000), destinationPort: 53, length: 26)
                .write(to: UnsafeMutableRawBufferPointer(rebasing: packet[20...]))
            templates.lengths[flow] = 46
        }
    }

    public func startRound() { nextFlow = 0 }

    public var endpointCount: Int { 1 }

    public func readEndpoint(_ endpoint: Int, into batch: PacketBatch) {
        var count = 0
        while count < batch.capacity, nextFlow < flows, pending < returns.capacity - batch.capacity {
            let length = templates.lengths[nextFlow]
            batch.readArea(count).copyMemory(from: UnsafeRawBufferPointer(rebasing: templates.readArea(nextFlow)[..<length]))
            batch.offsets[count] = batch.headroom
            batch.lengths[count] = length
            count += 1
            nextFlow += 1
        }
        batch.count = count
    }

    public func writeEndpoint(_ endpoint: Int, packet: UnsafeRawBufferPointer) -> Bool {
        delivered += 1
        return true
    }

    public func receiveDatagrams(into batch: PacketBatch) {
        let count = min(pending, batch.capacity)
        for slot in 0..<count {
            let source = pending - count + slot
            let length = returns.lengths[source]
            batch.slot(slot).copyMemory(from: UnsafeRawBufferPointer(rebasing: returns.readArea(source)[..<length]))
            batch.offsets[slot] = 0
            batch.lengths[slot] = length
            batch.peers[slot] = returns.peers[source]
        }
        pending -= count
        batch.count = count
    }

    public func sendDatagrams(_ batch: PacketBatch) -> Int {
        var sent = 0
        for slot in 0..<batch.count where batch.lengths[slot] > 0 && pending < returns.capacity {
            let data = batch.data(slot)
            returns.readArea(pending).copyMemory(from: UnsafeRawBufferPointer(data))
            returns.lengths[pending] = data.count
            returns.peers[pending] = batch.peers[slot]
            pending += 1
            sent += 1
        }
        return sent
    }

    public func waitForInput(timeoutMilliseconds: Int32) {}
    public func wakeUp() {}
}

/// The baseline: ReflectingIO driven with no logic at all.
public final class InMemoryBareLoop {
    public let io: ReflectingIO
    let out = PacketBatch(), back = PacketBatch()
    let peer = UDPPeer(address: IPv4Address(198, 18, 1, 11), port: Geneve.udpPort)

    public init(io: ReflectingIO) { self.io = io }

    public func round() {
        io.startRound()
        while true {
            io.readEndpoint(0, into: out)
            for slot in 0..<out.count {
                out.offsets[slot] -= Geneve.awsHeaderLength
                out.lengths[slot] += Geneve.awsHeaderLength
                AWSGeneveMetadata.write(to: out.data(slot), protocolType: Geneve.protocolTypeIPv4, endpointID: 1, attachmentID: 2, cookie: 3)
                out.peers[slot] = peer
            }
            _ = io.sendDatagrams(out)
            io.receiveDatagrams(into: back)
            for slot in 0..<back.count {
                _ = io.writeEndpoint(0, packet: UnsafeRawBufferPointer(rebasing: back.data(slot)[Geneve.awsHeaderLength...]))
            }
            if out.count == 0 && back.count == 0 { return }
        }
    }
}
