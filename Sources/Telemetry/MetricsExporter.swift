import CoreMetrics
import DataPlane
import Prometheus
import Synchronization

/// One target as the metrics see it.
public struct TargetSample: Sendable, Hashable {
    public var slot: Int
    public var address: String
    /// AWS's target health state: healthy, unhealthy, initial, draining, unused, unavailable.
    public var state: String
    /// AWS's reason code (nil when healthy).
    public var reason: String?

    public init(slot: Int, address: String, state: String, reason: String? = nil) {
        self.slot = slot
        self.address = address
        self.state = state
        self.reason = reason
    }

    /// The reasons an unhealthy target can have, each a series of its own (0 when none has it).
    public static let unhealthyReasons = ["Target.FailedHealthChecks", "Target.ResponseCodeMismatch", "Target.Timeout", "Target.DataPathFailed"]
}

/// One served load balancer as the metrics see it.
public struct BalancerSample: Sendable, Hashable {
    /// CloudWatch's dimensions: `gwy/NAME/ID` and `targetgroup/NAME/ID` ("none" without one).
    public var loadBalancer: String
    public var targetGroup: String
    public var targets: [TargetSample]

    public init(loadBalancer: String, targetGroup: String, targets: [TargetSample]) {
        self.loadBalancer = loadBalancer
        self.targetGroup = targetGroup
        self.targets = targets
    }
}

/// What one flush of the metrics reads: the data plane's counters and the control plane's view.
public struct MetricsSample: Sendable {
    public var statistics: DataPlaneStatistics
    /// Every served load balancer: host counts and target series carry its dimensions.
    public var balancers: [BalancerSample]
    public var zone: String
    /// Monotonic seconds, for the peaks.
    public var time: Double
    /// The control plane's target slots, when there is one.
    public var targetSlots: (capacity: Int, current: Int, retired: Int)?
    /// Endpoints whose device is gone and not back yet.
    public var failedEndpoints = 0
    /// Rules and routes of the route tables that differ in Linux.
    public var routingDrift = 0
    /// Flow-log records lost to failed writes, when flow logs are on.
    public var flowLogRecordsLost: UInt64?
    /// When gwlbd started (seconds since the epoch), and how many flows it took over then.
    public var processStart: (time: Double, flowsTakenOver: Int)?
    /// The node of a cluster this gwlbd is (`--node-name`): every series carries it as `node`, so
    /// one Prometheus sums or splits the nodes; nil for a single node (no such label).
    public var node: String?

    public init(statistics: DataPlaneStatistics, balancers: [BalancerSample], zone: String, time: Double) {
        self.statistics = statistics
        self.balancers = balancers
        self.zone = zone
        self.time = time
    }

    /// One load balancer's sample.
    public init(statistics: DataPlaneStatistics, loadBalancer: String, targetGroup: String, zone: String,
                targets: [TargetSample], time: Double) {
        self.init(statistics: statistics, balancers: [BalancerSample(loadBalancer: loadBalancer, targetGroup: targetGroup, targets: targets)],
                  zone: zone, time: time)
    }

    /// The dimensions of gwlbd-wide series (flows, bytes, drops): the load balancer's when there
    /// is one, `all` when several share the data plane, `none` before the first.
    var processLabels: [(String, String)] {
        let names = balancers.count == 1 ? (balancers[0].loadBalancer, balancers[0].targetGroup)
            : balancers.isEmpty ? ("none", "none") : ("all", "all")
        return [("load_balancer", names.0), ("target_group", names.1), ("availability_zone", zone)] + nodeLabel
    }

    var nodeLabel: [(String, String)] { node.map { [("node", $0)] } ?? [] }
}

/// gwlbd's metrics through swift-metrics, kept in a swift-prometheus registry. The data plane is
/// never asked per packet: `flush` (about once a second) turns its running totals into counter
/// increments and gauge values; `exposition()` is what `/metrics` serves.
public final class MetricsExporter: Sendable {
    public let registry = PrometheusCollectorRegistry()
    private let factory: DescribedPrometheusFactory
    private let state = Mutex(State())

    private struct State: @unchecked Sendable {
        // @unchecked: swift-metrics' Counter and Meter are thread-safe classes not marked Sendable.
        var counters: [String: (metric: CoreMetrics.Counter, total: UInt64)] = [:]
        var meters: [String: CoreMetrics.Meter] = [:]
        var bytesPeak = PeakRate()
        var packetsPeak = PeakRate()
        /// Series per target (load balancer and address) and per load balancer's host counts, to
        /// drop those of targets and load balancers that left.
        var ownedSeries: [String: Set<String>] = [:]
    }

