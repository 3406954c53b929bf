import ControlClient
import ControlContract
import Foundation

/// What the console shows, built from gwlbd's `/v1/stream` (hello, snapshot, deltas, heartbeats).
/// Counters come in; rates are computed here (`CounterRate`), so a restarted gwlbd (a new boot id,
/// counters from zero) never shows negative rates.
public struct ConsoleModel: Sendable {
    public enum Connection: Equatable, Sendable {
        case connecting
        case live
        /// No heartbeat for three seconds: the data is kept, dimmed.
        case stale
        /// The last attempt failed; the client retries.
        case disconnected(String)
    }

    public struct Target: Sendable, Equatable {
        /// The row's key in the stream: `LOADBALANCER/ID` (a target registered with two load
        /// balancers is two rows), or the target id from a gwlbd that sends no key.
        public var id: String
        /// The target's id in the API (its address, or an instance id).
        public var targetId: String
        /// The load balancer it is a target of (empty from a gwlbd that does not say).
        public var loadBalancer: String
        public var address: String
        public var port: Int
        public var zone: String
        public var state: String
        public var reason: String?
        public var activeFlows: Int
        public var packetsToTarget: UInt64
        public var bytesToTarget: UInt64
        public var packetsFromTarget: UInt64
        public var bytesFromTarget: UInt64
        /// The last health check's duration in milliseconds (nil before the first, or without checks).
        public var checkMilliseconds: Int? = nil
        /// The last data-path probe's round trip in milliseconds (nil: the target group does not
        /// probe the data path, or the probe did not come back).
        public var dataPathMilliseconds: Int? = nil
        /// On a node of a cluster: each live node's own verdict, by node name.
        public var nodes: [String: String] = [:]
        /// On a node of a cluster: each live node's counters of it; the counters above are then
        /// their sum (the whole cluster's traffic through this appliance).
        public var byNode: [String: NodeTargetCounts] = [:]
    }

    public struct Rates: Sendable {
        public var packetsTo = CounterRate(), bytesTo = CounterRate(), packetsFrom = CounterRate(), bytesFrom = CounterRate()
    }

    public struct Drop: Sendable, Equatable {
        public var time: String, reason: String, source: String, destination: String
        public var sourcePort: Int, destinationPort: Int, proto: String, size: Int, endpoint: Int?
    }

    public struct HealthEvent: Sendable, Equatable {
        public var time: String, target: String, state: String, reason: String?
    }

    public var connection = Connection.connecting
    public var version = ""
    public var bootID = ""
    public var role = ""
    /// When the gwlbd on the other end started (from its hello), for the header's uptime.
    public var gwlbdStarted: Date?
    /// The first load balancer gwlbd serves.
    public var loadBalancerName: String?
    /// Every load balancer gwlbd serves, by name (one when the stream lists none).
    public var loadBalancers: [String] = []
    /// True once the stream's target rows carry keys (`LOADBALANCER/ID`).
    public var rowsKeyed = false
    public var lastSequence = 0
    public var lastMessageTime: Double = 0
    public var flows = StreamFlows()
    public var traffic = StreamTraffic()
    public var dropCounts: [String: Int] = [:]
    public var targets: [String: Target] = [:]
    public var targetRates: [String: Rates] = [:]
    public var newFlowRate = CounterRate(), expiredFlowRate = CounterRate(), dropRate = CounterRate()
    public var packetsInRate = CounterRate(), bytesInRate = CounterRate(), packetsOutRate = CounterRate(), bytesOutRate = CounterRate()
    /// Active flows over the last samples, for the sparkline (newest last).
    public var activeFlowHistory: [Int] = []
    /// Each target's packets per second to it, one value per sample (its sparkline).
    public var targetHistory: [String: [Int]] = [:]
    /// Drops per second, one sample per update, for the history pane.
    public var dropHistory: [Int] = []
    public var recentDrops: [Drop] = []
    /// Interfaces of endpoints whose device is gone (they forward nothing).
    public var failedEndpoints: [String] = []
    /// Rules and routes of the route tables changed behind gwlbd's back.
    public var routingDrift: [String] = []
    /// The cluster's nodes (empty for a single gwlbd).
    public var nodes: [ClusterNodeRow] = []
    public var healthEvents: [HealthEvent] = []
    /// One note per new gwlbd seen on the socket after the first (`restartNote`), oldest first.
    public var restarts: [String] = []
    /// The drilled-into target's flows (the console copies them from its `FlowWatch`).
    public var drillFlows: [FlowWatch.Row] = []
    /// Samples kept per history (one per update, about a second each): five minutes.
    public static let historyLength = 300
    public static let listLength = 200

