import Foundation
import Testing
import TestSupport
import TestTraits

/// Every libFuzzer target (`.ci/fuzz`, README "Fuzzing") built with AddressSanitizer and run for a
/// short time on its corpus: a parser of outside bytes that crashes, overruns or breaks its
/// invariant fails the suite, with the input saved under .build/fuzz-crashes.
@Suite(.blocking) struct FuzzingTests {
    @Test func everyFuzzTargetRunsWithoutACrash() throws {
        let root = Program.packageRoot()
        let (status, text) = try Program.run(root.appendingPathComponent(".ci/fuzz"), ["--seconds", "5"], in: root)
        #expect(status == 0, "\(text.suffix(3000))")
        let finished = text.split(separator: "\n").filter { $0.hasSuffix("no crash") }
        #expect(finished.count == 13, "every target ran: \(finished)")
    }
}
