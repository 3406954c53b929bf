import Testing
@testable import Console

/// Keys and dialogs: Cancel is focused first, the last healthy target needs its address typed,
/// registering validates the address, actions stay pending until the stream confirms them.
@Suite struct KeymapTests {
    let model = ScreenTests.model()

    func keys(_ state: inout ConsoleState, _ sequence: [Key]) -> [ConsoleAction] {
        sequence.flatMap { state.handle($0, model: model) }
    }

    @Test func drainConfirmsOnlyOnDrain() {
        var state = ConsoleState()
        let preview = ConsoleAction.previewDrain(target: "198.18.1.11")
        #expect(keys(&state, [.character("d"), .enter]) == [preview], "the dialog asks for a preview; Enter on the focused Cancel cancels")
        #expect(state.dialog == nil)
        #expect(keys(&state, [.character("d"), .tab, .enter]) == [preview, .drain(target: "198.18.1.11")])
        #expect(state.pending["198.18.1.11"] == "drain" && state.actionLog.last == "drain 198.18.1.11: pending")
        #expect(keys(&state, [.character("d"), .tab, .escape]) == [preview], "Esc cancels")
    }

    @Test func drainingTheLastHealthyTargetNeedsItsAddressTyped() {
        var model = self.model
        model.targets["198.18.1.12"]?.state = "unhealthy"
        var state = ConsoleState()
        _ = state.handle(.character("d"), model: model)
        guard case .drain(_, _, _, let needsTyping)? = state.dialog else { Issue.record("no drain dialog"); return }
        #expect(needsTyping)
        for key in [Key.tab, .enter] { #expect(state.handle(key, model: model).isEmpty, "not without the address") }
        for character in "198.18.1.11" { _ = state.handle(.character(character), model: model) }
        #expect(state.handle(.enter, model: model) == [.drain(target: "198.18.1.11")])
    }

    @Test func registerValidatesTheAddress() {
        var state = ConsoleState()
        _ = keys(&state, [.character("r")] + "198.18.1.300".map { Key.character($0) } + [.enter])
        #expect(state.dialog == .register(text: "198.18.1.300", error: "'198.18.1.300' is not an IPv4 address"))
        #expect(keys(&state, [.backspace, .backspace, .backspace, .character("4"), .enter]) == [.register(address: "198.18.1.4")])
        #expect(state.pending["198.18.1.4"] == "register")
    }

    @Test func movementFilterSortPauseAndReadOnly() {
        var state = ConsoleState()
        _ = keys(&state, [.down, .character("j"), .character("j")])
        #expect(state.selection == 2, "stops at the last row")
        _ = keys(&state, [.character("/")] + "draining".map { Key.character($0) } + [.enter])
        #expect(state.visibleTargets(model).map(\.id) == ["198.18.1.13"] && state.selection == 0)
        _ = keys(&state, [.character("/"), .backspace, .backspace, .backspace, .backspace, .backspace, .backspace, .backspace, .backspace, .enter])
        #expect(state.filter.isEmpty)
        _ = keys(&state, [.character("s"), .character("s"), .character("s")])
        #expect(state.sort == .flows && state.visibleTargets(model).first?.id == "198.18.1.12")
        // s reaches every column and comes back to the address.
        var seen: [ConsoleState.Sort] = [state.sort]
        for _ in 1...ConsoleState.Sort.allCases.count {
            _ = keys(&state, [.character("s")])
            seen.append(state.sort)
        }
        #expect(Set(seen) == Set(ConsoleState.Sort.allCases) && state.sort == .flows)
        _ = keys(&state, [.character("p")])
        #expect(state.paused)
        #expect(keys(&state, [.character("t"), .character("c"), .character("q")]) == [.nextTheme, .captureDrops, .quit])
        var readOnly = ConsoleState(readOnly: true)
        #expect(keys(&readOnly, [.character("d"), .character("r"), .character("u")]).isEmpty && readOnly.dialog == nil)
    }

    @Test func undrainAndConfirmationFromTheStream() {
        var state = ConsoleState()
        _ = keys(&state, [.down, .down])
        #expect(keys(&state, [.character("u")]) == [.register(address: "198.18.1.13")])
        state.completed("register (cancel drain)", target: "198.18.1.13", error: nil, model: self.model)
        var model = self.model
        state.confirm(from: model)
        #expect(state.pending["198.18.1.13"] != nil, "still draining on the stream: pending")
        model.targets["198.18.1.13"]?.state = "initial"
        state.confirm(from: model)
        #expect(state.pending["198.18.1.13"] == nil && state.actionLog.last == "register (cancel drain) 198.18.1.13: confirmed (initial)")
    }
}
