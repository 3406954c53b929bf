import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

/// gwlbd's parts as services of one `ServiceGroup` (see `Daemon.run`). On SIGTERM or SIGINT the
/// group stops them one by one in the reverse of their order: the HTTP servers first (no new
/// connection, every call in flight answered, streams ended), then the ticker, the health checks,
/// the flow-log writer, and the data plane last.

/// A part with threads of its own (the data plane's workers, the flow-log writer): `start` when
/// the group runs it, `stop` when the group shuts down or is cancelled.
struct ThreadedService: Service {
    let start: @Sendable () -> Void
    let stop: @Sendable () -> Void

    func run() async {
        start()
        // Returns on a graceful shutdown, throws on cancellation: either way the part stops.
        try? await gracefulShutdown()
        stop()
    }
}

/// One of gwlbd's HTTP servers. It serves until the group shuts down gracefully: the server then
/// stops accepting, answers what it is in the middle of and returns. A server that fails is
/// logged and gwlbd goes on without it; with `retrying`, one that fails within 10 s of its start
/// is started again (a gwlbd taking over waits so for its predecessor to let go of a TCP port).
struct ServerService: Service {
    let name: String
    var retrying = false
    let serve: @Sendable () async throws -> Void

    func run() async {
        let start = ContinuousClock.now
        while true {
            do {
                try await serve()
                // Cancelled: the graceful stop's time ran out with calls still running.
                if Task.isCancelled { Logger.gwlbd.warning("\(name) was stopped with calls still running after 4 s") }
                return
            } catch {
                let stopping = Task.isShuttingDownGracefully || Task.isCancelled
                if retrying, !stopping, ContinuousClock.now - start < .seconds(10) {
                    try? await Task.sleep(for: .milliseconds(100))
                    continue
                }
                Logger.gwlbd.error("\(name) stopped: \(error)")
                // A service that returns early would stop the whole group.
                try? await gracefulShutdown()
                return
            }
        }
    }
}

/// Once a second: `tick` (draining, lost devices, metrics, the statistics file); on SIGHUP,
/// `reload`. Both run on this service's own task, one at a time.
struct TickerService: Service {
    let tick: @Sendable () async -> Void
    let reload: @Sendable () -> Void

    private enum Event { case tick, reload }

    func run() async {
        let hangUps = await UnixSignalsSequence(trapping: .sighup)
        let (events, send) = AsyncStream.makeStream(of: Event.self)
        await withDiscardingTaskGroup { group in
            group.addTask {
                for await _ in hangUps { send.yield(.reload) }
            }
            group.addTask {
                while (try? await Task.sleep(for: .seconds(1))) != nil { send.yield(.tick) }
            }
            for await event in events.cancelOnGracefulShutdown() {
                switch event {
                case .tick: await tick()
                case .reload: reload()
                }
            }
            group.cancelAll()
        }
    }
}

/// Says gwlbd is up once its API answers (at most 10 s after the start): `announce` tells systemd,
/// a predecessor, and the log. Listed last, it is the first to hear of a shutdown, and tells
/// systemd that gwlbd is stopping (unless it handed over to a successor).
struct AnnouncingService: Service {
    let handover: Daemon.Handover
    let apiRunning: AsyncStream<Void>?
    let announce: @Sendable () throws -> Void

    func run() async throws {
        if let apiRunning {
            let answered = await withTaskGroup(of: Bool.self) { group in
                group.addTask { await apiRunning.first { true } != nil }
                group.addTask { (try? await Task.sleep(for: .seconds(10))) == nil }
                let first = await group.next() ?? false
                group.cancelAll()
                return first
            }
            if !answered { Logger.gwlbd.warning("the API did not start within 10 s") }
        }
        try announce()
        try? await gracefulShutdown()
        if handover.state != .handedOver { Readiness.stopping() }
    }
}
