/// GET /v1/cluster: the nodes of the cluster this gwlbd belongs to (`gwlbd --database`), as the
/// shared database has them.
public struct ClusterAnswer: Codable, Sendable, Equatable {
    /// The node that answered.
    public var node: String
    /// Where the shared configuration is (without its password).
    public var database: String
    public var nodes: [ClusterNodeRow]

    public init(node: String, database: String, nodes: [ClusterNodeRow]) {
        (self.node, self.database, self.nodes) = (node, database, nodes)
    }
}

public struct ClusterNodeRow: Codable, Sendable, Equatable {
    public var name: String
    public var version: String
    public var geneveAddress: String
    /// Its heartbeat is recent: it counts in the health consensus.
    public var alive: Bool
    /// Seconds since its last heartbeat, and since its process started.
    public var heartbeatAge: Double
    public var uptime: Double
    /// What it last reported: live flows, and packets per second through it (both directions).
    public var activeFlows: Int64
    public var packetsPerSecond: Double

    public init(name: String, version: String, geneveAddress: String, alive: Bool, heartbeatAge: Double, uptime: Double,
                activeFlows: Int64, packetsPerSecond: Double) {
        (self.name, self.version, self.geneveAddress, self.alive, self.heartbeatAge, self.uptime, self.activeFlows, self.packetsPerSecond)
            = (name, version, geneveAddress, alive, heartbeatAge, uptime, activeFlows, packetsPerSecond)
    }
}

/// What a node reports of itself with each heartbeat (the `stats` of its row).
public struct NodeReport: Codable, Sendable, Equatable {
    public var activeFlows: Int64
    public var packetsPerSecond: Double
    /// Its counters of each served target, by the stream's row key (`LOADBALANCER/ID`, the same
    /// on every node); absent from a gwlbd before 0.4.
    public var targets: [String: NodeTargetCounts]?

    public init(activeFlows: Int64, packetsPerSecond: Double, targets: [String: NodeTargetCounts]? = nil) {
        (self.activeFlows, self.packetsPerSecond, self.targets) = (activeFlows, packetsPerSecond, targets)
    }
}

/// One node's counters of one target: flows pinned to it now, packets and bytes each way since
/// the node's gwlbd started.
public struct NodeTargetCounts: Codable, Sendable, Equatable {
    public var activeFlows: Int64
    public var packetsToTarget: Int64
    public var bytesToTarget: Int64
    public var packetsFromTarget: Int64
    public var bytesFromTarget: Int64

    public init(activeFlows: Int64 = 0, packetsToTarget: Int64 = 0, bytesToTarget: Int64 = 0, packetsFromTarget: Int64 = 0, bytesFromTarget: Int64 = 0) {
        (self.activeFlows, self.packetsToTarget, self.bytesToTarget, self.packetsFromTarget, self.bytesFromTarget)
            = (activeFlows, packetsToTarget, bytesToTarget, packetsFromTarget, bytesFromTarget)
    }

    public static func + (a: Self, b: Self) -> Self {
        Self(activeFlows: a.activeFlows + b.activeFlows, packetsToTarget: a.packetsToTarget + b.packetsToTarget, bytesToTarget: a.bytesToTarget + b.bytesToTarget,
             packetsFromTarget: a.packetsFromTarget + b.packetsFromTarget, bytesFromTarget: a.bytesFromTarget + b.bytesFromTarget)
    }
}

/// The cluster as a node last read it (each second): the nodes, and each live node's counters of
/// each target (row key → node → counters).
public struct ClusterView: Sendable, Equatable {
    public var nodes: [ClusterNodeRow]
    public var targets: [String: [String: NodeTargetCounts]]
    public init(nodes: [ClusterNodeRow] = [], targets: [String: [String: NodeTargetCounts]] = [:]) { (self.nodes, self.targets) = (nodes, targets) }
}
