import ControlClient
import ControlContract
import Foundation
import Synchronization

/// Keeps a `ConsoleModel` fed from gwlbd's `/v1/stream` on a thread of its own: connects, applies
/// every message, and after a failure or a closed stream retries forever with a growing pause
/// (0.5 s doubling to 5 s, reset once data flows again). The screen thread reads `model`.
public final class StreamConnection: Sendable {
    public let socketPath: String
    public let model = Mutex(ConsoleModel())
    private let stopped = Atomic<Bool>(false)
    private let clock: @Sendable () -> Double

    public init(socketPath: String, clock: @escaping @Sendable () -> Double = { ProcessInfo.processInfo.systemUptime }) {
        self.socketPath = socketPath
        self.clock = clock
    }

    public func start() {
        Thread.detachNewThread { [self] in run() }
    }

    public func stop() { stopped.store(true, ordering: .relaxed) }

    private func run() {
        var pause = 0.5
        while !stopped.load(ordering: .relaxed) {
            var client = UnixHTTPClient(socketPath: socketPath)
            client.timeoutSeconds = 2  // heartbeats come every second
            var received = false
            do {
                try client.streamLines("/v1/stream") { line in
                    // A line this console does not understand (a newer gwlbd's message) is passed over.
                    guard let message = try? ContractCoding.decode(StreamMessage.self, from: Data(line.utf8)) else { return true }
                    received = true
                    let now = clock()
                    model.withLock { $0.apply(message, at: now) }
                    return !stopped.load(ordering: .relaxed)
                }
                model.withLock { $0.connection = .disconnected("gwlbd closed the stream") }
            } catch {
                let reason = "\(error)"
                model.withLock { $0.connection = .disconnected(reason) }
            }
            if received { pause = 0.5 }
            // Jittered: consoles that lost the same gwlbd do not all come back in the same instant.
            let deadline = clock() + pause * Double.random(in: 0.75...1.25)
            while clock() < deadline, !stopped.load(ordering: .relaxed) { usleep(50_000) }
            pause = min(5, pause * 2)
        }
    }
}