    public init() {
        factory = DescribedPrometheusFactory(registry: registry)
    }

    /// The Prometheus text exposition format (version 0.0.4).
    public func exposition() -> String { registry.emitToString() }

    public func flush(_ sample: MetricsSample) {
        let statistics = sample.statistics
        let base = sample.processLabels
        state.withLock { state in
            var present: Set<String> = [flushProcess(&state, sample, base)]
            if let start = sample.processStart {
                set(&state, MetricNames.processStartTime, [], start.time)
                set(&state, MetricNames.flowsTakenOver, [("availability_zone", sample.zone)] + sample.nodeLabel, Double(start.flowsTakenOver))
            }
            for balancer in sample.balancers {
                let dimensions = [("load_balancer", balancer.loadBalancer), ("target_group", balancer.targetGroup), ("availability_zone", sample.zone)]
                    + sample.nodeLabel
                present.insert(flushHosts(&state, balancer, dimensions))
                for target in balancer.targets where target.slot < statistics.targets.count {
                    present.insert(flushTarget(&state, target, statistics.targets[target.slot], dimensions))
                }
            }
            // A target or load balancer that left takes its series with it, as do gwlbd's own
            // series under labels it no longer uses.
            for (target, series) in state.ownedSeries where !present.contains(target) {
                for key in series {
                    state.counters.removeValue(forKey: key)?.metric.destroy()
                    state.meters.removeValue(forKey: key)?.destroy()
                }
                state.ownedSeries[target] = nil
            }
        }
    }

    /// The series of gwlbd as a whole, under `base`; returns the name they are kept under (when
    /// `base` changes, with the load balancers served, the old labels' series go).
    private func flushProcess(_ state: inout State, _ sample: MetricsSample, _ base: [(String, String)]) -> String {
        let statistics = sample.statistics
        var series: Set<String> = [
            set(&state, MetricNames.activeFlows, base, Double(statistics.activeFlows)),
            count(&state, MetricNames.newFlows, base, statistics.newFlows),
            count(&state, MetricNames.processedBytes, base, statistics.endpointBytes),
            count(&state, MetricNames.processedPackets, base, statistics.endpointPackets),
            count(&state, MetricNames.rejectedFlows, base, statistics.rejectedFlows),
            count(&state, MetricNames.rejectedTCPFlows, base, statistics.rejectedTCPFlows),
            count(&state, MetricNames.resetsSent, base, statistics.resetsSent),
            count(&state, MetricNames.endpointsLost, base, statistics.endpointsLost),
            set(&state, MetricNames.failedEndpoints, base, Double(sample.failedEndpoints)),
            set(&state, MetricNames.routingDrift, base, Double(sample.routingDrift)),
            set(&state, MetricNames.peakBytesPerSecond, base, state.bytesPeak.sample(total: statistics.endpointBytes, at: sample.time)),
            set(&state, MetricNames.peakPacketsPerSecond, base, state.packetsPeak.sample(total: statistics.endpointPackets, at: sample.time)),
        ]
        if let lost = sample.flowLogRecordsLost { series.insert(count(&state, MetricNames.flowLogRecordsLost, base, lost)) }
        if sample.node != nil { series.insert(count(&state, MetricNames.returnsOfOtherNodes, base, statistics.returnsOfOtherNodes)) }
        for reason in DropReason.allCases {
            series.insert(count(&state, MetricNames.drops, base + [("reason", reason.name)], statistics.drops(reason)))
        }
        if let slots = sample.targetSlots {
            for (name, value) in [("current", slots.current), ("retired", slots.retired), ("free", slots.capacity - slots.current - slots.retired)] {
                series.insert(set(&state, MetricNames.targetSlots, base + [("state", name)], Double(value)))
            }
        }
        let name = Self.key("process", base)
        state.ownedSeries[name, default: []].formUnion(series)
        return name
    }

