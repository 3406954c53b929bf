import Catalog
import ControlPlane
import DataPlane
import Daemon
import Foundation
import Health
import Store
import Synchronization

/// `gwlb-bench cluster`: how soon a change made on one node of a cluster is in every node's data
/// plane. Three control planes share a real PostgreSQL (a scratch database, dropped afterwards),
/// each hearing the others' commits by LISTEN/NOTIFY as gwlbd nodes do; each change registers a new
/// target on node 1, and the figure for a node is from the call's start to the moment that node
/// published a snapshot with the target (what its data plane forwards with). The baseline is node
/// 1's own: the same change's commit (serializable transaction) and publication there.
struct ClusterBenchmark {
    let changes: Int
    let server: PostgresAddress

    final class Node: Sendable {
        let store: PostgresCatalogStore
        let service: ControlPlaneService
        /// When each target address was first in a published snapshot.
        let box: SeenBox

        init(_ address: PostgresAddress, name: String) throws {
            store = try PostgresCatalogStore(address: address, node: name)
            let box = SeenBox()
            service = try ControlPlaneService(store: store, region: "us-east-1", account: "123456789012") { snapshot in
                let now = ContinuousClock.now
                box.seen.withLock { seen in
                    for peer in snapshot.targets.compactMap({ $0 }) where seen[peer.address.description] == nil { seen[peer.address.description] = now }
                }
            }
            self.box = box
        }
        func when(_ address: String) -> ContinuousClock.Instant? { box.seen.withLock { $0[address] } }
    }

    final class SeenBox: Sendable { let seen = Mutex<[String: ContinuousClock.Instant]>([:]) }

    func run() throws {
        let admin = PostgresSession(address: server)
        let name = "gwlb_bench_\(getpid())"
        try admin.query("CREATE DATABASE \(name)")
        defer { _ = try? admin.query("DROP DATABASE IF EXISTS \(name) WITH (FORCE)") }
        let address = server.database(name)
        let nodes = try (1...3).map { try Node(address, name: "n\($0)") }
        let changes = self.changes
        print("gwlb-bench cluster: \(changes) RegisterTargets on node 1 of 3, PostgreSQL at \(server) (serializable transactions, LISTEN/NOTIFY)")
        let (own, others) = try Daemon.runBlocking { () -> ([Double], [Double]) in
            let watchers = nodes.dropFirst().map { node in Task { await node.store.watch { _ = try? await node.service.refresh() } } }
            defer { watchers.forEach { $0.cancel() } }
            try await Task.sleep(for: .milliseconds(500))  // the watchers listen
            try await nodes[0].service.perform { catalog, context in
                let balancer = try catalog.createLoadBalancer(name: "bench", type: "gateway", subnets: [], ipAddressType: nil, tags: [], id: context.newID(), now: context.now)
                let group = try catalog.createTargetGroup(name: "bench", protocol: "GENEVE", port: 6081, vpcId: nil, targetType: "ip",
                                                          healthCheck: HealthCheck(), tags: [], id: context.newID())
                _ = try catalog.createListener(loadBalancer: balancer.arn, port: nil, protocol: nil, forwardTo: group.arn, actionType: "forward", tags: [], id: context.newID())
                _ = try catalog.createEndpoint(loadBalancer: balancer.arn, interface: "benchtun", endpointId: nil, attachmentId: nil, newID: context.newID, now: context.now)
            }
            var own: [Double] = [], others: [Double] = []
            for change in 0..<changes {
                let target = "198.18.\(2 + change / 250).\(1 + change % 250)"
                let start = ContinuousClock.now
                try await nodes[0].service.perform { catalog, context in
                    try catalog.registerTargets(catalog.targetGroups[0].arn, [(target, nil)], now: context.now)
                }
                while nodes.contains(where: { $0.when(target) == nil }), ContinuousClock.now - start < .seconds(10) {
                    try await Task.sleep(for: .microseconds(200))
                }
                func seconds(_ node: Node) -> Double {
                    guard let when = node.when(target) else { return .infinity }
                    let elapsed = when - start
                    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                }
                own.append(seconds(nodes[0]))
                others.append(max(seconds(nodes[1]), seconds(nodes[2])))
            }
            return (own, others)
        }
        func describe(_ values: [Double]) -> String {
            let sorted = values.sorted()
            return String(format: "median %.1f ms, p90 %.1f ms, worst %.1f ms", sorted[sorted.count / 2] * 1000,
                          sorted[min(sorted.count - 1, sorted.count * 9 / 10)] * 1000, sorted.last! * 1000)
        }
        print("  node 1 (the change's own commit and snapshot): \(describe(own))")
        print("  every other node's data plane:                 \(describe(others))")
        let median = others.sorted()[others.count / 2] / max(own.sorted()[own.count / 2], 1e-9)
        print(String(format: "  ratio, median other node / node 1: %.2f×; goal: worst ≤ 1000 ms (%@)", median,
                     others.max()! <= 1 ? "met" : "NOT met"))
    }
}
