import Foundation

/// Runs commands for the lab, the benchmarks and the end-to-end tests (ip, sh, curl, ping …).
public enum Shell {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Runs `arguments` (the program found on PATH) to its end; returns its exit status, standard
    /// output and standard error. `environment` replaces this process's when given.
    public static func execute(_ arguments: [String], input: String? = nil, environment: [String: String]? = nil,
                               directory: String? = nil) throws -> (status: Int32, output: String, errors: String) {
        let child = try ChildProcess(arguments, environment: environment, directory: directory,
                                     input: input == nil ? .null : .pipe, output: .pipe, errors: .pipe)
        if let writer = child.standardInput, let input {
            try? writer.write(contentsOf: Data(input.utf8))
            try? writer.close()
        }
        // Read standard error on another thread so neither pipe can fill up and stall the child.
        let errorData = PipeReader(child.standardError!)
        let outputData = child.standardOutput!.readDataToEndOfFile()
        let status = child.waitUntilExit()
        return (status, String(decoding: outputData, as: UTF8.self), String(decoding: errorData.wait(), as: UTF8.self))
    }

    /// Runs `arguments` (found on PATH) to its end, with /dev/null for its standard streams and none of
    /// this process's other descriptors; returns its exit status. For commands that leave a daemon
    /// behind (`tmux new-session` starts a tmux server), which must not hold a pipe of ours open.
    public static func launch(_ arguments: [String]) throws -> Int32 {
        try ChildProcess(arguments).waitUntilExit()
    }

    /// Runs `arguments` and returns its standard output; throws with its standard error when it fails.
    @discardableResult
    static func run(_ arguments: [String]) throws -> String {
        let result = try execute(arguments)
        guard result.status == 0 else {
            throw Failure(description: "`\(arguments.joined(separator: " "))` failed: \(result.errors.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return result.output
    }

    /// Runs and ignores failure (cleanup of what may not exist).
    static func attempt(_ arguments: [String]) {
        _ = try? run(arguments)
    }

    /// Reads a pipe to its end on a thread of its own (so a child writing to two pipes never stalls).
    public final class PipeReader: @unchecked Sendable {
        // @unchecked: `data` is written by the reading thread before `done` is signalled, read after.
        private var data = Data()
        private let done = DispatchSemaphore(value: 0)

        public init(_ handle: FileHandle) {
            Thread.detachNewThread { [self] in
                data = handle.readDataToEndOfFile()
                done.signal()
            }
        }

        public func wait() -> Data {
            done.wait()
            return data
        }
    }
}

