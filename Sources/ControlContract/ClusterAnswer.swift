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
    public init(activeFlows: Int64, packetsPerSecond: Double) { (self.activeFlows, self.packetsPerSecond) = (activeFlows, packetsPerSecond) }
}
