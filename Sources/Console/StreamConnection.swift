import ControlClient
import ControlContract
import Foundation
import Synchronization

/// Keeps a `ConsoleModel` fed from gwlbd's `/v1/stream` in a task of its own: connects, applies
/// every message, and after a failure or a closed stream retries until stopped with a growing
/// pause (0.5 s doubling to 5 s, reset once data flows again). The screen's loop reads `model`.
public final class StreamConnection: Sendable {
    public let socketPath: String
    public let model = Mutex(ConsoleModel())
    private let task = Mutex<Task<Void, Never>?>(nil)
    private let clock: @Sendable () -> Double

    public init(socketPath: String, clock: @escaping @Sendable () -> Double = { ProcessInfo.processInfo.systemUptime }) {
        self.socketPath = socketPath
        self.clock = clock
    }

    /// Starts following the stream; `executor`: where its task runs (nil: Swift's shared threads;
    /// a test process, whose shared threads CPU-heavy tests hold, gives one of its own).
    public func start(on executor: (any TaskExecutor)? = nil) {
        task.withLock { $0 = Task(executorPreference: executor) { [self] in await run() } }
    }

    /// Ends the stream (its connection is closed) and the retries.
    public func stop() {
        task.withLock { task in
            task?.cancel()
            task = nil
        }
    }

    private func run() async {
        var pause = 0.5
        while !Task.isCancelled {
            var client = UnixHTTPClient(socketPath: socketPath)
            client.timeoutSeconds = 2  // heartbeats come every second
            var received = false
            do {
                try await client.streamLines("/v1/stream") { line in
                    // A line this console does not understand (a newer gwlbd's message) is passed over.
                    guard let message = try? ContractCoding.decode(StreamMessage.self, from: Data(line.utf8)) else { return true }
                    received = true
                    let now = clock()
                    model.withLock { $0.apply(message, at: now) }
                    return true
                }
                model.withLock { $0.connection = .disconnected("gwlbd closed the stream") }
            } catch is CancellationError {
                return
            } catch {
                let reason = "\(error)"
                model.withLock { $0.connection = .disconnected(reason) }
            }
            if received { pause = 0.5 }
            // Jittered: consoles that lost the same gwlbd do not all come back in the same instant.
            try? await Task.sleep(for: .seconds(pause * Double.random(in: 0.75...1.25)))
            pause = min(5, pause * 2)
        }
    }
}
