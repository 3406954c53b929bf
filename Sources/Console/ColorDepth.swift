/// How many colours the terminal shows, best first (README "The console"): 24-bit, 256, 16, 8, none.
public enum ColorDepth: Int, Sendable, CaseIterable, Comparable {
    case monochrome = 0, ansi8 = 8, ansi16 = 16, indexed256 = 256, trueColor = 16_777_216

    public static func < (lhs: ColorDepth, rhs: ColorDepth) -> Bool { lhs.rawValue < rhs.rawValue }

    /// From the environment: `NO_COLOR` → monochrome; `COLORTERM=truecolor|24bit` → 24-bit; else the
    /// number of colours terminfo reports for `TERM` (`colors`).
    public static func detect(environment: [String: String], terminfoColors: Int) -> ColorDepth {
        if let noColor = environment["NO_COLOR"], !noColor.isEmpty { return .monochrome }
        if let colorTerm = environment["COLORTERM"], ["truecolor", "24bit"].contains(colorTerm.lowercased()), terminfoColors >= 8 {
            return .trueColor
        }
        switch terminfoColors {
        case 256...: return .indexed256
        case 16...: return .ansi16
        case 8...: return .ansi8
        default: return .monochrome
        }
    }
}

/// A theme style as a terminal of some depth draws it.
public struct ResolvedStyle: Equatable, Sendable {
    public enum Color: Equatable, Sendable {
        case rgb(UInt8, UInt8, UInt8)
        case indexed(UInt8)
        case terminalDefault
    }

    public var color: Color
    public var attributes: Set<Theme.Attribute>
}

extension Theme {
    /// `key`'s style at `depth`. Monochrome ignores the theme: a fixed table of attributes that no
    /// theme can break (state is never shown by colour alone anyway: a word or symbol goes with it).
    public func resolve(_ key: String, at depth: ColorDepth) -> ResolvedStyle {
        if depth == .monochrome { return ResolvedStyle(color: .terminalDefault, attributes: Self.monochrome[key] ?? []) }
        let style = self.style(key)
        return ResolvedStyle(color: Self.reduce(style.color, to: depth), attributes: style.attributes)
    }

    static let monochrome: [String: Set<Attribute>] = [
        "title": [.bold], "selected_fg": [.reverse], "selected_bg": [.reverse], "header_fg": [.reverse], "header_bg": [.reverse],
        "target_unhealthy": [.bold, .reverse], "target_draining": [.bold], "target_unused": [.dim], "drop": [.bold],
        "pending": [.underline], "stale": [.dim], "occupancy_end": [.bold],
    ]

    static func reduce(_ color: Color, to depth: ColorDepth) -> ResolvedStyle.Color {
        switch (color, depth) {
        case (.terminalDefault, _): return .terminalDefault
        case (.rgb(let r, let g, let b), .trueColor): return .rgb(r, g, b)
        case (.rgb(let r, let g, let b), .indexed256): return .indexed(xterm256(r, g, b))
        case (.rgb(let r, let g, let b), _): return .indexed(nearest(rgb: (r, g, b), among: depth == .ansi16 ? 16 : 8))
        case (.indexed(let index), .trueColor), (.indexed(let index), .indexed256): return .indexed(index)
        case (.indexed(let index), _):
            let limit = depth == .ansi16 ? 16 : 8
            if Int(index) < limit { return .indexed(index) }
            return .indexed(nearest(rgb: paletteRGB(index), among: limit))
        }
    }

    /// xterm's 6×6×6 cube and grey ramp: the closer of the two.
    static func xterm256(_ r: UInt8, _ g: UInt8, _ b: UInt8) -> UInt8 {
        let levels = [0, 95, 135, 175, 215, 255]
        func step(_ value: UInt8) -> Int { levels.indices.min { abs(levels[$0] - Int(value)) < abs(levels[$1] - Int(value)) }! }
        let cube = 16 + 36 * step(r) + 6 * step(g) + step(b)
        let grey = min(23, max(0, (Int(r) + Int(g) + Int(b)) / 3 - 3) / 10)
        let greyValue = 8 + 10 * grey
        let cubeRGB = (levels[step(r)], levels[step(g)], levels[step(b)])
        let distance = { (x: (Int, Int, Int)) in (x.0 - Int(r)) * (x.0 - Int(r)) + (x.1 - Int(g)) * (x.1 - Int(g)) + (x.2 - Int(b)) * (x.2 - Int(b)) }
        return distance(cubeRGB) <= distance((greyValue, greyValue, greyValue)) ? UInt8(cube) : UInt8(232 + grey)
    }

    /// The RGB of an xterm palette index.
    static func paletteRGB(_ index: UInt8) -> (UInt8, UInt8, UInt8) {
        switch index {
        case 0..<16: return ansi[Int(index)]
        case 16..<232:
            let levels: [UInt8] = [0, 95, 135, 175, 215, 255]
            let n = Int(index) - 16
            return (levels[n / 36], levels[n / 6 % 6], levels[n % 6])
        default:
            let value = UInt8(8 + 10 * (Int(index) - 232))
            return (value, value, value)
        }
    }

    static let ansi: [(UInt8, UInt8, UInt8)] = [
        (0, 0, 0), (205, 0, 0), (0, 205, 0), (205, 205, 0), (0, 0, 238), (205, 0, 205), (0, 205, 205), (229, 229, 229),
        (127, 127, 127), (255, 0, 0), (0, 255, 0), (255, 255, 0), (92, 92, 255), (255, 0, 255), (0, 255, 255), (255, 255, 255),
    ]

    static func nearest(rgb: (UInt8, UInt8, UInt8), among count: Int) -> UInt8 {
        let (r, g, b) = (Int(rgb.0), Int(rgb.1), Int(rgb.2))
        return UInt8((0..<count).min { a, c in
            let x = ansi[a], y = ansi[c]
            let dx = (Int(x.0) - r) * (Int(x.0) - r) + (Int(x.1) - g) * (Int(x.1) - g) + (Int(x.2) - b) * (Int(x.2) - b)
            let dy = (Int(y.0) - r) * (Int(y.0) - r) + (Int(y.1) - g) * (Int(y.1) - g) + (Int(y.2) - b) * (Int(y.2) - b)
            return dx < dy
        }!)
    }
}
