import DataPlane
import Flows
import PacketIO
import TestSupport
import Wire

/// A data plane over in-memory I/O, driven by hand: no threads, a manual clock.
///
///     endpoint 0 ──▶ worker(s) ──GENEVE──▶ appliances 198.18.1.11, .12, .13
///         ▲                                   │ (the test reflects datagrams back)
///         └──────── inner packet ◀────────────┘
final class Harness {
    static let endpoints = [EndpointIdentity(endpointID: 0x0123_4567_89AB_CDEF, attachmentID: 0x1122_3344_5566_7788),
                            EndpointIdentity(endpointID: 0xE2, attachmentID: 0xA2)]
    static let appliances = [IPv4Address(198, 18, 1, 11), IPv4Address(198, 18, 1, 12), IPv4Address(198, 18, 1, 13)]

    let ios: [MemoryIO]
    let plane: DataPlane
    var clock = ManualClock()
    private var version: UInt64 = 1

    init(workers: Int = 1, flowsPerWorker: Int = 1024, targets: [IPv4Address] = Harness.appliances,
         keyMode: FlowKeyMode = .fiveTuple, resetWithoutFlow: Bool = false, innerFlowCheck: Bool = true,
         flowLogInterval: UInt32 = 0, handoffCapacity: Int = 256, clusterCookie: ClusterCookie? = nil) {
        ios = (0..<workers).map { _ in MemoryIO(endpointCount: Harness.endpoints.count) }
        var configuration = DataPlaneConfiguration(flowsPerWorker: flowsPerWorker)
        configuration.dropCapacity = 64
        configuration.flowLogInterval = flowLogInterval
        configuration.handoffCapacity = handoffCapacity
        plane = DataPlane(configuration: configuration, ios: ios,
                          snapshot: Harness.snapshot(version: 1, targets: targets, keyMode: keyMode, resetWithoutFlow: resetWithoutFlow,
                                                     innerFlowCheck: innerFlowCheck, clusterCookie: clusterCookie))
    }

    static func snapshot(version: UInt64, targets: [IPv4Address], keyMode: FlowKeyMode = .fiveTuple,
                         resetWithoutFlow: Bool = false, innerFlowCheck: Bool = true, clusterCookie: ClusterCookie? = nil) -> ForwardingSnapshot {
        let base = ForwardingSnapshot(version: version, endpoints: endpoints, healthyTargets: targets, keyMode: keyMode)
        return ForwardingSnapshot(version: version, endpoints: endpoints, targets: base.targets, selection: base.policies[0].selection,
                                  keyMode: keyMode, timeouts: base.policies[0].timeouts, resetWithoutFlow: resetWithoutFlow,
                                  innerFlowCheck: innerFlowCheck, clusterCookie: clusterCookie)
    }

    func publish(targets: [IPv4Address]) {
        version += 1
        plane.publish(Harness.snapshot(version: version, targets: targets))
    }

    var time: DataPlaneTime { DataPlaneTime(seconds: clock.now, wallNanoseconds: Int64(clock.now) * 1_000_000_000) }

    /// Runs every worker until none has anything left to do, then publishes counters.
    func run() {
        var busy = true
        while busy {
            busy = false
            for worker in plane.workers where worker.runOnce(at: time) { busy = true }
        }
        for worker in plane.workers { worker.publish() }
    }

    /// Puts a packet on an endpoint, as the kernel would route it in, at worker `worker`'s queue.
    func send(_ packet: [UInt8], endpoint: Int = 0, worker: Int = 0) {
        ios[worker].endpointInput[endpoint].append(packet)
    }

    /// Takes everything sent to appliances so far.
    func takeSent() -> [(to: UDPPeer, bytes: [UInt8])] {
        var all: [(to: UDPPeer, bytes: [UInt8])] = []
        for io in ios {
            all += io.datagramOutput
            io.datagramOutput = []
        }
        return all
    }

    /// Takes everything written into endpoint `endpoint` so far.
    func takeDelivered(endpoint: Int = 0) -> [[UInt8]] {
        var all: [[UInt8]] = []
        for io in ios {
            all += io.endpointOutput[endpoint]
            io.endpointOutput[endpoint] = []
        }
        return all
    }

    /// An appliance's answer arriving at worker `worker`: from `from` (default: where it was sent).
    func reflect(_ datagram: (to: UDPPeer, bytes: [UInt8]), from: IPv4Address? = nil, worker: Int = 0,
                 edit: (inout [UInt8]) -> Void = { _ in }) {
        var bytes = datagram.bytes
        edit(&bytes)
        ios[worker].datagramInput.append((UDPPeer(address: from ?? datagram.to.address, port: Geneve.udpPort), bytes))
    }

    var statistics: DataPlaneStatistics { plane.statistics() }
}
