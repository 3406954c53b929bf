import Foundation
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

/// Probes targets at their interval, off the data-plane threads, and reports every change of a
/// target's health state. The control plane tells it which targets to check (`update`).
///
/// A `Service`: `run` schedules the checks until the task is cancelled or a graceful shutdown;
/// each check is a child task of its task group, waiting on SwiftNIO's event loops (no
/// thread per probe). Only the data-path probe blocks (it waits for its GENEVE reply), on NIO's
/// shared thread pool, never on one of Swift's shared threads. Checks in flight when it stops are
/// abandoned at once (their results are not recorded): a stopping gwlbd does not wait out a
/// timeout of up to 120 seconds.
public final class HealthChecker: Service, Sendable {
    /// What to check for one target.
    public struct Target: Sendable, Hashable {
        public var id: String
        public var address: String
        public var port: Int
        public var kind: Probe.Kind
        public var intervalSeconds: Int
        public var timeoutSeconds: Int
        public var healthyThreshold: Int
        public var unhealthyThreshold: Int
        /// After a passed check, also send a probe through the target in GENEVE (target group
        /// attribute `health_check.data_path.enabled`).
        public var dataPath: Bool

        public init(id: String, address: String, port: Int, kind: Probe.Kind, intervalSeconds: Int, timeoutSeconds: Int,
                    healthyThreshold: Int, unhealthyThreshold: Int, dataPath: Bool = false) {
            self.dataPath = dataPath
            self.id = id
            self.address = address
            self.port = port
            self.kind = kind
            self.intervalSeconds = intervalSeconds
            self.timeoutSeconds = timeoutSeconds
            self.healthyThreshold = healthyThreshold
            self.unhealthyThreshold = unhealthyThreshold
        }

        func withDataPath(_ dataPath: Bool) -> Target {
            var target = self
            target.dataPath = dataPath
            return target
        }
    }

    struct Tracked {
        var target: Target
        var machine: HealthStateMachine
        /// On the monotonic clock: a step of the wall clock (NTP, an operator) must not stop checks.
        var nextProbe: ContinuousClock.Instant
        var probing = false
        /// How long the last probe took, in seconds (a failed one counts up to its timeout).
        var latency: Double?
        /// The last data-path probe's round trip, in seconds (nil: none, or it did not come back).
        var dataPathLatency: Double?
    }

    /// Sends one data-path probe through the target at an address and waits up to a timeout
    /// (seconds): its round trip in seconds, nil when it did not come back, or a local error.
    public typealias DataPathProbe = @Sendable (_ address: String, _ timeout: Double) -> Result<Double?, LocalProbeError>

    /// A probe that could not be sent (errno): says nothing of the target.
    public struct LocalProbeError: Error, Sendable {
        public let code: Int32
        public init(code: Int32) { self.code = code }
    }

    private let tracked = Mutex<[String: Tracked]>([:])
    private let report: @Sendable (String, TargetHealthState) async -> Void
    /// Multiplies intervals and timeouts: 1 in service, less in tests.
    private let timeScale: Double
    /// Probes that could not run for a local reason (no descriptor, buffer or port): the targets
    /// kept their state.
    public let localErrors = Atomic<UInt64>(0)

    private let dataPathProbe: DataPathProbe?

    public init(timeScale: Double = 1, dataPathProbe: DataPathProbe? = nil, report: @escaping @Sendable (String, TargetHealthState) async -> Void) {
        self.timeScale = timeScale
        self.report = report
        self.dataPathProbe = dataPathProbe
    }

    public func run() async {
        let pause = Duration.milliseconds(Int64(min(0.1, 0.5 * timeScale) * 1000))
        await withDiscardingTaskGroup { group in
            while !Task.isCancelled, !Task.isShuttingDownGracefully {
                for target in dueTargets() { group.addTask { await self.check(target) } }
                try? await Task.sleep(for: pause)
            }
            group.cancelAll()
        }
    }

