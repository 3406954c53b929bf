import ControlAPI
import ControlContract
import ControlPlane
import DataPlane
import Foundation
import Health
import Logging
import NIOPosix
import ServiceLifecycle
import Store
import Synchronization

/// gwlbd as a node of a cluster (`--database`): it hears the other nodes' changes (LISTEN/NOTIFY,
/// and a re-read every `rereadSeconds` as the safety net), beats its heartbeat each second with
/// what it carries, shares its health checks' view, and takes the live nodes' consensus as the
/// targets' health. Leaving on purpose (SIGTERM) takes it out of the consensus at once.
struct ClusterService: Service {
    let store: PostgresCatalogStore
    let membership: ClusterMembership
    let service: ControlPlaneService
    let geneveAddress: String
    let statistics: @Sendable () -> DataPlaneStatistics
    /// The nodes as the last heartbeat read them, for the console's stream.
    let lastRead = LastRead()
    static let rereadSeconds = 5

    final class LastRead: Sendable {
        let view = Mutex(ClusterView())
    }

    func run() async {
        _ = try? await blocking { try membership.heartbeat(version: GWLBVersion.current, geneveAddress: geneveAddress, stats: "{}") }
        _ = try? await blocking { try membership.joined() }
        await withDiscardingTaskGroup { group in
            group.addTask { await store.watch { _ = try? await service.refresh() } }
            group.addTask { await beat() }
            try? await gracefulShutdown()
            group.cancelAll()
        }
        do { try await blocking { try membership.leave() } } catch {
            Logger.gwlbd.warning("leaving the cluster: \(error) (the others find this node dead within \(Int(ClusterMembership.livenessSeconds)) s)")
        }
    }

    private func beat() async {
        var second = 0
        var published: [String: StoredHealth]? = nil
        var last = (packets: Self.packets(statistics()), time: ContinuousClock.now)
        while (try? await Task.sleep(for: .seconds(1))) != nil {
            second += 1
            let now = (packets: Self.packets(statistics()), time: ContinuousClock.now)
            let seconds = Double((now.time - last.time).components.attoseconds) / 1e18 + Double((now.time - last.time).components.seconds)
            let served = service.servedTargets(statistics())
            let report = NodeReport(activeFlows: statistics().activeFlows, packetsPerSecond: Double(now.packets &- last.packets) / max(seconds, 0.001),
                                    targets: Dictionary(served.map { ($0.rowKey, Self.counts($0.counters)) }) { first, _ in first })
            last = now
            let local = service.localHealth.mapValues { StoredHealth(state: $0.state.rawValue, reason: $0.reason, details: $0.details) }
            do {
                let stats = String(decoding: try ContractCoding.encode(report), as: UTF8.self)
                let changed = local != published
                let (nodes, views) = try await blocking {
                    try membership.heartbeat(version: GWLBVersion.current, geneveAddress: geneveAddress, stats: stats)
                    if changed { try membership.publishHealth(local) }
                    return (try membership.nodes(), try membership.healthViews())
                }
                published = local
                lastRead.view.withLock { $0 = Self.view(nodes) }
                let alive = Set(nodes.filter(\.alive).map(\.name))
                let peers = views.filter { alive.contains($0.key) && $0.key != membership.node }.mapValues { view in
                    view.compactMapValues { stored in
                        TargetHealthState.State(rawValue: stored.state).map { TargetHealthState($0, reason: stored.reason, details: stored.details) }
                    }
                }
                try await service.adoptPeerHealth(peers, liveNodes: max(1, alive.subtracting([membership.node]).count + 1))
                if second % Self.rereadSeconds == 0 { try await service.refresh() }
            } catch {
                // The database away: this node keeps forwarding with what it has, and says so.
                if second % 10 == 1 { Logger.gwlbd.warning("cluster: \(error); forwarding goes on with the last configuration and health") }
            }
        }
    }

    static func packets(_ statistics: DataPlaneStatistics) -> UInt64 { statistics.endpointPackets &+ statistics.genevePackets }

    /// The cluster as the database has it, for GET /v1/cluster.
    func answer() async throws -> ClusterAnswer {
        let nodes = try await blocking { try membership.nodes() }
        return ClusterAnswer(node: membership.node, database: store.location, nodes: nodes.map(Self.row))
    }

    static func counts(_ counters: TargetCounters) -> NodeTargetCounts {
        NodeTargetCounts(activeFlows: counters.activeFlows, packetsToTarget: Int64(clamping: counters.packetsToTarget),
                         bytesToTarget: Int64(clamping: counters.bytesToTarget), packetsFromTarget: Int64(clamping: counters.packetsFromTarget),
                         bytesFromTarget: Int64(clamping: counters.bytesFromTarget))
    }

    /// The nodes, and each live node's counters of each target from its last heartbeat.
    static func view(_ nodes: [ClusterNode]) -> ClusterView {
        var targets: [String: [String: NodeTargetCounts]] = [:]
        for node in nodes where node.alive {
            let report = try? ContractCoding.decode(NodeReport.self, from: Data(node.stats.utf8))
            for (key, counts) in report?.targets ?? [:] { targets[key, default: [:]][node.name] = counts }
        }
        return ClusterView(nodes: nodes.map(row), targets: targets)
    }

    static func row(_ node: ClusterNode) -> ClusterNodeRow {
        let report = try? ContractCoding.decode(NodeReport.self, from: Data(node.stats.utf8))
        return ClusterNodeRow(name: node.name, version: node.version, geneveAddress: node.geneveAddress, alive: node.alive,
                              heartbeatAge: max(0, node.heartbeatAge), uptime: max(0, node.uptime),
                              activeFlows: report?.activeFlows ?? 0, packetsPerSecond: report?.packetsPerSecond ?? 0)
    }

    /// PostgreSQL calls wait for their answer: on NIO's thread pool, not on Swift's shared threads.
    private func blocking<Result: Sendable>(_ body: @escaping @Sendable () throws -> Result) async throws -> Result {
        try await NIOThreadPool.singleton.runIfActive(body)
    }
}
