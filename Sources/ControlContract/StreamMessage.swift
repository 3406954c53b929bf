/// One line of GET /v1/stream (newline-delimited JSON): a `hello` (protocol version, gwlbd's
/// version, boot id, capabilities, the client's role), a `snapshot` of everything, then every second
/// a `delta` with the sections that changed and a `heartbeat`. gwlbd encodes it, the console
/// decodes it: a key renamed on one side is a compile error on the other.
///
/// A section absent from a delta did not change. Counters are totals since gwlbd started, not
/// rates: clients compute rates and notice resets (a new `bootId`).
public struct StreamMessage: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable { case hello, snapshot, delta, heartbeat }

    public var type: Kind
    /// One more than the previous message's.
    public var seq: Int
    /// ISO 8601, UTC (snapshot, delta, heartbeat).
    public var time: String?

    // hello
    public var `protocol`: Int?
    public var version: String?
    public var bootId: String?
    public var capabilities: [String]?
    /// What the client may do: `operator` (drain, register) or `viewer`.
    public var role: String?
    /// When gwlbd started, ISO 8601.
    public var startTime: String?
    /// `created`, `resumed` (flows taken over from the shared flow state) or `cold`.
    public var flowState: String?
    public var flowsTakenOver: Int?
    /// Why the flow state started cold.
    public var flowStateReason: String?
    /// The gwlbd this one took over from without a gap.
    public var upgradedFrom: Predecessor?

    // snapshot and delta
    /// The first served load balancer, for protocol 1's first clients: null once none is served,
    /// absent from a delta when it did not change.
    public var loadBalancer: Nullable<BalancerName>?
    /// Every served load balancer, in the order of their first endpoint.
    public var loadBalancers: [BalancerName]?
    public var flows: StreamFlows?
    public var traffic: StreamTraffic?
    /// Drops by reason (every reason, zero or not).
    public var drops: [String: Int]?
    /// Target rows that are new or changed (all of them in a snapshot).
    public var targets: [StreamTarget]?
    /// Keys of target rows that are gone.
    public var removedTargets: [String]?
    /// Drops recorded since the previous message, oldest first.
    public var recentDrops: [DropRow]?
    public var healthEvents: [HealthEvent]?
    /// Interfaces of endpoints whose device is gone.
    public var failedEndpoints: [String]?
    /// Rules and routes changed behind gwlbd's back.
    public var routingDrift: [String]?
    /// On a node of a cluster: every node, as this one last read them (absent on a single gwlbd).
    public var nodes: [ClusterNodeRow]?

    public init(type: Kind, seq: Int, time: String? = nil, protocol: Int? = nil, version: String? = nil, bootId: String? = nil,
                capabilities: [String]? = nil, role: String? = nil, startTime: String? = nil, flowState: String? = nil,
                flowsTakenOver: Int? = nil, flowStateReason: String? = nil, upgradedFrom: Predecessor? = nil,
                loadBalancer: Nullable<BalancerName>? = nil, loadBalancers: [BalancerName]? = nil, flows: StreamFlows? = nil,
                traffic: StreamTraffic? = nil, drops: [String: Int]? = nil, targets: [StreamTarget]? = nil, removedTargets: [String]? = nil,
                recentDrops: [DropRow]? = nil, healthEvents: [HealthEvent]? = nil, failedEndpoints: [String]? = nil,
                routingDrift: [String]? = nil, nodes: [ClusterNodeRow]? = nil) {
        self.type = type
        self.seq = seq
        self.time = time
        self.protocol = `protocol`
        self.version = version
        self.bootId = bootId
        self.capabilities = capabilities
        self.role = role
        self.startTime = startTime
        self.flowState = flowState
        self.flowsTakenOver = flowsTakenOver
        self.flowStateReason = flowStateReason
        self.upgradedFrom = upgradedFrom
        self.loadBalancer = loadBalancer
        self.loadBalancers = loadBalancers
        self.flows = flows
        self.traffic = traffic
        self.drops = drops
        self.targets = targets
        self.removedTargets = removedTargets
        self.recentDrops = recentDrops
        self.healthEvents = healthEvents
        self.failedEndpoints = failedEndpoints
        self.routingDrift = routingDrift
        self.nodes = nodes
    }

    /// Whether a snapshot or delta carries any section (an empty delta is not sent).
    public var hasSections: Bool {
        loadBalancer != nil || loadBalancers != nil || flows != nil || traffic != nil || drops != nil || targets != nil
            || removedTargets != nil || recentDrops != nil || healthEvents != nil || failedEndpoints != nil || routingDrift != nil
            || nodes != nil
    }

    public struct Predecessor: Codable, Sendable, Equatable {
        public var version: String
        public var pid: Int
        public init(version: String, pid: Int) {
            self.version = version
            self.pid = pid
        }
    }

    public struct BalancerName: Codable, Sendable, Equatable {
        public var name: String
        public var arn: String
        public init(name: String, arn: String) {
            self.name = name
            self.arn = arn
        }
    }

    /// A target's health changing, as the checker saw it.
    public struct HealthEvent: Codable, Sendable, Equatable {
        public var time: String
        public var target: String
        /// The load balancer whose target group it is in.
        public var loadBalancer: String?
        public var state: String
        public var reason: String?
        /// The state before.
        public var from: String?
        public init(time: String, target: String, loadBalancer: String? = nil, state: String, reason: String? = nil, from: String? = nil) {
            self.time = time
            self.target = target
            self.loadBalancer = loadBalancer
            self.state = state
            self.reason = reason
            self.from = from
        }
    }
}

