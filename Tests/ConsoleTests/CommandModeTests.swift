import ControlContract
import Testing
@testable import Console

/// `:` command mode: Tab completes commands and their arguments from what the console knows, Enter
/// runs the line, a mistake keeps it open with what was wrong.
@Suite struct CommandModeTests {
    func typing(_ text: String, into state: inout ConsoleState) {
        for character in text { _ = state.handle(.character(character), model: ScreenTests.model()) }
    }

    func commandState(_ text: String) -> ConsoleState {
        var state = ConsoleState(themeNames: ["default", "mono", "solarized"])
        _ = state.handle(.character(":"), model: ScreenTests.model())
        typing(text, into: &state)
        return state
    }

    @Test func tabCompletesCommandsThenArguments() {
        let model = ScreenTests.model()
        var state = commandState("ta")
        _ = state.handle(.tab, model: model)
        #expect(state.dialog == .command(text: "target ", message: nil))
        // Two targets start so: their common start, and both listed.
        typing("198.18.1.1", into: &state)
        _ = state.handle(.tab, model: model)
        #expect(state.dialog == .command(text: "target 198.18.1.1", message: "198.18.1.11  198.18.1.12  198.18.1.13"))
        typing("2", into: &state)
        _ = state.handle(.tab, model: model)
        #expect(state.dialog == .command(text: "target 198.18.1.12", message: nil))
        // An ambiguous command stays as typed and lists what it could be.
        var theme = commandState("t")
        _ = theme.handle(.tab, model: model)
        #expect(theme.dialog == .command(text: "t", message: "target  theme"))
        var names = commandState("theme s")
        _ = names.handle(.tab, model: model)
        #expect(names.dialog == .command(text: "theme solarized", message: nil))
        var flows = commandState("flows 198.18.")
        #expect(flows.completions(of: "flows 198.18.", model: model).contains("flows 198.18.10.2"), "a drop's end is offered too")
        _ = flows.handle(.tab, model: model)
        var none = commandState("zz")
        _ = none.handle(.tab, model: model)
        #expect(none.dialog == .command(text: "zz", message: "no completion"))
    }

    @Test func enterRunsEachCommand() {
        let model = ScreenTests.model()
        var state = commandState("target 198.18.1.13")
        #expect(state.handle(.enter, model: model) == [])
        #expect(state.dialog == .details(target: "198.18.1.13") && state.selection == 2 && state.pane == .targets)

        state = commandState("flows 198.18.10.2")
        #expect(state.handle(.enter, model: model) == [.watchFlows(.address("198.18.10.2"))])
        #expect(state.dialog == .flows(of: .address("198.18.10.2"), selection: 0, sort: .rate))
        state = commandState("flows 198.18.1.12")
        #expect(state.handle(.enter, model: model) == [.watchFlows(.target(id: "198.18.1.12", address: "198.18.1.12"))], "a target's address: its flows")
        state = commandState("flows fd00::2")
        #expect(state.handle(.enter, model: model) == [.watchFlows(.address("fd00::2"))])

        state = commandState("theme mono")
        #expect(state.handle(.enter, model: model) == [.setTheme("mono")] && state.dialog == nil)
        state = commandState("sort pkt-out")
        _ = state.handle(.enter, model: model)
        #expect(state.sort == .packetsTo && state.visibleTargets(model).map(\.address) == ["198.18.1.12", "198.18.1.11", "198.18.1.13"])
        state = commandState("filter drain")
        _ = state.handle(.enter, model: model)
        #expect(state.filter == "drain" && state.visibleTargets(model).map(\.address) == ["198.18.1.13"])
        // :target finds a target the filter hides, and clears the filter to show it.
        typing(":target 198.18.1.11", into: &state)
        _ = state.handle(.enter, model: model)
        #expect(state.filter == "" && state.selection == 0 && state.dialog == .details(target: "198.18.1.11"))
        state = commandState("window 40")
        _ = state.handle(.enter, model: model)
        #expect(state.rateWindow == 40)
        state = commandState("lb my-load-balancer")
        _ = state.handle(.enter, model: model)
        #expect(state.dialog == nil && state.actionLog.last == "lb my-load-balancer: shown")
        state = commandState("quit")
        #expect(state.handle(.enter, model: model) == [.quit])
    }

    @Test func mistakesKeepTheLineOpenAndSayWhy() {
        let model = ScreenTests.model()
        let cases: [(String, String)] = [
            ("target 198.18.9.9", "no target 198.18.9.9"),
            ("target", ":target needs a target's address (Tab lists them)"),
            ("flows not-an-address", "not-an-address is not an IPv4 or IPv6 address"),
            ("theme neon", "no theme neon (themes: default, mono, solarized)"),
            ("sort speed", "no column speed (columns: address, state, reason, flows, pkt-out, bytes-out, pkt-back, bytes-back)"),
            ("window 5", "rates are over 2, 10 or 40 s"),
            ("lb other", "gwlbd serves my-load-balancer, not other"),
            ("drain 198.18.1.11", "no command drain (commands: filter, flows, lb, quit, sort, target, theme, window)"),
        ]
        for (line, message) in cases {
            var state = commandState(line)
            #expect(state.handle(.enter, model: model) == [], "\(line)")
            #expect(state.dialog == .command(text: line, message: message), "\(line)")
        }
        // q types a q here; Backspace on an empty line and Esc leave.
        var state = commandState("q")
        #expect(state.dialog == .command(text: "q", message: nil))
        _ = state.handle(.backspace, model: model)
        _ = state.handle(.backspace, model: model)
        #expect(state.dialog == nil)
        state = commandState("sort")
        _ = state.handle(.escape, model: model)
        #expect(state.dialog == nil && state.sort == .address)
    }

