import Foundation

/// A console theme (README "The console"): `theme[key]="value"` lines in btop's syntax, `#` comments. A value
/// is `#RRGGBB`, `#RGB`, 0–255, an ANSI colour name or `default` (the terminal's colour), then
/// optional attributes (`bold`, `dim`, `underline`, `reverse`). Keys name meanings, not widgets.
/// Unknown keys are ignored; missing keys fall back to the default theme.
public struct Theme: Equatable, Sendable {
    public let name: String
    public private(set) var styles: [String: Style]

    public struct Style: Equatable, Sendable {
        public var color: Color
        public var attributes: Set<Attribute>

        public init(_ color: Color, _ attributes: Set<Attribute> = []) {
            self.color = color
            self.attributes = attributes
        }
    }

    public enum Color: Equatable, Sendable {
        case rgb(UInt8, UInt8, UInt8)
        /// xterm's 256-colour palette.
        case indexed(UInt8)
        case terminalDefault
    }

    public enum Attribute: String, Sendable, CaseIterable {
        case bold, dim, underline, reverse
    }

    /// Every key the console draws with.
    public static let keys = [
        "main_fg", "main_bg", "title", "border", "selected_fg", "selected_bg", "header_fg", "header_bg",
        "target_healthy", "target_unhealthy", "target_draining", "target_initial", "target_unused",
        "drop", "pending", "stale", "graph", "occupancy_start", "occupancy_mid", "occupancy_end",
    ]

    /// What a line of a theme file could not say, for `--theme` to report.
    public struct Warning: Equatable, Sendable, CustomStringConvertible {
        public let line: Int
        public let text: String
        public var description: String { "line \(line): \(text)" }
    }

    /// Reads a theme file's text over the default theme.
    public static func parse(_ text: String, name: String) -> (theme: Theme, warnings: [Warning]) {
        var theme = Theme(name: name, styles: Theme.builtIn.styles)
        var warnings: [Warning] = []
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard line.hasPrefix("theme["), let close = line.firstIndex(of: "]"), let equals = line[close...].firstIndex(of: "=") else {
                warnings.append(Warning(line: number + 1, text: "expected theme[key]=\"value\""))
                continue
            }
            let key = String(line[line.index(line.startIndex, offsetBy: 6)..<close])
            let value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\"'"))
            guard keys.contains(key) else { continue }  // unknown keys are ignored (btop themes carry many)
            guard let style = Style(parsing: value) else {
                warnings.append(Warning(line: number + 1, text: "\(key): cannot read \"\(value)\""))
                continue
            }
            theme.styles[key] = style
        }
        return (theme, warnings)
    }

    public func style(_ key: String) -> Style {
        styles[key] ?? Theme.builtIn.styles[key] ?? Style(.terminalDefault)
    }

    /// The fallback for every key.
    public static let builtIn = Theme(name: "built-in", styles: [
        "main_fg": Style(.terminalDefault), "main_bg": Style(.terminalDefault),
        "title": Style(.rgb(0xEE, 0xEE, 0xEE), [.bold]), "border": Style(.rgb(0x58, 0x58, 0x58)),
        "selected_fg": Style(.rgb(0xFF, 0xFF, 0xFF), [.bold]), "selected_bg": Style(.rgb(0x1F, 0x4E, 0x79)),
        "header_fg": Style(.rgb(0xFF, 0xFF, 0xFF)), "header_bg": Style(.rgb(0x26, 0x32, 0x38)),
        "target_healthy": Style(.rgb(0x4C, 0xAF, 0x50)), "target_unhealthy": Style(.rgb(0xE5, 0x39, 0x35), [.bold]),
        "target_draining": Style(.rgb(0xFF, 0xB3, 0x00)), "target_initial": Style(.rgb(0x42, 0xA5, 0xF5)),
        "target_unused": Style(.rgb(0x75, 0x75, 0x75), [.dim]), "drop": Style(.rgb(0xEF, 0x53, 0x50)),
        "pending": Style(.rgb(0xFF, 0xD5, 0x4F), [.underline]), "stale": Style(.rgb(0x75, 0x75, 0x75), [.dim]),
        "graph": Style(.rgb(0x26, 0xC6, 0xDA)), "occupancy_start": Style(.rgb(0x4C, 0xAF, 0x50)),
        "occupancy_mid": Style(.rgb(0xFF, 0xB3, 0x00)), "occupancy_end": Style(.rgb(0xE5, 0x39, 0x35)),
    ])
}

extension Theme.Style {
    /// `#RRGGBB`, `#RGB`, 0–255, an ANSI name or `default`, then attributes.
    init?(parsing value: String) {
        let words = value.split(separator: " ").map { $0.lowercased() }
        guard let first = words.first else { return nil }
        var attributes: Set<Theme.Attribute> = []
        for word in words.dropFirst() {
            guard let attribute = Theme.Attribute(rawValue: word) else { return nil }
            attributes.insert(attribute)
        }
        guard let color = Theme.Color(parsing: first) else { return nil }
        self.init(color, attributes)
    }
}

extension Theme.Color {
    /// The 16 ANSI colours by name, as xterm palette indexes.
    static let ansiNames: [String: UInt8] = [
        "black": 0, "red": 1, "green": 2, "yellow": 3, "blue": 4, "magenta": 5, "cyan": 6, "white": 7,
        "bright_black": 8, "gray": 8, "grey": 8, "bright_red": 9, "bright_green": 10, "bright_yellow": 11, "bright_blue": 12,
        "bright_magenta": 13, "bright_cyan": 14, "bright_white": 15,
    ]

    init?(parsing text: String) {
        if text == "default" { self = .terminalDefault; return }
        if let index = Theme.Color.ansiNames[text] { self = .indexed(index); return }
        if let number = UInt8(text) { self = .indexed(number); return }
        guard text.hasPrefix("#") else { return nil }
        let digits = Array(text.dropFirst())
        let expanded: [Character]
        switch digits.count {
        case 3: expanded = digits.flatMap { [$0, $0] }
        case 6: expanded = digits
        default: return nil
        }
        guard let value = UInt32(String(expanded), radix: 16) else { return nil }
        self = .rgb(UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF))
    }
}
