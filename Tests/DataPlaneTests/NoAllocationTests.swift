import Foundation
import Testing
import TestSupport
import TestTraits

/// The per-packet path allocates nothing: `gwlb-allocations` (a worker over in-memory I/O, UDP flows
/// out to an appliance and back) is built with optimizations, as gwlbd runs (a debug build boxes
/// what `-O` keeps on the stack, so only the release build says anything), and must count no heap
/// allocation on the worker's thread after the flows exist.
@Suite(.blocking) struct NoAllocationTests {
    @Test func theWorkerAllocatesNothingPerPacket() throws {
        let root = Program.packageRoot()
        let env = URL(fileURLWithPath: "/usr/bin/env")
        let build = try Program.run(env, ["swift", "build", "-c", "release", "--product", "gwlb-allocations", "--scratch-path", ".build/allocations"], in: root)
        try #require(build.status == 0, "the release build failed:\n\(build.output.suffix(3000))")
        let check = try Program.run(env, [".build/allocations/release/gwlb-allocations"], in: root)
        for mode in ["one gwlbd", "a node of a cluster"] {
            #expect(check.output.contains("gwlb-allocations (\(mode)): 0 heap allocations in "), "\(check.output)")
        }
        #expect(check.status == 0, "\(check.output)")
        // The counter is live: the same program unoptimized (built with the tests) counts plenty.
        let debug = try Program.run(env, [".build/debug/gwlb-allocations"], in: root)
        #expect(debug.status == 1 && !debug.output.contains(" 0 heap allocations in "), "the debug build should allocate: \(debug.output)")
    }
}
