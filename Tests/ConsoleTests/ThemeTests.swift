import Foundation
import Testing
@testable import Console

@Suite struct ThemeTests {
    static let themes = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../themes").standardized.path

    /// Every file in themes/ loads without a warning and resolves every key at every depth.
    @Test func everyShippedThemeLoadsAndResolves() throws {
        let names = Theme.available(in: [Self.themes])
        #expect(Set(["default", "light", "mono", "tty16", "colorblind"]).isSubset(of: Set(names)), "\(names)")
        for name in names {
            let (theme, warnings) = try Theme.load(named: name, from: [Self.themes])
            #expect(warnings.isEmpty, "\(name): \(warnings)")
            for key in Theme.keys {
                #expect(theme.styles[key] != nil, "\(name) sets \(key)")
                for depth in ColorDepth.allCases {
                    let resolved = theme.resolve(key, at: depth)
                    switch (resolved.color, depth) {
                    case (.rgb, .trueColor), (.terminalDefault, _): break
                    case (.indexed(let index), .ansi8): #expect(index < 8, "\(name).\(key) at 8 colours")
                    case (.indexed(let index), .ansi16): #expect(index < 16, "\(name).\(key) at 16 colours")
                    case (.indexed, .indexed256), (.indexed, .trueColor): break
                    default: Issue.record("\(name).\(key) at \(depth): \(resolved)")
                    }
                    if depth == .monochrome { #expect(resolved.color == .terminalDefault) }
                }
            }
        }
    }

    @Test func syntaxFallbacksAndWarnings() {
        let (theme, warnings) = Theme.parse("""
            # a comment
            theme[title]="#abc bold underline"
            theme[drop]="196"
            theme[graph]="bright_cyan"
            theme[cpu_box]="#ffffff"
            theme[border]="#12345"
            not a theme line
            """, name: "test")
        #expect(theme.style("title") == Theme.Style(.rgb(0xAA, 0xBB, 0xCC), [.bold, .underline]))
        #expect(theme.style("drop") == Theme.Style(.indexed(196)))
        #expect(theme.style("graph") == Theme.Style(.indexed(14)))
        #expect(theme.style("border") == Theme.builtIn.style("border"), "unreadable value: the default's")
        #expect(theme.style("target_healthy") == Theme.builtIn.style("target_healthy"), "missing key: the default's")
        #expect(warnings.map(\.line) == [6, 7], "unknown keys are ignored silently; bad lines are reported")
    }

    @Test func depthsReduceColours() {
        #expect(Theme.reduce(.rgb(255, 0, 0), to: .indexed256) == .indexed(196))
        #expect(Theme.reduce(.rgb(255, 0, 0), to: .ansi16) == .indexed(9))
        #expect(Theme.reduce(.rgb(200, 0, 0), to: .ansi8) == .indexed(1))
        #expect(Theme.reduce(.rgb(128, 128, 128), to: .indexed256) == .indexed(244))
        #expect(Theme.reduce(.indexed(196), to: .ansi8) == .indexed(1))
        #expect(ColorDepth.detect(environment: ["NO_COLOR": "1", "COLORTERM": "truecolor"], terminfoColors: 256) == .monochrome)
        #expect(ColorDepth.detect(environment: ["COLORTERM": "truecolor"], terminfoColors: 256) == .trueColor)
        #expect(ColorDepth.detect(environment: [:], terminfoColors: 256) == .indexed256)
        #expect(ColorDepth.detect(environment: [:], terminfoColors: 8) == .ansi8)
        #expect(ColorDepth.detect(environment: [:], terminfoColors: -1) == .monochrome, "TERM=vt100: no colours")
        #expect(Theme.builtIn.resolve("target_unhealthy", at: .monochrome).attributes == [.bold, .reverse])
    }

    @Test func ratesSurviveACounterReset() {
        var rate = CounterRate()
        rate.sample(100, at: 0)
        #expect(rate.perSecond == nil)
        rate.sample(300, at: 2)
        #expect(rate.perSecond == 100)
        rate.sample(50, at: 3)  // gwlbd restarted: counting from zero again
        #expect(rate.perSecond == 50)
        rate.sample(50, at: 3)  // the same instant: nothing new
        #expect(rate.perSecond == 50)
    }
}
