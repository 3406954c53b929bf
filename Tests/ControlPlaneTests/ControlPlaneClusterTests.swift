import Catalog
import DataPlane
import Foundation
import Health
import Store
import Synchronization
import TestPostgres
import TestTraits
import Testing
@testable import ControlPlane

/// Nodes of a cluster: control planes sharing one catalog in a real PostgreSQL.
@Suite(.serialized, .database) struct ControlPlaneClusterTests {
    final class Node: Sendable {
        let service: ControlPlaneService
        let store: PostgresCatalogStore
        let latest: Latest

        final class Latest: Sendable { let snapshot = Mutex<ForwardingSnapshot?>(nil) }

        init(_ address: PostgresAddress, name: String) throws {
            store = try PostgresCatalogStore(address: address, node: name)
            let latest = Latest()
            service = try ControlPlaneService(store: store, region: "us-east-1", account: "123456789012") { snapshot in
                latest.snapshot.withLock { $0 = snapshot }
            }
            self.latest = latest
        }

        var targets: [String] { latest.snapshot.withLock { $0?.targets.compactMap { $0?.address.description } ?? [] } }
    }

    static func serve(_ catalog: inout ResourceCatalog, _ context: ControlPlaneService.Context) throws {
        let balancer = try catalog.createLoadBalancer(name: "lb", type: "gateway", subnets: [], ipAddressType: nil, tags: [], id: context.newID(), now: context.now)
        let group = try catalog.createTargetGroup(name: "tg", protocol: "GENEVE", port: 6081, vpcId: nil, targetType: "ip",
                                                  healthCheck: HealthCheck(), tags: [], id: context.newID())
        _ = try catalog.createListener(loadBalancer: balancer.arn, port: nil, protocol: nil, forwardTo: group.arn, actionType: "forward", tags: [], id: context.newID())
        _ = try catalog.createEndpoint(loadBalancer: balancer.arn, interface: "gwlbe0", endpointId: nil, attachmentId: nil, newID: context.newID, now: context.now)
    }

    /// A change committed on one node is in another node's data plane: it hears of it
    /// (LISTEN/NOTIFY; nothing else re-reads here) and publishes a snapshot with it. How fast is
    /// `gwlb-bench cluster`'s to measure (a median of 9 ms, on a quiet machine).
    @Test func aChangeOnOneNodeReachesTheOthersDataPlane() async throws {
        try await TestDatabase.use { address in
            let a = try Node(address, name: "a"), b = try Node(address, name: "b")
            let watching = Task { await TestServers.run { await b.store.watch { _ = try? await b.service.refresh() } } }
            defer { watching.cancel() }
            try await a.service.perform(Self.serve)
            var delays: [Duration] = []
            for index in 1...5 {
                let address = "198.18.7.\(index)"
                let start = ContinuousClock.now
                try await a.service.perform { catalog, context in
                    try catalog.registerTargets(catalog.targetGroups[0].arn, [(address, nil)], now: context.now)
                }
                while !b.targets.contains(address), ContinuousClock.now - start < .seconds(30) { try await Task.sleep(for: .milliseconds(2)) }
                delays.append(ContinuousClock.now - start)
            }
            #expect(b.targets.sorted() == (1...5).map { "198.18.7.\($0)" })
            print("PostgreSQL: changes reached the other node's data plane after \(delays)")
            #expect(b.service.read { $0 } == a.service.read { $0 }, "both nodes hold the same catalog")
        }
    }

    /// A node that has not heard of another node's change yet still answers as that node would:
    /// its change is made again on the newer catalog, so a name taken there is taken here.
    @Test func aNodeBehindGetsTheSameAnswers() async throws {
        try await TestDatabase.use { address in
            let a = try Node(address, name: "a"), b = try Node(address, name: "b")
            try await a.service.perform(Self.serve)
            #expect(b.service.read { $0.loadBalancers.count } == 0, "b has not heard of it (nothing listens)")
            let error = await #expect(throws: ELBError.self) { try await b.service.perform(Self.serve) }
            #expect(error?.code == .duplicateLoadBalancerName)
            #expect(b.service.read { $0.loadBalancers.map(\.name) } == ["lb"], "b took a's change on the way")
        }
    }