    public init() {}

    /// Applies one stream message received at `time` (seconds, monotonic).
    public mutating func apply(_ message: StreamMessage, at time: Double) {
        lastMessageTime = time
        lastSequence = message.seq
        connection = .live
        switch message.type {
        case .hello:
            let boot = message.bootId ?? ""
            let restarted = !bootID.isEmpty && boot != bootID
            if boot != bootID { self = ConsoleModel.fresh(keepingHistoryOf: self) }
            if restarted { restarts.append(Self.restartNote(message)) }
            bootID = boot
            version = message.version ?? ""
            role = message.role ?? ""
            gwlbdStarted = message.startTime.flatMap(Timestamp.date(from:))
            connection = .live
        case .snapshot:
            targets = [:]
            merge(message, at: time)
        case .delta:
            merge(message, at: time)
        case .heartbeat:
            break
        }
    }

    /// A new gwlbd (or the first): everything from scratch but the sparkline, which keeps its past.
    static func fresh(keepingHistoryOf old: ConsoleModel) -> ConsoleModel {
        var model = ConsoleModel()
        model.activeFlowHistory = old.activeFlowHistory
        model.targetHistory = old.targetHistory
        model.dropHistory = old.dropHistory
        model.restarts = old.restarts
        return model
    }

    /// What the action log says of a new gwlbd on the socket: its version and what became of the
    /// flows (taken over from the shared flow state, or not).
    static func restartNote(_ hello: StreamMessage) -> String {
        let version = hello.version ?? "?"
        let flows: String = switch hello.flowState {
        case "resumed": "took over \(hello.flowsTakenOver ?? 0) flows"
        case "cold": "started cold (\(hello.flowStateReason ?? "another layout")), every flow new"
        default: "every flow new"
        }
        if let predecessor = hello.upgradedFrom {
            return "gwlbd upgraded to \(version) (from \(predecessor.version), pid \(predecessor.pid)) without a gap: \(flows)"
        }
        return "gwlbd restarted (\(version)): \(flows)"
    }

