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
// nothing). Built with optimizations, as gwlbd runs; `swift test` builds and runs it
// (NoAllocationTests) and fails on any allocation. Exit status 1 when there is one.
let flows = 4096, rounds = 3
let appliances = (1...3).map { IPv4Address(198, 18, 1, UInt8(10 + $0)) }
let snapshot = ForwardingSnapshot(version: 1, endpoints: [EndpointIdentity(endpointID: 1, attachmentID: 2)], healthyTargets: appliances)
let io = ReflectingIO(flows: flows)
let plane = DataPlane(configuration: DataPlaneConfiguration(flowsPerWorker: flows * 2), ios: [io], snapshot: snapshot)
let worker = plane.workers[0]
let time = DataPlaneTime(seconds: 100, wallNanoseconds: 0)
@MainActor func runRound() {
    io.startRound()
    while worker.runOnce(at: time) {}
}
runRound()  // the first round creates the flows; what is measured is every packet after
let before = gwlb_thread_allocation_count()
for _ in 0..<rounds { runRound() }
let allocations = gwlb_thread_allocation_count() - before
let packets = rounds * flows * 2
guard io.delivered == (rounds + 1) * flows else {
    print("gwlb-allocations: \(io.delivered) of \((rounds + 1) * flows) packets came back: the worker dropped some")
    exit(2)
}
print("gwlb-allocations: \(allocations) heap allocations in \(packets) packets (\(flows) UDP flows, out and back, \(rounds) rounds)")
exit(allocations == 0 ? 0 : 1)
