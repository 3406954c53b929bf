import Testing
@testable import Console

/// Rates over 2, 10 and 40 seconds, as iftop shows them: `w` cycles, every rate on the screen follows.
@Suite struct RateWindowTests {
    @Test func eachWindowAveragesItsOwnSpan() {
        var rate = CounterRate()
        #expect(rate.perSecond(over: 2) == nil)
        // 100/s for 40 s, then 1,000/s for 10 s (one sample a second).
        var value: UInt64 = 0
        for second in 0...50 {
            rate.sample(value, at: Double(second))
            value += second < 40 ? 100 : 1000
        }
        #expect(rate.perSecond(over: 2) == 1000)
        #expect(rate.perSecond(over: 10) == 1000)
        let expected40: Double = (30 * 100 + 10 * 1000) / 40
        #expect(rate.perSecond(over: 40) == expected40, "\(rate.perSecond(over: 40)! - expected40)")
        // A reset (gwlbd restarted) counts from zero within the window, never negative.
        rate.sample(500, at: 51)
        let afterReset: Double = (1000 + 500) / 2
        #expect(rate.perSecond(over: 2) == afterReset, "\(rate.perSecond(over: 2)! - afterReset)")
    }

    @Test func whileTheHistoryIsShortAWindowUsesWhatThereIs() {
        var rate = CounterRate()
        rate.sample(0, at: 0)
        rate.sample(300, at: 3)
        #expect(rate.perSecond(over: 40) == 100 && rate.perSecond(over: 2) == 100)
    }

    @Test func wCyclesTheWindowAndTheScreenSaysWhich() {
        var state = ConsoleState()
        #expect(state.rateWindow == 2)
        for expected in [10.0, 40, 2] {
            _ = state.handle(.character("w"), model: ScreenTests.model())
            #expect(state.rateWindow == expected)
        }
        _ = state.handle(.character("w"), model: ScreenTests.model())
        let surface = MemorySurface(width: 120, height: 40)
        ConsoleScreen(glyphs: .unicode).draw(ScreenTests.model(), state, on: surface)
        #expect(surface.text.contains("rates over 10 s"))
    }

    /// Half an 80-column screen keeps a drop's addresses whole; the time and ports give way first.
    @Test func dropsKeepTheirAddressesReadable() {
        let drop = ConsoleModel.Drop(time: "2026-12-03T10:00:01.000Z", reason: "unknown_flow", source: "198.18.100.200", destination: "198.18.200.100",
                                     sourcePort: 40000, destinationPort: 443, proto: "tcp", size: 1500, endpoint: 0)
        let screen = ConsoleScreen(glyphs: .unicode)
        #expect(screen.dropLine(drop, width: 80) == "10:00:01 unknown_flow 1500B tcp 198.18.100.200:40000→198.18.200.100:443")
        #expect(screen.dropLine(drop, width: 42) == "unknown_flow 198.18.100.200→198.18.200.100")
        #expect(screen.dropLine(drop, width: 38) == "198.18.100.200→198.18.200.100 unknown_", "the addresses before the reason's end")
        let six = ConsoleModel.Drop(time: "2026-12-03T10:00:02.000Z", reason: "oversize", source: "fd00:10::2", destination: "fd00:20::2", sourcePort: 1, destinationPort: 2,
                                    proto: "udp", size: 9000, endpoint: nil)
        #expect(screen.dropLine(six, width: 57) == "10:00:02 oversize 9000B udp [fd00:10::2]:1→[fd00:20::2]:2")
        #expect(screen.dropLine(six, width: 56) == "oversize 9000B [fd00:10::2]:1→[fd00:20::2]:2")
        let cut = screen.dropLine(drop, width: 20)
        #expect(cut.count == 20 && cut.contains("…") && cut.hasPrefix("198.18.10") && cut.hasSuffix(".200.100"), "\(cut)")
    }
}