    private mutating func merge(_ message: StreamMessage, at time: Double) {
        if let balancer = message.loadBalancer {
            loadBalancerName = balancer.value?.name
            loadBalancers = loadBalancerName.map { [$0] } ?? []
        }
        if let list = message.loadBalancers { loadBalancers = list.map(\.name) }
        if let flows = message.flows { self.flows = flows }
        if let traffic = message.traffic { self.traffic = traffic }
        if let drops = message.drops { dropCounts = drops }
        if let failed = message.failedEndpoints { failedEndpoints = failed }
        if let drift = message.routingDrift { routingDrift = drift }
        if let nodes = message.nodes { self.nodes = nodes }
        for row in message.targets ?? [] {
            if row.key != nil { rowsKeyed = true }
            let key = row.key ?? row.id
            var target = Target(id: key, targetId: row.id, loadBalancer: row.loadBalancer ?? "", address: row.address, port: row.port,
                                zone: row.zone, state: row.state, reason: row.reason, activeFlows: row.activeFlows,
                                packetsToTarget: Self.counter(row.packetsToTarget), bytesToTarget: Self.counter(row.bytesToTarget),
                                packetsFromTarget: Self.counter(row.packetsFromTarget), bytesFromTarget: Self.counter(row.bytesFromTarget),
                                checkMilliseconds: row.checkMs, dataPathMilliseconds: row.dataPathMs, nodes: row.nodes ?? [:], byNode: row.byNode ?? [:])
            if let byNode = row.byNode, !byNode.isEmpty {
                let sum = byNode.values.reduce(NodeTargetCounts(), +)
                target.activeFlows = Int(sum.activeFlows)
                (target.packetsToTarget, target.bytesToTarget) = (Self.counter(Int(sum.packetsToTarget)), Self.counter(Int(sum.bytesToTarget)))
                (target.packetsFromTarget, target.bytesFromTarget) = (Self.counter(Int(sum.packetsFromTarget)), Self.counter(Int(sum.bytesFromTarget)))
            }
            targets[key] = target
        }
        for id in message.removedTargets ?? [] {
            targets[id] = nil
            targetRates[id] = nil
            targetHistory[id] = nil
        }
        for row in message.recentDrops ?? [] {
            recentDrops.insert(Drop(time: row.time, reason: row.reason, source: row.source, destination: row.destination,
                                    sourcePort: row.sourcePort, destinationPort: row.destinationPort, proto: row.protocol,
                                    size: row.size, endpoint: row.endpoint), at: 0)
        }
        if recentDrops.count > Self.listLength { recentDrops.removeLast(recentDrops.count - Self.listLength) }
        for event in message.healthEvents ?? [] {
            // With several load balancers an event names its own: the same target may serve two.
            let named = loadBalancers.count > 1 ? event.loadBalancer.map { $0 + "/" + event.target } : nil
            healthEvents.insert(HealthEvent(time: event.time, target: named ?? event.target, state: event.state, reason: event.reason), at: 0)
        }
        if healthEvents.count > Self.listLength { healthEvents.removeLast(healthEvents.count - Self.listLength) }
        sampleRates(at: time)
    }

    /// The key the row of `targetId` in `loadBalancer` has (or will have, once registered).
    public func rowKey(loadBalancer: String?, targetId: String) -> String {
        guard rowsKeyed, let balancer = loadBalancer ?? loadBalancers.first else { return targetId }
        return balancer + "/" + targetId
    }

    /// How the action log names a target row: its id, and its load balancer when there are several.
    public func displayName(_ key: String) -> String {
        guard let target = targets[key] else { return key }
        return loadBalancers.count > 1 && !target.loadBalancer.isEmpty ? target.loadBalancer + "/" + target.targetId : target.targetId
    }

    /// Feeds every counter into its rate; called with each snapshot and delta.
    public mutating func sampleRates(at time: Double) {
        newFlowRate.sample(Self.counter(flows.new), at: time)
        expiredFlowRate.sample(Self.counter(flows.expired), at: time)
        dropRate.sample(Self.counter(traffic.droppedPackets), at: time)
        packetsInRate.sample(Self.counter(traffic.endpointPackets), at: time)
        bytesInRate.sample(Self.counter(traffic.endpointBytes), at: time)
        packetsOutRate.sample(Self.counter(traffic.genevePackets), at: time)
        bytesOutRate.sample(Self.counter(traffic.geneveBytes), at: time)
        for (id, target) in targets {
            var rates = targetRates[id] ?? Rates()
            rates.packetsTo.sample(target.packetsToTarget, at: time)
            rates.bytesTo.sample(target.bytesToTarget, at: time)
            rates.packetsFrom.sample(target.packetsFromTarget, at: time)
            rates.bytesFrom.sample(target.bytesFromTarget, at: time)
            targetRates[id] = rates
            if let rate = rates.packetsTo.perSecond {
                targetHistory[id, default: []].append(Int(rate.rounded()))
                if targetHistory[id]!.count > Self.historyLength { targetHistory[id]!.removeFirst() }
            }
        }
        activeFlowHistory.append(flows.active)
        if activeFlowHistory.count > Self.historyLength { activeFlowHistory.removeFirst() }
        if let rate = dropRate.perSecond {
            dropHistory.append(Int(rate.rounded()))
            if dropHistory.count > Self.historyLength { dropHistory.removeFirst() }
        }
    }

    /// Marks the data stale when three heartbeats are missing.
    public mutating func checkStaleness(at time: Double) {
        if connection == .live, time - lastMessageTime > 3 { connection = .stale }
    }

    static func counter(_ value: Int) -> UInt64 { UInt64(max(0, value)) }
}
