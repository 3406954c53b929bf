import CAllocationCounter
import DataPlane
import Flows
import PacketIO
import Wire
import WorkerLoad

/// `gwlb-bench worker`: a data-plane worker's own cost per packet, without the kernel. The I/O is
/// in memory (`ReflectingIO`: endpoint packets come from templates; what the worker sends to an
/// appliance comes straight back from it), so the figure is the worker's logic plus the copies the
/// I/O makes. The baseline runs the same I/O with no logic (fixed header on, fixed header off).
struct WorkerBenchmark {
    let flows: Int
    let rounds: Int

    func run() {
        print("gwlb-bench worker: \(flows) UDP flows, \(rounds) rounds (each flow one packet out and one back per round), 1 worker, in-memory I/O")
        let load = ReflectedWorker(flows: flows)
        let (io, plane) = (load.io, load.plane)
        let runRound = load.runRound
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