    @Test func theLineIsDrawnAtTheBottomWithTabsCandidates() throws {
        var state = commandState("target 198.18.1.1")
        _ = state.handle(.tab, model: ScreenTests.model())
        let surface = MemorySurface(width: 80, height: 24)
        ConsoleScreen(glyphs: .unicode).draw(ScreenTests.model(), state, on: surface, uptime: "1h02m")
        try ScreenTests().compare(surface.text, "command-80x24-utf8")
        #expect(surface.text.split(separator: "\n").last?.hasPrefix(":target 198.18.1.1_   198.18.1.11  198.18.1.12  198.18.1.13") == true)
    }
}

/// The history pane's bars: eighths of a cell, as tall as asked, newest on the right.
@Suite struct HistoryGraphTests {
    @Test func barsRiseInEighthsAcrossRows() {
        let screen = ConsoleScreen(glyphs: .unicode)
        #expect(screen.graph([0, 4, 8], width: 4, top: 8, height: 2) == ["   █", " ▁██"])
        #expect(screen.graph([1, 2, 3, 4, 5, 6, 7, 8], width: 8, top: 8) == ["▁▂▃▄▅▆▇█"])
        #expect(screen.graph([5, 5], width: 3, top: 0) == [" ▁▁"], "no traffic at all: the floor")
        #expect(ConsoleScreen(glyphs: .ascii).graph([8, 0], width: 2, top: 8) == ["#_"])
    }

    @Test func thePaneAppearsOnlyWhereTheTargetsLeaveRoom() {
        let surface = MemorySurface(width: 80, height: 24)
        ConsoleScreen(glyphs: .unicode).draw(ScreenTests.model(), ConsoleState(), on: surface)
        #expect(surface.text.contains("History: pkt/s to each target"))
        // A filter that leaves no target: no pane (nothing to plot).
        var state = ConsoleState()
        state.filter = "nothing matches"
        let empty = MemorySurface(width: 80, height: 24)
        ConsoleScreen(glyphs: .unicode).draw(ScreenTests.model(), state, on: empty)
        #expect(!empty.text.contains("History"))
    }
}

/// The hello the `stream` fuzz target saved (a start time whose fraction ICU divides by zero on):
/// the model takes it and has no start time.
@Suite struct MalformedHelloTests {
    @Test func aStartTimeICUCrashesOnIsIgnored() {
        var model = ConsoleModel()
        let startTime = "2026-12-02T10:00:00.0" + String(repeating: "2", count: 99) + "00Z"
        model.apply(StreamMessage(type: .hello, seq: 1, version: "0.4.0", bootId: "a", role: "operator", startTime: startTime), at: 0)
        #expect(model.gwlbdStarted == nil && model.version == "0.4.0")
        model.apply(StreamMessage(type: .hello, seq: 2, bootId: "a", startTime: "2026-12-02T10:00:00.000Z"), at: 1)
        #expect(model.gwlbdStarted?.timeIntervalSince1970 == 1_796_205_600)
    }
}

/// Clicks: a column's title sorts by it, a target's row selects it, the selected one opens its
/// flows; the layout comes from the screen as drawn.
@Suite struct MouseTests {
    @Test func clicksSortSelectAndOpen() throws {
        let model = ScreenTests.model()
        var state = ConsoleState()
        let surface = MemorySurface(width: 120, height: 40)
        state.targetPane = ConsoleScreen(glyphs: .unicode).draw(model, state, on: surface)
        let pane = try #require(state.targetPane)
        let lines = surface.text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        // The layout agrees with what was drawn: the titles' row, and the rows of the three targets.
        #expect(lines[pane.titleRow].hasPrefix(" TARGET "))
        #expect(pane.rows.map { lines[$0].contains("198.18.1.1") } == [true, true, true])
        func column(_ title: String) throws -> Int { try #require(lines[pane.titleRow].range(of: title)).lowerBound.utf16Offset(in: lines[pane.titleRow]) + 1 }

        _ = state.handle(.click(row: pane.titleRow, column: try column("FLOWS")), model: model)
        #expect(state.sort == .flows && state.visibleTargets(model).map(\.address) == ["198.18.1.12", "198.18.1.11", "198.18.1.13"])
        _ = state.handle(.click(row: pane.titleRow, column: try column("CHECK")), model: model)
        #expect(state.sort == .flows, "CHECK sorts nothing")
        #expect(state.handle(.click(row: pane.rows.lowerBound + 2, column: 5), model: model) == [])
        #expect(state.selection == 2 && state.selectedTarget(model)?.address == "198.18.1.13")
        // The selected row again: its flows, as Enter.
        #expect(state.handle(.click(row: pane.rows.lowerBound + 2, column: 5), model: model) == [.watchFlows(.target(id: "198.18.1.13", address: "198.18.1.13"))])
        // Below the last target, and with a dialog open: nothing.
        var other = ConsoleState()
        other.targetPane = pane
        #expect(other.handle(.click(row: pane.rows.upperBound + 1, column: 5), model: model) == [] && other.selection == 0)
        other.dialog = .help
        _ = other.handle(.click(row: pane.titleRow, column: try column("FLOWS")), model: model)
        #expect(other.sort == .address && other.dialog == .help)
    }
}
