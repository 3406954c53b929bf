import ControlAPI
import Foundation
import Logging
import Telemetry

/// gwlbd's HTTP servers (the API on its socket, the signed API, the metrics listener): each runs
/// on a task of its own; they stop together and gracefully: no new connection, every call in
/// flight answered, streams ended.
final class DaemonServers: Sendable {
    private let stop = GracefulStop()
    private let running = DispatchGroup()

    /// Starts `server` (given the stop it must honour), logging why if it stops with an error. When
    /// `retrying`, a server that fails within 10 s of the start is started again: a gwlbd taking
    /// over waits so for its predecessor to let go of a TCP port (it does as it exits, just after
    /// this one said it runs).
    func start(_ name: String, retrying: Bool = false, _ server: @escaping @Sendable (GracefulStop) async throws -> Void) {
        let stop = self.stop, running = self.running
        running.enter()
        Task.detached {
            defer { running.leave() }
            let start = ContinuousClock.now
            while true {
                do {
                    try await server(stop)
                    return
                } catch {
                    if retrying, !stop.isTriggered, ContinuousClock.now - start < .seconds(10) {
                        try? await Task.sleep(for: .milliseconds(100))
                        continue
                    }
                    Logger.gwlbd.error("\(name) stopped: \(error)")
                    return
                }
            }
        }
    }

    /// Stops every server gracefully and waits for them, at most `seconds`; false when one was
    /// still busy then (gwlbd goes on stopping: what it acknowledged is stored already).
    func stopAll(within seconds: Double) -> Bool {
        let stop = self.stop
        Task.detached { await stop.trigger() }
        return running.wait(timeout: .now() + seconds) == .success
    }
}
