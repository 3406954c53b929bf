import Foundation
import Logging
import Synchronization

/// gwlbd's one log format, for its own lines and its libraries' (Hummingbird's), on standard error
/// (journald keeps it under systemd): `2026-12-04T16:15:14+0000 info gwlbd: message key=value`.
/// Levels: `info` for what happens, `warning` for what degrades service, `error` for what fails.
public struct LogLines: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String

    public init(label: String) { self.label = label }

    /// Every `Logger` made from now on writes this format: first thing in gwlbd (and the
    /// reference appliance). swift-log takes one bootstrap per process; a second call does nothing.
    public static func bootstrap() {
        guard !bootstrapped.exchange(true, ordering: .relaxed) else { return }
        LoggingSystem.bootstrap { LogLines(label: $0) }
    }

    private static let bootstrapped = Atomic<Bool>(false)

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields = metadata
        for (key, value) in event.metadata ?? [:] { fields[key] = value }
        // One write(2) per line: lines of several threads do not interleave.
        let line = Self.line(time: Self.timestamp(), level: event.level, label: label, message: "\(event.message)", fields: fields)
        line.utf8CString.withUnsafeBufferPointer { _ = write(STDERR_FILENO, $0.baseAddress, $0.count - 1) }
    }

    static func line(time: String, level: Logger.Level, label: String, message: String, fields: Logger.Metadata) -> String {
        let suffix = fields.sorted { $0.key < $1.key }.map { " \($0.key)=\($0.value)" }.joined()
        return "\(time) \(level) \(label): \(message)\(suffix)\n"
    }

    static func timestamp() -> String {
        var now = time(nil)
        var parts = tm()
        localtime_r(&now, &parts)
        var buffer = [CChar](repeating: 0, count: 32)
        let length = strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%S%z", &parts)
        return String(decoding: buffer.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

extension Logger {
    /// gwlbd's logger (made at each use, so that it follows `LogLines.bootstrap()`).
    public static var gwlbd: Logger { Logger(label: "gwlbd") }
}
