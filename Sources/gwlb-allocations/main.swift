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

/// Heap allocations of the worker's thread over `rounds` rounds after the flows exist; nil when
/// packets were lost (the worker dropped some).
func measure(clusterCookie: ClusterCookie?) -> Int? {
    let load = ReflectedWorker(flows: flows, clusterCookie: clusterCookie)
    load.runRound()  // the first round creates the flows; what is measured is every packet after
    let before = gwlb_thread_allocation_count()
    for _ in 0..<rounds { load.runRound() }
    let allocations = gwlb_thread_allocation_count() - before
    return load.io.delivered == (rounds + 1) * flows ? Int(allocations) : nil
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
