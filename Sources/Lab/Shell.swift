import Foundation

/// Runs commands for the lab, the benchmarks and the end-to-end tests (ip, sh, curl, ping …).
public enum Shell {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Runs `arguments` (the program found on PATH) to its end; returns its exit status, standard
    /// output and standard error.
    public static func execute(_ arguments: [String], input: String? = nil) throws -> (status: Int32, output: String, errors: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let output = Pipe(), errors = Pipe(), inputPipe = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = input == nil ? FileHandle.nullDevice : inputPipe
        try process.run()
        if let input {
            inputPipe.fileHandleForWriting.write(Data(input.utf8))
            try? inputPipe.fileHandleForWriting.close()
        }
        // Read standard error on another thread so neither pipe can fill up and stall the child.
        let errorData = ErrorCollector(errors.fileHandleForReading)
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: outputData, as: UTF8.self), String(decoding: errorData.wait(), as: UTF8.self))
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

    private final class ErrorCollector: @unchecked Sendable {
        // @unchecked: `data` is written by the reading thread before `done` is signalled, read after.
        private var data = Data()
        private let done = DispatchSemaphore(value: 0)

        init(_ handle: FileHandle) {
            Thread.detachNewThread { [self] in
                data = handle.readDataToEndOfFile()
                done.signal()
            }
        }

        func wait() -> Data {
            done.wait()
            return data
        }
    }
}
