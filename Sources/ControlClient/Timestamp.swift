import Foundation

/// Timestamps gwlbd sends (`2026-12-02T10:00:00.123Z`, or with `+00:00`), read with a check of
/// their shape first: Foundation's ISO 8601 parser hands the text to ICU, which crashes (a
/// division by zero, found by the `stream` fuzz target) on some malformed ones, such as a fraction
/// of a hundred digits. Only what has the shape of RFC 3339 reaches it.
public enum Timestamp {
    public static func date(from text: String) -> Date? {
        guard text.utf8.count <= 35, text.wholeMatch(of: shape) != nil else { return nil }
        let parser = ISO8601DateFormatter()
        parser.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return parser.date(from: text) ?? ISO8601DateFormatter().date(from: text)
    }

    /// Date, time, at most nine digits of fraction, Z or a numeric offset.
    nonisolated(unsafe) private static let shape = /[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})/
}
