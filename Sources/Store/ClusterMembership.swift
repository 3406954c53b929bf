import Foundation

/// The cluster's own tables beside the catalog: which nodes are alive (a heartbeat row each),
/// what each node's health checks see, and the shared secrets.
enum ClusterTables {
    static func create(_ transaction: PostgresSession.Transaction) throws {
        try transaction.query("""
            CREATE TABLE IF NOT EXISTS gwlb_node (name text PRIMARY KEY, version text NOT NULL, geneve_address text NOT NULL,
                started_at double precision NOT NULL, heartbeat_at double precision NOT NULL, stats text NOT NULL DEFAULT '{}')
            """)
        try transaction.query("""
            CREATE TABLE IF NOT EXISTS gwlb_health (node text NOT NULL, target text NOT NULL, state text NOT NULL, reason text,
                details text, PRIMARY KEY (node, target))
            """)
        try transaction.query("CREATE TABLE IF NOT EXISTS gwlb_secret (name text PRIMARY KEY, value text NOT NULL)")
        try transaction.query("""
            CREATE TABLE IF NOT EXISTS gwlb_audit (id bigserial PRIMARY KEY, node text NOT NULL, time double precision NOT NULL, record text NOT NULL)
            """)
    }
}

/// A node as the cluster sees it.
public struct ClusterNode: Hashable, Sendable, Codable {
    public var name: String
    public var version: String
    public var geneveAddress: String
    /// Seconds since its process started and since its last heartbeat, by the database server's
    /// clock (nodes' clocks need not agree).
    public var uptime: Double
    public var heartbeatAge: Double
    /// Its heartbeat is recent: it counts in the health consensus.
    public var alive: Bool
    /// What it last reported of itself (rates, flows), as JSON.
    public var stats: String

    public init(name: String, version: String, geneveAddress: String, uptime: Double, heartbeatAge: Double, alive: Bool, stats: String) {
        (self.name, self.version, self.geneveAddress, self.uptime, self.heartbeatAge, self.alive, self.stats)
            = (name, version, geneveAddress, uptime, heartbeatAge, alive, stats)
    }
}

/// One node's verdict on one target, as stored.
public struct StoredHealth: Hashable, Sendable {
    public var state: String
    public var reason: String?
    public var details: String?
    public init(state: String, reason: String?, details: String?) { (self.state, self.reason, self.details) = (state, reason, details) }
}

/// This node's membership in the cluster: its heartbeat, its health checks' view, the others'
/// views, and the secrets every node shares. Blocking calls, made from the cluster's own loop.
public final class ClusterMembership: Sendable {
    public let session: PostgresSession
    public let node: String
    /// A node whose heartbeat is older than this is dead: out of the consensus and of the status.
    public static let livenessSeconds = 3.0

    public init(address: PostgresAddress, node: String) {
        session = PostgresSession(address: address)
        self.node = node
    }

    /// Says this node is alive (inserting its row the first time); `startedAt` is kept from the first.
    public func heartbeat(version: String, geneveAddress: String, stats: String) throws {
        try session.query("""
            INSERT INTO gwlb_node (name, version, geneve_address, started_at, heartbeat_at, stats)
            VALUES ($1, $2, $3, extract(epoch FROM clock_timestamp()), extract(epoch FROM clock_timestamp()), $4)
            ON CONFLICT (name) DO UPDATE SET version = $2, geneve_address = $3, heartbeat_at = extract(epoch FROM clock_timestamp()), stats = $4
            """, [.text(node), .text(version), .text(geneveAddress), .text(stats)])
    }

    /// A new process of this node: its start time is now (the row survives restarts).
    public func joined() throws {
        try session.query("UPDATE gwlb_node SET started_at = extract(epoch FROM clock_timestamp()) WHERE name = $1", [.text(node)])
    }

    /// This node leaves on purpose: its row and its health view go, so the others' consensus no
    /// longer waits for it to be found dead.
    public func leave() throws {
        try session.transaction { transaction in
            try transaction.query("DELETE FROM gwlb_health WHERE node = $1", [.text(node)])
            try transaction.query("DELETE FROM gwlb_node WHERE name = $1", [.text(node)])
        }
    }

