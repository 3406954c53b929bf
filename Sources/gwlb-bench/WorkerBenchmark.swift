import CAllocationCounter
import DataPlane
import Flows
import PacketIO
import Wire

/// `gwlb-bench worker`: a data-plane worker's own cost per packet, without the kernel. The I/O is
/// in memory (`ReflectingIO`: endpoint packets come from templates; what the worker sends to an
/// appliance comes straight back from it), so the figure is the worker's logic plus the copies the
/// I/O makes. The baseline runs the same I/O with no logic (fixed header on, fixed header off).
struct WorkerBenchmark {
    let flows: Int
    let rounds: Int

    func run() {
        let appliances = (1...3).map { IPv4Address(198, 18, 1, UInt8(10 + $0)) }
        let snapshot = ForwardingSnapshot(version: 1, endpoints: [EndpointIdentity(endpointID: 1, attachmentID: 2)],
                                          healthyTargets: appliances)
        print("gwlb-bench worker: \(flows) UDP flows, \(rounds) rounds (each flow one packet out and one back per round), 1 worker, in-memory I/O")

        let io = ReflectingIO(flows: flows)
        let plane = DataPlane(configuration: DataPlaneConfiguration(flowsPerWorker: flows * 2), ios: [io], snapshot: snapshot)
        let worker = plane.workers[0]
        let time = DataPlaneTime(seconds: 100, wallNanoseconds: 0)
        func runRound() {
            io.startRound()
            while worker.runOnce(at: time) {}
        }
        runRound()  // creates the flows
        let allocationsBefore = gwlb_thread_allocation_count()
        let start = nanoseconds()
        for _ in 0..<rounds { runRound() }
        let elapsed = Double(nanoseconds() - start)
        let allocations = gwlb_thread_allocation_count() - allocationsBefore
        let packets = Double(rounds * flows * 2)
        precondition(io.delivered == (rounds + 1) * flows, "every packet must come back through the worker")

        // Rounds alternating with and without a capture running on a flow that is not in the
        // traffic (medians of each): what every other packet pays for a capture is the filter check.
        let captureFilter = CaptureFilter(address: IPv6Address(mapping: IPv4Address(198, 19, 255, 254)))
        var withCapture: [Double] = [], withoutCapture: [Double] = []
        for round in 0..<(2 * rounds) {
            let capturing = round % 2 == 1
            let session = capturing ? plane.startCapture(captureFilter) : nil
            let roundStart = nanoseconds()
            runRound()
            let roundTime = Double(nanoseconds() - roundStart) / Double(flows * 2)
            if capturing {
                if let session { plane.stopCapture(session) }
                withCapture.append(roundTime)
            } else {
                withoutCapture.append(roundTime)
            }
        }
        let median = { (values: [Double]) in values.sorted()[values.count / 2] }

        let bare = ReflectingIO(flows: flows)
        let bareLoop = InMemoryBareLoop(io: bare)
        bareLoop.round()
        let bareStart = nanoseconds()
        for _ in 0..<rounds { bareLoop.round() }
        let bareElapsed = Double(nanoseconds() - bareStart)
        precondition(bare.delivered == (rounds + 1) * flows)

        var report = Report()
        report.add("worker, per packet (out or back)", elapsed / packets, "ns", baseline: ("same I/O, no logic", bareElapsed / packets))
        report.add("capture on another flow, median", median(withCapture), "ns",
                   baseline: ("rounds without, median", median(withoutCapture)))
        report.add("heap allocations per packet", Double(allocations) / packets, "allocs", goal: "0")
        report.print()
        let statistics = plane.statistics()
        print("flows created: \(statistics.newFlows), drops: \(statistics.totalDrops)")
    }
}

/// In-memory I/O that plays the kernel and an appliance: endpoint reads serve one packet per flow
/// per round; datagrams sent come back as if the appliance returned them. Nothing allocates after init.
final class ReflectingIO: WorkerIO {
    let flows: Int
    private let templates: PacketBatch
    private let returns: PacketBatch
    private var nextFlow = 0
    private var pending = 0
    private(set) var delivered = 0

    init(flows: Int) {
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

    func startRound() { nextFlow = 0 }

    var endpointCount: Int { 1 }

    func readEndpoint(_ endpoint: Int, into batch: PacketBatch) {
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

    func writeEndpoint(_ endpoint: Int, packet: UnsafeRawBufferPointer) -> Bool {
        delivered += 1
        return true
    }

    func receiveDatagrams(into batch: PacketBatch) {
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

    func sendDatagrams(_ batch: PacketBatch) -> Int {
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

    func waitForInput(timeoutMilliseconds: Int32) {}
    func wakeUp() {}
}

/// The baseline: ReflectingIO driven with no logic at all.
final class InMemoryBareLoop {
    let io: ReflectingIO
    let out = PacketBatch(), back = PacketBatch()
    let peer = UDPPeer(address: IPv4Address(198, 18, 1, 11), port: Geneve.udpPort)

    init(io: ReflectingIO) { self.io = io }

    func round() {
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
