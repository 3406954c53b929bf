import Hummingbird
import ServiceLifecycle
import Synchronization

/// Stops gwlbd's HTTP servers gracefully, together: each stops accepting connections, answers
/// the requests it is in the middle of (a change is then committed and acknowledged, or was never
/// started), ends its streams, and returns from its `run`. A server that starts after `trigger()`
/// stops at once.
public final class GracefulStop: Sendable {
    private let state = Mutex<(triggered: Bool, groups: [ServiceGroup])>((false, []))

    public init() {}

    public var isTriggered: Bool { state.withLock { $0.triggered } }

    /// Runs `application` until it stops, gracefully when `trigger()` is called.
    func run(_ application: some ApplicationProtocol) async throws {
        let group = ServiceGroup(configuration: .init(services: [application], gracefulShutdownSignals: [], logger: application.logger))
        let stopNow = state.withLock { state in
            state.groups.append(group)
            return state.triggered
        }
        if stopNow { await group.triggerGracefulShutdown() }
        try await group.run()
    }

    public func trigger() async {
        let groups = state.withLock { state in
            state.triggered = true
            return state.groups
        }
        for group in groups { await group.triggerGracefulShutdown() }
    }
}