    /// The targets to check from now on: new ones start from `initial` (or their state in
    /// `resuming`, after a restart), ones whose check changed start over (but not for the
    /// data-path probe alone), ones no longer listed are forgotten.
    public func update(_ targets: [Target], resuming: [String: TargetHealthState] = [:]) {
        tracked.withLock { tracked in
            var next: [String: Tracked] = [:]
            for target in targets {
                if var existing = tracked[target.id], existing.target.withDataPath(target.dataPath) == target {
                    // Turning the data-path probe on or off keeps the target's state: the next
                    // checks simply include it (or not).
                    existing.target = target
                    if !target.dataPath { existing.dataPathLatency = nil }
                    next[target.id] = existing
                } else {
                    let machine = HealthStateMachine(healthyThreshold: target.healthyThreshold, unhealthyThreshold: target.unhealthyThreshold,
                                                     state: tracked[target.id] == nil ? resuming[target.id] ?? .registrationInProgress
                                                                                      : .registrationInProgress)
                    next[target.id] = Tracked(target: target, machine: machine, nextProbe: .now)
                }
            }
            tracked = next
        }
    }

    /// The current state of every checked target.
    public var states: [String: TargetHealthState] { tracked.withLock { $0.mapValues(\.machine.state) } }

    /// How long each checked target's last probe took, in seconds.
    public var latencies: [String: Double] { tracked.withLock { $0.compactMapValues(\.latency) } }

    /// The last data-path probe's round trip of each target that has one, in seconds.
    public var dataPathLatencies: [String: Double] { tracked.withLock { $0.compactMapValues(\.dataPathLatency) } }

    /// The targets whose check is due, marked as being checked.
    private func dueTargets() -> [Target] {
        let now = ContinuousClock.now
        return tracked.withLock { tracked in
            var due: [Target] = []
            for (id, entry) in tracked where !entry.probing && entry.nextProbe <= now {
                tracked[id]?.probing = true
                tracked[id]?.nextProbe = now + .milliseconds(Int64(Double(entry.target.intervalSeconds) * timeScale * 1000))
                due.append(entry.target)
            }
            return due
        }
    }

    private func check(_ target: Target) async {
        let timeout = Double(target.timeoutSeconds) * timeScale
        let started = ContinuousClock.now
        var result = await Probe.run(target.kind, address: target.address, port: target.port, timeout: timeout)
        guard !Task.isCancelled else { return }
        let elapsed = ContinuousClock.now - started
        let latency = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        // The data path is tried only behind a passed check: a target that fails its check keeps
        // the check's reason.
        var dataPathLatency: Double?
        if result == .success, target.dataPath, let dataPathProbe {
            let probed = try? await NIOThreadPool.singleton.runIfActive(eventLoop: MultiThreadedEventLoopGroup.singleton.any()) {
                dataPathProbe(target.address, timeout)
            }.valueUnlessCancelled()
            guard !Task.isCancelled else { return }
            switch probed ?? .success(nil) {
            case .success(let roundTrip?): dataPathLatency = roundTrip
            case .success(nil): result = .dataPathFailed
            case .failure(let error): result = .localError(error.code)
            }
        }
        if case .localError(let code) = result {
            let count = localErrors.add(1, ordering: .relaxed).newValue
            if count == 1 || count % 100 == 0 {
                Logger(label: "gwlbd").warning("health check of \(target.address):\(target.port) could not run here (\(String(cString: strerror(code)))); its state is kept (\(count) such so far)")
            }
        }
        let change: TargetHealthState? = tracked.withLock { tracked in
            // Results of a target replaced or removed meanwhile are dropped.
            guard tracked[target.id]?.target.withDataPath(target.dataPath) == target else { return nil }
            tracked[target.id]?.probing = false
            tracked[target.id]?.latency = latency
            tracked[target.id]?.dataPathLatency = dataPathLatency
            return tracked[target.id]?.machine.record(result)
        }
        // Reported outside the lock: the receiver may call `update`.
        if let change { await report(target.id, change) }
    }
}