    /// HealthyHostCount and UnHealthyHostCount (in all, and by reason) of one load balancer;
    /// returns the name its series are kept under.
    private func flushHosts(_ state: inout State, _ balancer: BalancerSample, _ dimensions: [(String, String)]) -> String {
        var series: Set<String> = [
            set(&state, MetricNames.healthyHosts, dimensions, Double(balancer.targets.count { $0.state == "healthy" })),
            set(&state, MetricNames.unhealthyHosts, dimensions, Double(balancer.targets.count { $0.state == "unhealthy" })),
        ]
        for reason in TargetSample.unhealthyReasons {
            series.insert(set(&state, MetricNames.unhealthyHostsByReason, dimensions + [("reason", reason)],
                              Double(balancer.targets.count { $0.state == "unhealthy" && $0.reason == reason })))
        }
        let name = Self.key("hosts", dimensions)
        state.ownedSeries[name, default: []].formUnion(series)
        return name
    }

    /// One target's series; returns the name its series are kept under.
    private func flushTarget(_ state: inout State, _ target: TargetSample, _ counters: TargetCounters, _ dimensions: [(String, String)]) -> String {
        let labels = dimensions + [("target", target.address)]
        let name = Self.key("target", labels)
        var series = Set<String>()
        series.insert(count(&state, MetricNames.targetPackets, labels + [("direction", "to_target")], counters.packetsToTarget))
        series.insert(count(&state, MetricNames.targetPackets, labels + [("direction", "from_target")], counters.packetsFromTarget))
        series.insert(count(&state, MetricNames.targetBytes, labels + [("direction", "to_target")], counters.bytesToTarget))
        series.insert(count(&state, MetricNames.targetBytes, labels + [("direction", "from_target")], counters.bytesFromTarget))
        series.insert(count(&state, MetricNames.targetNewFlows, labels, counters.newFlows))
        series.insert(set(&state, MetricNames.targetActiveFlows, labels, Double(max(counters.activeFlows, 0))))
        state.ownedSeries[name, default: []].formUnion(series)
        return name
    }

    /// Advances the counter `name` with `labels` to the running total `total`. A total that went
    /// down belongs to a new owner of the same slot: it starts from there.
    @discardableResult
    private func count(_ state: inout State, _ name: String, _ labels: [(String, String)], _ total: UInt64) -> String {
        let key = Self.key(name, labels)
        if let (metric, last) = state.counters[key] {
            if total > last { metric.increment(by: Int64(total - last)) }
            state.counters[key] = (metric, total)
        } else {
            let metric = CoreMetrics.Counter(label: name, dimensions: labels, factory: factory)
            metric.increment(by: Int64(total))
            state.counters[key] = (metric, total)
        }
        return key
    }

    @discardableResult
    private func set(_ state: inout State, _ name: String, _ labels: [(String, String)], _ value: Double) -> String {
        let key = Self.key(name, labels)
        let meter = state.meters[key] ?? CoreMetrics.Meter(label: name, dimensions: labels, factory: factory)
        meter.set(value)
        state.meters[key] = meter
        return key
    }

    private static func key(_ name: String, _ labels: [(String, String)]) -> String {
        name + "{" + labels.map { "\($0.0)=\($0.1)" }.joined(separator: ",") + "}"
    }
}

/// swift-prometheus's factory with each metric's HELP text (its own factory gives none, and
/// `promtool check metrics` wants one).
struct DescribedPrometheusFactory: MetricsFactory {
    let registry: PrometheusCollectorRegistry
    let plain: PrometheusMetricsFactory

    init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
        plain = PrometheusMetricsFactory(registry: registry)
    }

    private func help(_ label: String) -> String { MetricNames.help[label] ?? label }

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        registry.makeCounter(name: label, labels: dimensions, help: help(label))
    }

    func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        registry.makeCounter(name: label, labels: dimensions, help: help(label))
    }

    func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        registry.makeGauge(name: label, labels: dimensions, help: help(label))
    }

    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        aggregate ? plain.makeRecorder(label: label, dimensions: dimensions, aggregate: true)
                  : registry.makeGauge(name: label, labels: dimensions, help: help(label))
    }

    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        plain.makeTimer(label: label, dimensions: dimensions)
    }

    func destroyCounter(_ handler: any CounterHandler) { plain.destroyCounter(handler) }
    func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) { plain.destroyFloatingPointCounter(handler) }
    func destroyMeter(_ handler: any MeterHandler) { plain.destroyMeter(handler) }
    func destroyRecorder(_ handler: any RecorderHandler) { plain.destroyRecorder(handler) }
    func destroyTimer(_ handler: any TimerHandler) { plain.destroyTimer(handler) }
}
