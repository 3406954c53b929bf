import CAllocationCounter
#if canImport(Glibc)
import Glibc
#endif

/// Monotonic nanoseconds.
@inline(__always)
func nanoseconds() -> UInt64 {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
}

/// Heap allocations and bytes made by this thread so far (counted by CAllocationCounter).
@inline(__always)
func allocationsSoFar() -> (count: UInt64, bytes: UInt64) {
    (gwlb_thread_allocation_count(), gwlb_thread_allocated_bytes())
}

/// Per-operation times of many batches: the median batch is what we report, so one page fault or
/// preemption does not move the figure.
struct BatchTimes {
    private(set) var perOperation: [Double] = []
    private(set) var operations = 0
    private(set) var allocations: UInt64 = 0

    /// Times `body` over a batch of `count` operations; allocations inside are counted too.
    @inline(__always)
    mutating func measure(operations count: Int, _ body: () -> Void) {
        let allocationsBefore = gwlb_thread_allocation_count()
        let start = nanoseconds()
        body()
        let elapsed = nanoseconds() - start
        allocations += gwlb_thread_allocation_count() - allocationsBefore
        perOperation.append(Double(elapsed) / Double(count))
        operations += count
    }

    var median: Double {
        let sorted = perOperation.sorted()
        return sorted.isEmpty ? .nan : sorted[sorted.count / 2]
    }

    var allocationsPerOperation: Double { operations == 0 ? .nan : Double(allocations) / Double(operations) }
}

/// The benchmark's report: one row per figure, with its baseline and the ratio.
struct Report {
    struct Row {
        let name: String
        let value: Double
        let unit: String
        let baselineName: String
        let baseline: Double?
        let goal: String
    }

    var rows: [Row] = []

    mutating func add(_ name: String, _ value: Double, _ unit: String, baseline: (String, Double)? = nil, goal: String = "") {
        rows.append(Row(name: name, value: value, unit: unit, baselineName: baseline?.0 ?? "", baseline: baseline?.1, goal: goal))
    }

    func print() {
        func pad(_ text: String, _ width: Int) -> String { text + String(repeating: " ", count: max(0, width - text.count)) }
        func number(_ value: Double) -> String {
            if value.isNaN { return "-" }
            if value == value.rounded() && abs(value) < 1e12 { return String(Int(value)) }
            let scaled = (value * 100).rounded() / 100
            return String(scaled)
        }
        Swift.print(pad("figure", 44) + pad("value", 16) + pad("baseline (same run)", 48) + pad("ratio", 9) + "goal")
        for row in rows {
            let value = number(row.value) + " " + row.unit
            let baseline = row.baseline.map { "\(row.baselineName): \(number($0)) \(row.unit)" } ?? ""
            let ratio = row.baseline.map { $0 == 0 ? "-" : number(row.value / $0) + "x" } ?? ""
            Swift.print(pad(row.name, 44) + pad(value, 16) + pad(baseline, 48) + pad(ratio, 9) + row.goal)
        }
    }
}
