import Foundation
import Testing
@testable import ControlClient

/// Timestamps from gwlbd are shape-checked before Foundation's parser sees them: ICU crashes
/// (SIGFPE) on a fraction of a hundred digits, the input the `stream` fuzz target saved. Without
/// the check this test crashes.
@Suite struct TimestampTests {
    @Test func wellFormedOnesParseAndTheCrashingOneIsRefused() throws {
        let parsed = try #require(Timestamp.date(from: "2026-12-02T10:00:00.123Z"))
        #expect(parsed.timeIntervalSince1970 == 1_796_205_600.123)
        #expect(Timestamp.date(from: "2026-12-02T10:00:00Z")?.timeIntervalSince1970 == 1_796_205_600)
        #expect(Timestamp.date(from: "2026-12-02T10:00:00.123000+00:00") != nil)
        let offset = try #require(Timestamp.date(from: "2026-12-02T10:00:00.123456789-05:00")).timeIntervalSince1970
        #expect(abs(offset - 1_796_223_600.123) < 0.001, "nine digits of fraction, a negative offset (Foundation keeps milliseconds)")
        let crashing = "2026-12-02T10:00:00.0" + String(repeating: "2", count: 99) + "00Z"
        for text in [crashing, "2026-12-02T10:00:00.Z", "2026-12-02 10:00:00Z", "", "2026-12-02T10:00:00.123Zjunk",
                     "2026-12-02T10:00:00.1234567890Z", "2026-12-02T10:00:00+0000", "2026-12-02T10:00:00+00:0"] {
            #expect(Timestamp.date(from: text) == nil, "\(text)")
        }
        #expect(ResponseShapes.cliTimestamp(crashing) == crashing, "the aws CLI's form: left as it came")
    }
}