    /// Nodes changing the catalog at the same time: every change acknowledged is kept, none
    /// overwrites another's.
    @Test func concurrentChangesOnTwoNodesAreAllKept() async throws {
        try await TestDatabase.use { address in
            let a = try Node(address, name: "a"), b = try Node(address, name: "b")
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<20 {
                    let node = index % 2 == 0 ? a : b
                    group.addTask {
                        try await node.service.perform { catalog, context in
                            _ = try catalog.createTargetGroup(name: "tg\(index)", protocol: "GENEVE", port: 6081, vpcId: nil, targetType: "ip",
                                                              healthCheck: HealthCheck(), tags: [], id: context.newID())
                        }
                    }
                }
                try await group.waitForAll()
            }
            let stored = try #require(try PostgresCatalogStore(address: address, node: "reader").load())
            #expect(Set(stored.targetGroups.map(\.name)) == Set((0..<20).map { "tg\($0)" }))
        }
    }

    /// The targets' health on a node of a cluster is the live nodes' consensus, not its own view.
    @Test func healthIsTheConsensusOfTheLiveNodes() async throws {
        try await TestDatabase.use { address in
            let a = try Node(address, name: "a")
            try await a.service.perform(Self.serve)
            try await a.service.perform { catalog, context in
                try catalog.registerTargets(catalog.targetGroups[0].arn, [("198.18.7.1", nil)], now: context.now)
            }
            let key = ControlPlaneService.healthKey(group: a.service.read { $0.targetGroups[0].arn }, target: "198.18.7.1")
            try await a.service.recordHealth(target: key, .healthy)
            #expect(a.service.health[key]?.state == .healthy, "alone, a node's view is the verdict")
            // Two other live nodes see it unhealthy: 1 of 3 is no majority.
            try await a.service.adoptPeerHealth(["b": [key: .timeout], "c": [key: .timeout]], liveNodes: 3)
            #expect(a.service.health[key]?.state == .unhealthy)
            #expect(a.service.health[key]?.reason == "Target.Timeout")
            #expect(a.service.nodeViews(of: key, thisNode: "a").mapValues(\.state) == ["a": .healthy, "b": .unhealthy, "c": .unhealthy])
            // describe-target-health's per-node breakdown (its NodeHealth members) under the consensus.
            let view = try #require(try a.service.targets(of: a.service.read { $0.targetGroups[0].arn }).first)
            #expect(view.health.state == .unhealthy && view.nodes.mapValues(\.state) == ["a": .healthy, "b": .unhealthy, "c": .unhealthy])
            #expect(view.nodes["b"]?.reason == "Target.Timeout")
            // One of them sees it healthy again: 2 of 3.
            try await a.service.adoptPeerHealth(["b": [key: .healthy], "c": [key: .timeout]], liveNodes: 3)
            #expect(a.service.health[key]?.state == .healthy)
            #expect(a.service.healthEvents.map(\.to.state) == [.healthy, .unhealthy, .healthy])
        }
    }
}

/// AWS's distributed checks with a consensus: the majority of live nodes decides.
@Suite struct HealthConsensusTests {
    @Test func aStrictMajorityOfLiveNodesMakesATargetHealthy() {
        #expect(HealthConsensus.decide([.healthy], liveNodes: 1) == .healthy)
        #expect(HealthConsensus.decide([.healthy, .healthy, .timeout], liveNodes: 3) == .healthy)
        #expect(HealthConsensus.decide([.healthy, .timeout, .timeout], liveNodes: 3).state == .unhealthy)
        // A tie is no majority: half the nodes cannot reach it.
        let tie = HealthConsensus.decide([.healthy, .failedHealthChecks], liveNodes: 2)
        #expect(tie.state == .unhealthy)
        #expect(tie.details == "Health checks failed (healthy on 1 of 2 nodes)")
    }

    /// A live node without a verdict yet counts against: a target is not healthy on the word of a
    /// minority while the others are still checking.
    @Test func liveNodesWithoutAVerdictCountAgainst() {
        #expect(HealthConsensus.decide([.healthy], liveNodes: 3).state == .unhealthy)
        #expect(HealthConsensus.decide([.healthy, .healthy], liveNodes: 3) == .healthy)
        #expect(HealthConsensus.decide([.initialHealthChecking, .initialHealthChecking], liveNodes: 2) == .initialHealthChecking)
    }

    /// Dead nodes are not in the views nor in the count: the survivors decide alone.
    @Test func deadNodesDoNotCount() {
        let local: [String: TargetHealthState] = ["t": .healthy]
        // c died: only b's view is left, and 2 nodes live.
        #expect(HealthConsensus.decide(local: local, peers: ["b": ["t": .healthy]], liveNodes: 2) == ["t": .healthy])
        #expect(HealthConsensus.decide(local: local, peers: ["b": ["t": .timeout]], liveNodes: 2)["t"]?.state == .unhealthy)
        // Alone, a node's own view is the verdict, whatever it is.
        #expect(HealthConsensus.decide(local: ["t": .timeout], peers: [:], liveNodes: 1) == ["t": .timeout])
    }

    /// The failing nodes' most common reason is the one given.
    @Test func theMostCommonReasonIsGiven() {
        let verdict = HealthConsensus.decide([.timeout, .timeout, .responseCodeMismatch, .healthy], liveNodes: 4)
        #expect(verdict.reason == "Target.Timeout")
    }
}
