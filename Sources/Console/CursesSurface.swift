import CNCurses
import Foundation

/// The terminal through ncursesw. One thread owns it (ncurses is not thread-safe). Each frame is
/// drawn whole after `werase`, and ncurses sends the terminal only the cells that changed.
final class CursesSurface: Surface {
    private(set) var width = 0
    private(set) var height = 0
    private var pairs: [String: attr_t] = [:]
    let depth: ColorDepth
    /// The terminal is gone (an SSH connection dropped, a tmux server killed): reading it would
    /// return at once, forever, so the console ends instead of spinning.
    private(set) var hungUp = false

    /// `mouse`: clicks select and sort, the wheel moves (`--no-mouse` leaves the mouse to the
    /// terminal, for selecting text).
    init(theme: Theme, environment: [String: String], mouse: Bool = true) {
        setlocale(LC_ALL, "")
        initscr()
        cbreak()
        noecho()
        keypad(gwlb_stdscr(), true)
        curs_set(0)
        timeout(0)
        if mouse { _ = gwlb_enable_mouse() }
        var colors = -1
        if has_colors() {
            start_color()
            use_default_colors()
            colors = Int(gwlb_colors())
        }
        // ncurses draws palette colours: 24-bit themes are reduced to the 256 palette.
        depth = min(ColorDepth.detect(environment: environment, terminfoColors: colors), colors >= 256 ? .indexed256 : .ansi16)
        apply(theme)
        resize()
    }

    func apply(_ theme: Theme) {
        pairs = [:]
        for (index, key) in Theme.keys.enumerated() {
            let style = theme.resolve(key, at: depth)
            var attributes: attr_t = 0
            for attribute in style.attributes {
                switch attribute {
                case .bold: attributes |= gwlb_a_bold()
                case .dim: attributes |= gwlb_a_dim()
                case .underline: attributes |= gwlb_a_underline()
                case .reverse: attributes |= gwlb_a_reverse()
                }
            }
            if depth != .monochrome, index + 1 < Int(gwlb_color_pairs()) {
                let foreground: Int16 = switch style.color {
                case .indexed(let color): Int16(color)
                case .rgb, .terminalDefault: -1
                }
                init_pair(Int16(index + 1), foreground, -1)
                attributes |= gwlb_color_pair(Int32(index + 1))
            }
            pairs[key] = attributes
        }
    }

    func resize() {
        width = Int(gwlb_cols())
        height = Int(gwlb_lines())
    }

    func erase() { werase(gwlb_stdscr()) }

    func put(_ text: String, row: Int, column: Int, style key: String) {
        guard row >= 0, row < height, column < width else { return }
        // The bottom-right cell would scroll the screen: leave it.
        let room = width - column - (row == height - 1 ? 1 : 0)
        let clipped = String(text.prefix(max(0, room)))
        _ = gwlb_put(Int32(row), Int32(column), clipped, pairs[key] ?? 0)
    }

    func show() { refresh() }

    /// The next key, or nil after the input timeout (100 ms).
    /// The next key, waiting up to 100 ms for one: nil when none came, `.some(nil)` for input that
    /// is not a key of ours (a resize is handled here).
    func readKey() -> Key?? {
        var character: wint_t = 0
        var result = get_wch(&character)
        if result == ERR {
            // Nothing queued: wait on the terminal itself, which also tells whether it hung up.
            var terminal = pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0)
            let ready = poll(&terminal, 1, 100)
            if ready > 0 && terminal.revents & Int16(POLLHUP | POLLERR | POLLNVAL) != 0 {
                hungUp = true
                return nil
            }
            guard ready > 0 || (ready < 0 && errno == EINTR) else { return nil }  // EINTR: SIGWINCH, a resize
            result = get_wch(&character)
            if result == ERR { return nil }
        }
        if result == gwlb_key_code_yes() {
            switch Int32(character) {
            case gwlb_key_resize(): resize(); return .some(nil)
            case gwlb_key_up(): return .up
            case gwlb_key_down(): return .down
            case gwlb_key_left(): return .left
            case gwlb_key_right(): return .right
            case gwlb_key_backspace(): return .backspace
            case gwlb_key_enter(): return .enter
            case gwlb_key_f1(): return .f1
            case gwlb_key_mouse():
                var row: Int32 = 0, column: Int32 = 0
                switch gwlb_read_mouse(&row, &column) {
                case 1: return .click(row: Int(row), column: Int(column))
                case 4: return .up
                case 5: return .down
                default: return .some(nil)
                }
            default: return .some(nil)
            }
        }
        switch character {
        case 9: return .tab
        case 10, 13: return .enter
        case 27: return .escape
        case 8, 127: return .backspace
        default:
            guard let scalar = Unicode.Scalar(UInt32(character)) else { return .some(nil) }
            return .character(Character(scalar))
        }
    }

    func end() { endwin() }
}