    /// Every node that ever joined (dead ones too, marked), by name.
    public func nodes() throws -> [ClusterNode] {
        try session.query("""
            SELECT name, version, geneve_address, extract(epoch FROM clock_timestamp()) - started_at,
                   extract(epoch FROM clock_timestamp()) - heartbeat_at, stats,
                   CASE WHEN heartbeat_at > extract(epoch FROM clock_timestamp()) - $1 THEN 1 ELSE 0 END
            FROM gwlb_node ORDER BY name
            """, [.real(Self.livenessSeconds)]).map { row in
            let text = { (index: Int) -> String in if case .text(let value) = row[index] { value } else { "" } }
            let real = { (index: Int) -> Double in if case .real(let value) = row[index] { value } else { 0 } }
            return ClusterNode(name: text(0), version: text(1), geneveAddress: text(2), uptime: real(3), heartbeatAge: real(4),
                               alive: row[6] == .integer(1), stats: text(5))
        }
    }

    /// Replaces this node's view of the targets' health.
    public func publishHealth(_ view: [String: StoredHealth]) throws {
        try session.transaction { transaction in
            try transaction.query("DELETE FROM gwlb_health WHERE node = $1", [.text(node)])
            for (target, health) in view {
                try transaction.query("INSERT INTO gwlb_health (node, target, state, reason, details) VALUES ($1, $2, $3, $4, $5)",
                                      [.text(node), .text(target), .text(health.state), health.reason.map(StoredValue.text) ?? .null,
                                       health.details.map(StoredValue.text) ?? .null])
            }
        }
    }

    /// Appends one audit record (a CloudTrail-shaped JSON object) to the trail every node writes,
    /// stamped with this node's name and the database server's time.
    public func appendAudit(_ record: String) throws {
        try session.query("INSERT INTO gwlb_audit (node, time, record) VALUES ($1, extract(epoch FROM clock_timestamp()), $2)",
                          [.text(node), .text(record)])
    }

    /// The last `limit` records of the shared audit trail, oldest first: (node, record).
    public func auditRecords(limit: Int) throws -> [(node: String, record: String)] {
        try session.query("SELECT node, record FROM (SELECT id, node, record FROM gwlb_audit ORDER BY id DESC LIMIT $1) AS last ORDER BY id",
                          [.integer(Int64(limit))]).compactMap { row in
            guard case .text(let node) = row[0], case .text(let record) = row[1] else { return nil }
            return (node, record)
        }
    }

    /// Every node's view of the targets' health: node → target → verdict.
    public func healthViews() throws -> [String: [String: StoredHealth]] {
        var views: [String: [String: StoredHealth]] = [:]
        for row in try session.query("SELECT node, target, state, reason, details FROM gwlb_health") {
            guard case .text(let node) = row[0], case .text(let target) = row[1], case .text(let state) = row[2] else { continue }
            let optional = { (value: StoredValue) -> String? in if case .text(let text) = value { text } else { nil } }
            views[node, default: [:]][target] = StoredHealth(state: state, reason: optional(row[3]), details: optional(row[4]))
        }
        return views
    }

    /// The secret named `name`, made by the first node that asks (`make`) and the same for every
    /// node after: one transaction, so two nodes asking at once agree.
    public func secret(_ name: String, make: () -> String) throws -> String {
        try ClusterTables.secret(name, in: session, make: make)
    }
}

extension ClusterTables {
    static func secret(_ name: String, in session: PostgresSession, make: () -> String) throws -> String {
        let fresh = make()
        return try session.transaction { transaction in
            try transaction.query("INSERT INTO gwlb_secret (name, value) VALUES ($1, $2) ON CONFLICT DO NOTHING", [.text(name), .text(fresh)])
            guard case .text(let value) = try transaction.query("SELECT value FROM gwlb_secret WHERE name = $1", [.text(name)]).first?.first else {
                throw StoreError(description: "PostgreSQL's gwlb_secret has no \(name)")
            }
            return value
        }
    }
}
