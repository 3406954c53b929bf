import Foundation

/// What the `gwlb` command line tells its user beside its output: errors, usage, progress. These are
/// messages, not logs (gwlbd logs through swift-log, `LogLines`): plain lines, as the aws CLI
/// writes them, one write(2) each so that lines of several threads do not interleave.
public enum StandardError {
    public static func print(_ message: String) {
        let line = message.hasSuffix("\n") ? message : message + "\n"
        line.utf8CString.withUnsafeBufferPointer { _ = write(STDERR_FILENO, $0.baseAddress, $0.count - 1) }
    }
}
