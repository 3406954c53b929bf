import Logging
import Testing
@testable import Telemetry

/// gwlbd's one log format.
@Suite struct LogLinesTests {
    @Test func timeLevelLabelMessageThenSortedFields() {
        let line = LogLines.line(time: "2026-12-04T16:33:54+0000", level: .warning, label: "gwlbd", message: "flow log: disk full",
                                 fields: ["path": "/var/log/flows", "lost": "3"])
        #expect(line == "2026-12-04T16:33:54+0000 warning gwlbd: flow log: disk full lost=3 path=/var/log/flows\n")
        let time = LogLines.timestamp()
        #expect(time.count == 24 && time.dropFirst(10).first == "T", "\(time)")
    }
}
