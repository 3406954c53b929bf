import CAllocationCounter
#if canImport(Glibc)
import Glibc
#endif
import DataPlane
import Flows
import PacketIO
import Wire
import WorkerLoad

// `gwlb-allocations`: counts the heap allocations of a data-plane worker per packet, out to an
// appliance and back, over in-memory I/O (README "The data plane": the per-packet path allocates
// nothing), as one gwlbd and as a node of a cluster (whose cookies are MACs every node checks).
// Built with optimizations, as gwlbd runs; `swift test` builds and runs it (NoAllocationTests)
// and fails on any allocation. Exit status 1 when there is one.
let flows = 4096, rounds = 3
let appliances = (1...3).map { IPv4Address(198, 18, 1, UInt8(10 + $0)) }

/// Heap allocations of the worker's thread over `rounds` rounds after the flows exist; nil when
/// packets were lost (the worker dropped some).
@MainActor func measure(clusterCookie: ClusterCookie?) -> Int? {
    let base = ForwardingSnapshot(version: 1, endpoints: [EndpointIdentity(endpointID: 1, attachmentID: 2)], healthyTargets: appliances)
    let snapshot = ForwardingSnapshot(version: 1, endpoints: base.endpoints, targets: base.targets, policies: base.policies, clusterCookie: clusterCookie)
    let io = ReflectingIO(flows: flows)
    let plane = DataPlane(configuration: DataPlaneConfiguration(flowsPerWorker: flows * 2), ios: [io], snapshot: snapshot)
    let worker = plane.workers[0]
    let time = DataPlaneTime(seconds: 100, wallNanoseconds: 0)
    func runRound() {
        io.startRound()
        while worker.runOnce(at: time) {}
    }
    runRound()  // the first round creates the flows; what is measured is every packet after
    let before = gwlb_thread_allocation_count()
    for _ in 0..<rounds { runRound() }
    let allocations = gwlb_thread_allocation_count() - before
    return io.delivered == (rounds + 1) * flows ? Int(allocations) : nil
}

var clean = true
for (name, cookie) in [("one gwlbd", nil), ("a node of a cluster", ClusterCookie(key0: 1, key1: 2))] as [(String, ClusterCookie?)] {
    guard let allocations = measure(clusterCookie: cookie) else {
        print("gwlb-allocations (\(name)): packets were lost: the worker dropped some")
        exit(2)
    }
    print("gwlb-allocations (\(name)): \(allocations) heap allocations in \(rounds * flows * 2) packets (\(flows) UDP flows, out and back, \(rounds) rounds)")
    if allocations != 0 { clean = false }
}
exit(clean ? 0 : 1)
