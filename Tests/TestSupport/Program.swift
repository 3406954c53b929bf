import Foundation
import Lab

/// Runs a program to its end in `directory` and returns its exit status and its output (standard
/// output, then standard error): what the tests that build or run a tool of the package need.
public enum Program {
    public static func run(_ executable: URL, _ arguments: [String], in directory: URL) throws -> (status: Int32, output: String) {
        let result = try Shell.execute([executable.path] + arguments, directory: directory.path)
        return (result.status, result.output + result.errors)
    }

    /// The package's root directory, from a test file's path (Tests/TARGET/FILE).
    public static func packageRoot(_ filePath: String = #filePath) -> URL {
        URL(fileURLWithPath: filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }
}
