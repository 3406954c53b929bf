import ControlClient
import ControlContract
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The aws CLI's three output formats for a response.
public enum OutputFormat {
    public static func render(_ value: JSONValue, as output: ELBArguments.Output, title: String) -> String {
        // The aws CLI prints nothing for an empty result (RegisterTargets, DeleteListener, …).
        if case .object(let fields) = value, fields.isEmpty { return "" }
        switch output {
        case .json: return value.rendered() + "\n"
        case .text: return text(value)
        case .table: return TableRenderer.render(value, title: title)
        }
    }

    /// `--output text`: awscli's text formatter. A dictionary's scalars make one tab-separated line
    /// (keys sorted, prefixed by the upper-cased key it hangs from); lists of dictionaries share one
    /// column set; nested values follow on their own lines.
    public static func text(_ value: JSONValue) -> String {
        var output = ""
        formatText(value, identifier: nil, scalarKeys: nil, into: &output)
        return output
    }

    private static func formatText(_ value: JSONValue, identifier: String?, scalarKeys: [String]?, into output: inout String) {
        switch value {
        case .object(let fields):
            var scalars: [String] = [], nested: [(String, JSONValue)] = []
            if let scalarKeys {
                scalars = scalarKeys.map { key in fields.first { $0.0 == key }?.1.scalarText ?? "" }
                nested = fields.filter { !scalarKeys.contains($0.0) }.sorted { $0.0 < $1.0 }
            } else {
                for (key, field) in fields.sorted(by: { $0.0 < $1.0 }) {
                    if field.isScalar { scalars.append(field.scalarText) } else { nested.append((key, field)) }
                }
            }
            if !scalars.isEmpty {
                output += ((identifier.map { [$0.uppercased()] } ?? []) + scalars).joined(separator: "\t") + "\n"
            }
            for (key, field) in nested { formatText(field, identifier: key, scalarKeys: nil, into: &output) }
        case .array(let items):
            guard !items.isEmpty else { return }
            if items.contains(where: { if case .object = $0 { true } else { false } }) {
                let keys = Set(items.flatMap { item -> [String] in
                    guard case .object(let fields) = item else { return [] }
                    return fields.filter { $0.1.isScalar }.map(\.0)
                }).sorted()
                for item in items { formatText(item, identifier: identifier, scalarKeys: keys, into: &output) }
            } else {
                let scalars = items.filter(\.isScalar)
                if let identifier {
                    for item in scalars { output += "\(identifier.uppercased())\t\(item.scalarText)\n" }
                } else if !scalars.isEmpty {
                    output += scalars.map(\.scalarText).joined(separator: "\t") + "\n"
                }
                for item in items where !item.isScalar { formatText(item, identifier: identifier, scalarKeys: nil, into: &output) }
            }
        default:
            output += value.scalarText + "\n"
        }
    }
}

/// `--output table`: nested boxed sections in the aws CLI's style, each level inside one more
/// pair of `|` bars; scalars as columns (sorted keys as the header), one row per dictionary.
enum TableRenderer {
    private enum Line {
        case title(String, depth: Int)
        case rule(depth: Int, columns: [Int])
        case row([String], depth: Int, columns: [Int], centered: Bool)
    }

    /// `width`: the terminal's columns (tables wider than it turn rows into key | value lines).
    static func render(_ value: JSONValue, title: String, width terminal: Int = terminalWidth()) -> String {
        var lines: [Line] = []
        section(value, title: title, depth: 0, width: terminal, into: &lines)
        // Width inside the outermost bars: the widest line wins, every level is padded to it.
        var width = title.count + 4
        for line in lines {
            switch line {
            case .title(let text, let depth): width = max(width, text.count + 4 + 2 * depth)
            case .row(_, let depth, let columns, _), .rule(let depth, let columns):
                width = max(width, columns.reduce(0, +) + 2 * depth + columns.count - 1)
            }
        }
        var output = String(repeating: "-", count: width + 2) + "\n"
        for line in lines {
            switch line {
            case .title(let text, let depth):
                output += bars(depth + 1, center(text, width - 2 * depth)) + "\n"
            case .rule(let depth, let columns):
                let cells = stretch(columns, to: width - 2 * depth).map { String(repeating: "-", count: $0) }
                output += String(repeating: "|", count: depth) + "+" + cells.joined(separator: "+") + "+" + String(repeating: "|", count: depth) + "\n"
            case .row(let cells, let depth, let columns, let centered):
                let widths = stretch(columns, to: width - 2 * depth)
                let text = zip(cells, widths).map { centered ? center($0, $1) : "  " + $0.padding(toLength: $1 - 2, withPad: " ", startingAt: 0) }
                output += bars(depth + 1, text.joined(separator: "|")) + "\n"
            }
        }
        return output
    }