/// A JSON value that is there but may be null: `StreamMessage.loadBalancer` is absent (nil),
/// null (`.null`) or a value.
public enum Nullable<Wrapped: Codable & Sendable & Equatable>: Codable, Sendable, Equatable {
    case null
    case value(Wrapped)

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        self = container.decodeNil() ? .null : .value(try container.decode(Wrapped.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .value(let value): try container.encode(value)
        }
    }

    public var value: Wrapped? {
        if case .value(let value) = self { return value }
        return nil
    }
}

extension KeyedDecodingContainer {
    /// The synthesized decoder reads an optional property with `decodeIfPresent`, which gives nil
    /// for null as for absence; this overload keeps the two apart for `Nullable`.
    public func decodeIfPresent<Wrapped>(_ type: Nullable<Wrapped>.Type, forKey key: Key) throws -> Nullable<Wrapped>? {
        guard contains(key) else { return nil }
        return try decodeNil(forKey: key) ? .null : .value(try decode(Wrapped.self, forKey: key))
    }
}

/// The flow table's occupancy and flow counters.
public struct StreamFlows: Codable, Sendable, Equatable {
    public var active: Int
    public var tcp: Int
    public var udp: Int
    /// Flows the table can hold.
    public var capacity: Int
    /// Totals since gwlbd started.
    public var new: Int
    public var expired: Int
    /// New flows refused (a full table, a SYN flood).
    public var rejected: Int

    public init(active: Int = 0, tcp: Int = 0, udp: Int = 0, capacity: Int = 0, new: Int = 0, expired: Int = 0, rejected: Int = 0) {
        self.active = active
        self.tcp = tcp
        self.udp = udp
        self.capacity = capacity
        self.new = new
        self.expired = expired
        self.rejected = rejected
    }
}

/// The data plane's traffic totals since gwlbd started.
public struct StreamTraffic: Codable, Sendable, Equatable {
    /// From and to the endpoints' devices.
    public var endpointPackets: Int
    public var endpointBytes: Int
    /// To and from the appliances.
    public var genevePackets: Int
    public var geneveBytes: Int
    public var resetsSent: Int
    /// Packets passed to the worker that owns their flow.
    public var handedOff: Int
    public var droppedPackets: Int
    /// The forwarding snapshot the data plane runs.
    public var snapshotVersion: Int

    public init(endpointPackets: Int = 0, endpointBytes: Int = 0, genevePackets: Int = 0, geneveBytes: Int = 0, resetsSent: Int = 0,
                handedOff: Int = 0, droppedPackets: Int = 0, snapshotVersion: Int = 0) {
        self.endpointPackets = endpointPackets
        self.endpointBytes = endpointBytes
        self.genevePackets = genevePackets
        self.geneveBytes = geneveBytes
        self.resetsSent = resetsSent
        self.handedOff = handedOff
        self.droppedPackets = droppedPackets
        self.snapshotVersion = snapshotVersion
    }
}

/// One target row: a target is a row per load balancer it serves, with its registration, health
/// and counters.
public struct StreamTarget: Codable, Sendable, Equatable {
    /// Unique in the stream: `LOADBALANCER/ID` (gwlbd before 0.4 sent neither this nor
    /// `loadBalancer`, and served one load balancer: its rows are keyed by `id`).
    public var key: String?
    public var loadBalancer: String?
    /// The target's id in the API (its address, or an instance id).
    public var id: String
    public var address: String
    public var port: Int
    public var zone: String
    /// `healthy`, `unhealthy`, `initial`, `draining`, `unused`, `unavailable`.
    public var state: String
    public var reason: String?
    /// Its slot in the data plane's target table (nil: not in the forwarding snapshot).
    public var slot: Int?
    /// When its deregistration started (draining), ISO 8601.
    public var deregisteredTime: String?
    public var activeFlows: Int
    public var newFlows: Int
    public var packetsToTarget: Int
    public var bytesToTarget: Int
    public var packetsFromTarget: Int
    public var bytesFromTarget: Int
    /// The last health check's duration, in whole milliseconds.
    public var checkMs: Int?
    /// The last data-path probe's round trip, in whole milliseconds.
    public var dataPathMs: Int?
    /// On a node of a cluster: each live node's own verdict (`state`, or `state reason`), by
    /// node name; `state` is their consensus.
    public var nodes: [String: String]?
    /// On a node of a cluster: each live node's counters of it, from the nodes' last heartbeats
    /// (the console adds them up); the counters above are this node's own.
    public var byNode: [String: NodeTargetCounts]?

    public init(loadBalancer: String?, id: String, address: String? = nil, port: Int = 6081, zone: String = "local", state: String,
                reason: String? = nil, slot: Int? = nil, deregisteredTime: String? = nil, activeFlows: Int = 0, newFlows: Int = 0,
                packetsToTarget: Int = 0, bytesToTarget: Int = 0, packetsFromTarget: Int = 0, bytesFromTarget: Int = 0,
                checkMs: Int? = nil, dataPathMs: Int? = nil, nodes: [String: String]? = nil, byNode: [String: NodeTargetCounts]? = nil) {
        self.key = loadBalancer.map { $0 + "/" + id }
        self.loadBalancer = loadBalancer
        self.id = id
        self.address = address ?? id
        self.port = port
        self.zone = zone
        self.state = state
        self.reason = reason
        self.slot = slot
        self.deregisteredTime = deregisteredTime
        self.activeFlows = activeFlows
        self.newFlows = newFlows
        self.packetsToTarget = packetsToTarget
        self.bytesToTarget = bytesToTarget
        self.packetsFromTarget = packetsFromTarget
        self.bytesFromTarget = bytesFromTarget
        self.checkMs = checkMs
        self.dataPathMs = dataPathMs
        self.nodes = nodes
        self.byNode = byNode
    }
}
