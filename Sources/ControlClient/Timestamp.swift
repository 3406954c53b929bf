import Foundation

/// Timestamps gwlbd sends (`2026-12-02T10:00:00.123Z`, or with `+00:00`), read with a check of
/// their shape first: Foundation's ISO 8601 parser hands the text to ICU, which crashes (a
/// division by zero, found by the `stream` fuzz target) on some malformed ones, such as a fraction
/// of a hundred digits. Only what has the shape of RFC 3339 reaches it.
public enum Timestamp {
    public static func date(from text: String) -> Date? {
        guard hasShape(Array(text.utf8)) else { return nil }
        let parser = ISO8601DateFormatter()
        parser.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return parser.date(from: text) ?? ISO8601DateFormatter().date(from: text)
    }

    /// `YYYY-MM-DDTHH:MM:SS`, at most nine digits of fraction, then `Z` or `±HH:MM`. (By hand: a
    /// regex literal's one-time compilation leaks inside the regex runtime, which the fuzz
    /// target's leak check reports.)
    static func hasShape(_ bytes: [UInt8]) -> Bool {
        func digits(_ range: Range<Int>) -> Bool { range.upperBound <= bytes.count && bytes[range].allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }
        func byte(_ index: Int, _ character: Character) -> Bool { index < bytes.count && bytes[index] == character.asciiValue }
        guard digits(0..<4), byte(4, "-"), digits(5..<7), byte(7, "-"), digits(8..<10), byte(10, "T"),
              digits(11..<13), byte(13, ":"), digits(14..<16), byte(16, ":"), digits(17..<19) else { return false }
        var index = 19
        if byte(index, ".") {
            let start = index + 1
            index = start
            while index < bytes.count, index - start < 10, digits(index..<(index + 1)) { index += 1 }
            guard index > start, index - start <= 9 else { return false }
        }
        if byte(index, "Z") { return index + 1 == bytes.count }
        guard byte(index, "+") || byte(index, "-") else { return false }
        return digits((index + 1)..<(index + 3)) && byte(index + 3, ":") && digits((index + 4)..<(index + 6)) && index + 6 == bytes.count
    }
}
