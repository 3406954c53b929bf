/// Where the console draws: a grid of cells, each with a character and a theme key. The curses
/// surface puts them on the terminal (ncurses sends only what changed); the memory surface keeps
/// them for tests, which compare the text.
public protocol Surface: AnyObject {
    var width: Int { get }
    var height: Int { get }
    /// Blanks every cell (the next frame is drawn whole; the terminal gets only the difference).
    func erase()
    /// Writes `text` from (row, column), cut at the right edge, in the style of `key`.
    func put(_ text: String, row: Int, column: Int, style key: String)
}

public final class MemorySurface: Surface {
    public let width: Int
    public let height: Int
    private(set) var cells: [[Character]]
    private(set) var styles: [[String]]

    public init(width: Int, height: Int) {
        self.width = width
        self.height = height
        cells = Array(repeating: Array(repeating: " ", count: width), count: height)
        styles = Array(repeating: Array(repeating: "main_fg", count: width), count: height)
    }

    public func erase() {
        cells = Array(repeating: Array(repeating: " ", count: width), count: height)
        styles = Array(repeating: Array(repeating: "main_fg", count: width), count: height)
    }

    public func put(_ text: String, row: Int, column: Int, style key: String) {
        guard (0..<height).contains(row) else { return }
        var x = column
        for character in text {
            guard x < width else { break }
            if x >= 0 {
                cells[row][x] = character
                styles[row][x] = key
            }
            x += 1
        }
    }

    /// The screen as text, one line per row, trailing blanks kept (every line is `width` wide).
    public var text: String { cells.map { String($0) }.joined(separator: "\n") }

    public func line(_ row: Int) -> String { String(cells[row]) }

    /// The theme key of a cell.
    public func style(row: Int, column: Int) -> String { styles[row][column] }
}

/// Line drawing, sparklines, gauges and state symbols in UTF-8, with an ASCII stand-in for every
/// glyph (`LANG=C`, `TERM=vt100`).
public struct Glyphs: Sendable, Equatable {
    public let horizontal: Character, vertical: Character
    public let sparks: [Character]
    public let gaugeFull: Character, gaugeEmpty: Character
    public let arrowTo: String, arrowFrom: String, separator: String
    /// Marks where the middle of a text that did not fit was cut.
    public let ellipsis: String

    public static let unicode = Glyphs(horizontal: "─", vertical: "│", sparks: ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"],
                                       gaugeFull: "█", gaugeEmpty: "░", arrowTo: "→", arrowFrom: "←", separator: " │ ", ellipsis: "…")
    public static let ascii = Glyphs(horizontal: "-", vertical: "|", sparks: ["_", ".", "-", "~", "=", "+", "*", "#"],
                                     gaugeFull: "#", gaugeEmpty: ".", arrowTo: ">", arrowFrom: "<", separator: " | ", ellipsis: "~")

    /// State words always go with a symbol, so state is never shown by colour alone.
    public func symbol(forState state: String) -> String {
        let unicode = self == .unicode
        switch state {
        case "healthy": return unicode ? "●" : "+"
        case "unhealthy": return unicode ? "✗" : "x"
        case "draining": return unicode ? "↓" : "v"
        case "initial": return unicode ? "◌" : "o"
        case "unused": return unicode ? "·" : "-"
        default: return "?"
        }
    }

    /// From the locale and terminal: UTF-8 unless the codeset is not UTF-8 or the terminal is a
    /// plain VT100/`linux` console.
    public static func detect(environment: [String: String]) -> Glyphs {
        let locale = environment["LC_ALL"] ?? environment["LC_CTYPE"] ?? environment["LANG"] ?? ""
        let utf8 = locale.uppercased().contains("UTF-8") || locale.uppercased().contains("UTF8")
        let term = environment["TERM"] ?? ""
        return utf8 && !["vt100", "vt220", "linux", "dumb"].contains(term) ? .unicode : .ascii
    }
}
