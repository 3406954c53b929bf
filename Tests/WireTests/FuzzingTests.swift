import Foundation
import Testing

/// Every libFuzzer target (`.ci/fuzz`, README "Fuzzing") built with AddressSanitizer and run for a
/// short time on its corpus: a parser of outside bytes that crashes, overruns or breaks its
/// invariant fails the suite, with the input saved under .build/fuzz-crashes.
@Suite struct FuzzingTests {
    @Test func everyFuzzTargetRunsWithoutACrash() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let process = Process()
        process.executableURL = root.appendingPathComponent(".ci/fuzz")
        process.arguments = ["--seconds", "5"]
        process.currentDirectoryURL = root
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(text.suffix(3000))")
        let finished = text.split(separator: "\n").filter { $0.hasSuffix("no crash") }
        #expect(finished.count == 13, "every target ran: \(finished)")
    }
}