    private static func section(_ value: JSONValue, title: String?, depth: Int, width: Int, into lines: inout [Line]) {
        if let title { lines.append(.title(title, depth: depth)) }
        switch value {
        case .object:
            // A dictionary is a one-row table, as in awscli.
            section(.array([value]), title: nil, depth: depth, width: width, into: &lines)
        case .array(let items):
            let objects = items.compactMap { item -> [(String, JSONValue)]? in if case .object(let fields) = item { fields } else { nil } }
            let keys = Set(objects.flatMap { $0.filter { $0.1.isScalar }.map(\.0) }).sorted()
            let nested = objects.contains { $0.contains { !$0.1.isScalar } }
            // As awscli: with nested values, each element is a section of its own (its row, then
            // its nested sections); without, one table with a row per element.
            for (index, fields) in objects.enumerated() {
                if nested && index > 0, let title { lines.append(.title(title, depth: depth)) }
                if !keys.isEmpty {
                    let rows = (nested ? [fields] : objects).map { fields in keys.map { key in fields.first { $0.0 == key }?.1.scalarText ?? "" } }
                    let columns = keys.indices.map { column in max(keys[column].count, rows.map { $0[column].count }.max() ?? 0) + 4 }
                    if (nested || index == 0) && columns.reduce(0, +) + columns.count + 2 * depth + 1 > width {
                        // Wider than the terminal: as awscli, each row turns into key | value lines.
                        let pairs = [keys.map { $0.count + 4 }.max()!, rows.flatMap { $0 }.map { $0.count + 4 }.max()!]
                        for row in rows {
                            lines.append(.rule(depth: depth, columns: pairs))
                            for (key, value) in zip(keys, row) { lines.append(.row([key, value], depth: depth, columns: pairs, centered: false)) }
                            lines.append(.rule(depth: depth, columns: pairs))
                        }
                    } else if nested || index == 0 {
                        lines.append(.rule(depth: depth, columns: columns))
                        lines.append(.row(keys, depth: depth, columns: columns, centered: true))
                        lines.append(.rule(depth: depth, columns: columns))
                        for row in rows { lines.append(.row(row, depth: depth, columns: columns, centered: false)) }
                        lines.append(.rule(depth: depth, columns: columns))
                    }
                }
                for (key, field) in fields where !field.isScalar { section(field, title: key, depth: depth + 1, width: width, into: &lines) }
            }
            let scalars = items.filter(\.isScalar)
            if !scalars.isEmpty {
                let columns = [scalars.map { $0.scalarText.count + 4 }.max()!]
                lines.append(.rule(depth: depth, columns: columns))
                for item in scalars { lines.append(.row([item.scalarText], depth: depth, columns: columns, centered: false)) }
                lines.append(.rule(depth: depth, columns: columns))
            }
        default:
            let columns = [value.scalarText.count + 4]
            lines.append(.row([value.scalarText], depth: depth, columns: columns, centered: false))
        }
    }

    /// `$COLUMNS`, else the terminal on standard output, else 80.
    static func terminalWidth() -> Int {
        if let columns = ProcessInfo.processInfo.environment["COLUMNS"].flatMap(Int.init), columns > 20 { return columns }
        var size = winsize()
        if ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 20 { return Int(size.ws_col) }
        return 80
    }

    private static func bars(_ count: Int, _ content: String) -> String {
        String(repeating: "|", count: count) + content + String(repeating: "|", count: count)
    }

    private static func center(_ text: String, _ width: Int) -> String {
        let left = max(0, (width - text.count) / 2)
        return String(repeating: " ", count: left) + text + String(repeating: " ", count: max(0, width - left - text.count))
    }

    /// Column widths grown so the columns and their separators fill `total`; the last takes the rest.
    private static func stretch(_ columns: [Int], to total: Int) -> [Int] {
        let available = total - (columns.count - 1)
        let natural = columns.reduce(0, +)
        guard natural < available else { return columns }
        var widths = columns.map { $0 * available / natural }
        widths[widths.count - 1] += available - widths.reduce(0, +)
        return widths
    }
}
