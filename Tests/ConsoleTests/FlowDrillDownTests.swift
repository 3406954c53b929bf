import ControlContract
import Testing
@testable import Console

/// Enter on a target opens its live flows: sorted by rate, age or bytes (`s`), `c` captures the
/// selected one, Esc goes back and stops the polling.
@Suite struct FlowDrillDownTests {
    static let flows = [
        FlowWatch.Row(proto: "tcp", addressA: "198.18.10.2", portA: 40000, addressB: "198.18.20.2", portB: 443, state: "established",
                      ageSeconds: 30, packets: 100, bytes: 90_000, bytesPerSecond: 1_000),
        FlowWatch.Row(proto: "udp", addressA: "198.18.10.3", portA: 5353, addressB: "198.18.20.2", portB: 53, state: "active",
                      ageSeconds: 300, packets: 10, bytes: 1_000, bytesPerSecond: 5_000),
        FlowWatch.Row(proto: "icmp", addressA: "198.18.10.4", portA: 0, addressB: "198.18.20.2", portB: 0, state: "active",
                      ageSeconds: 5, packets: 2, bytes: 200_000, bytesPerSecond: nil),
    ]

    func model() -> ConsoleModel {
        var model = ScreenTests.model()
        model.drillFlows = Self.flows
        return model
    }

    @Test func enterWatchesSortCyclesCCapturesEscStops() {
        var state = ConsoleState()
        let model = model()
        let subject = FlowSubject.target(id: "198.18.1.11", address: "198.18.1.11")
        #expect(state.handle(.enter, model: model) == [.watchFlows(subject)])
        #expect(state.dialog == .flows(of: subject, selection: 0, sort: .rate))
        #expect(ConsoleState.sortedFlows(model.drillFlows, by: .rate).map(\.portA) == [5353, 40000, 0])
        #expect(ConsoleState.sortedFlows(model.drillFlows, by: .age).map(\.portA) == [5353, 40000, 0])
        #expect(ConsoleState.sortedFlows(model.drillFlows, by: .bytes).map(\.portA) == [0, 40000, 5353])
        _ = state.handle(.character("j"), model: model)
        #expect(state.handle(.character("c"), model: model) == [.captureFlow(address: "198.18.10.2", port: 40000)], "the second fastest")
        _ = state.handle(.character("s"), model: model)
        #expect(state.dialog == .flows(of: subject, selection: 1, sort: .age))
        #expect(state.handle(.escape, model: model) == [.watchFlows(nil)])
        #expect(state.dialog == nil)
        _ = state.handle(.character("i"), model: model)
        #expect(state.dialog == .details(target: "198.18.1.11"), "i opens the details Enter used to")
    }

    @Test func theDrillDownShowsEachFlowWithItsRate() throws {
        var state = ConsoleState()
        _ = state.handle(.enter, model: model())
        let surface = MemorySurface(width: 120, height: 40)
        ConsoleScreen(glyphs: .unicode).draw(model(), state, on: surface)
        let text = surface.text
        #expect(text.contains("Flows on 198.18.1.11 (3) sort: rate"), "\(text)")
        let lines = text.split(separator: "\n")
        let udp = lines.firstIndex { $0.contains("198.18.10.3:5353") }, tcp = lines.firstIndex { $0.contains("198.18.10.2:40000") }
        #expect(udp != nil && tcp != nil && udp! < tcp!, "fastest first")
        #expect(lines.contains { $0.contains("→udp") && $0.contains("40.0kb/s") }, "the selected row, 5,000 B/s as bits")
        #expect(lines.contains { $0.contains("198.18.10.4 ") && $0.contains("200.0k") && $0.contains(" - ") }, "no rate on a first poll")
        try ScreenTests().compare(text, "flows-120x40-utf8")
        // :flows ADDRESS: the same pane, titled by the address.
        var byAddress = ConsoleState()
        byAddress.dialog = .flows(of: .address("198.18.10.2"), selection: 0, sort: .bytes)
        let narrow = MemorySurface(width: 80, height: 24)
        ConsoleScreen(glyphs: .ascii).draw(model(), byAddress, on: narrow)
        try ScreenTests().compare(narrow.text, "flows-address-80x24-ascii")
    }

    @Test func ratesComeFromOnePollToTheNext() {
        var previous: [String: (bytes: Int, time: Double)] = [:]
        func answer(bytes: Int) -> FlowsAnswer {
            FlowsAnswer(flows: [FlowRow(addressA: "198.18.10.2", portA: 1, addressB: "198.18.20.2", portB: 2, protocol: "tcp", bytes: bytes)],
                        truncated: false)
        }
        #expect(FlowWatch.rows(from: answer(bytes: 1000), previous: &previous, at: 10).first?.bytesPerSecond == nil)
        #expect(FlowWatch.rows(from: answer(bytes: 5000), previous: &previous, at: 12).first?.bytesPerSecond == 2000)
    }
}
