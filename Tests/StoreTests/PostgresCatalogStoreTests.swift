import Catalog
import Foundation
import Synchronization
import TestPostgres
import TestTraits
import Testing
@testable import Store

/// The cluster's store on a real PostgreSQL (a database of each test's own).
@Suite(.database) struct PostgresCatalogStoreTests {
    let now = Date(timeIntervalSinceReferenceDate: 800_000_000.123456)

    @Test func whatIsSavedIsWhatLoadsAndTheSameAsSQLite() async throws {
        try await TestDatabase.use { address in
            let catalog = try CatalogStoreTests().sampleCatalog()
            let store = try PostgresCatalogStore(address: address, node: "a")
            #expect(try store.load() == nil)
            try store.save(catalog)
            // Another node, or this one restarted.
            let loaded = try #require(try PostgresCatalogStore(address: address, node: "b").load())
            #expect(loaded == catalog)
            #expect(loaded.targetGroups[0].targets[1].deregisteredTime == now.addingTimeInterval(5))
            // Times keep their microseconds, as in SQLite.
            #expect(loaded.loadBalancers[0].createdTime == now)
        }
    }

    /// A node that did not see another node's change cannot overwrite it: its save is refused,
    /// stores nothing, and the newer catalog is there for it to try again on.
    @Test func aChangeMadeOnAnOlderCatalogIsRefused() async throws {
        try await TestDatabase.use { address in
            let a = try PostgresCatalogStore(address: address, node: "a"), b = try PostgresCatalogStore(address: address, node: "b")
            _ = try a.load()
            _ = try b.load()
            var first = ResourceCatalog(region: "eu-west-1", account: "111122223333")
            _ = try first.createLoadBalancer(name: "one", type: "gateway", subnets: [], ipAddressType: nil, tags: [], id: "0000000000000001", now: now)
            try a.save(first)
            var second = ResourceCatalog(region: "eu-west-1", account: "111122223333")
            _ = try second.createLoadBalancer(name: "two", type: "gateway", subnets: [], ipAddressType: nil, tags: [], id: "0000000000000002", now: now)
            #expect(throws: CatalogChangedElsewhere.self) { try b.save(second) }
            #expect(try a.changedElsewhere() == nil, "a node's own change is not news to it")
            let seen = try #require(try b.changedElsewhere())
            #expect(seen.loadBalancers.map(\.name) == ["one"])
            #expect(try b.changedElsewhere() == nil, "once read, it is not news again")
            // On the catalog it now knows, b's change goes in.
            _ = try second.createLoadBalancer(name: "three", type: "gateway", subnets: [], ipAddressType: nil, tags: [], id: "0000000000000003", now: now)
            var next = seen
            _ = try next.createLoadBalancer(name: "two", type: "gateway", subnets: [], ipAddressType: nil, tags: [], id: "0000000000000002", now: now)
            try b.save(next)
            #expect(try a.changedElsewhere()?.loadBalancers.map(\.name) == ["one", "two"])
        }
    }

    /// Every listening node hears of a commit (LISTEN/NOTIFY), in well under a second.
    @Test func anotherNodeHearsOfAChange() async throws {
        try await TestDatabase.use { address in
            let a = try PostgresCatalogStore(address: address, node: "a"), b = try PostgresCatalogStore(address: address, node: "b")
            _ = try a.load()
            let heard = Mutex<[ContinuousClock.Instant]>([])
            let watching = Task { await TestServers.run { await b.watch { heard.withLock { $0.append(.now) } } } }
            defer { watching.cancel() }
            // The first call says it listens (a busy suite may take its time to connect).
            let deadline = ContinuousClock.now + .seconds(30)
            while heard.withLock({ $0.isEmpty }), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
            try #require(heard.withLock { $0.count } == 1, "the watch did not start listening")
            var catalog = ResourceCatalog(region: "eu-west-1", account: "111122223333")
            _ = try catalog.createLoadBalancer(name: "one", type: "gateway", subnets: [], ipAddressType: nil, tags: [], id: "0000000000000001", now: now)
            let saved = ContinuousClock.now
            try a.save(catalog)
            // Only the notification can tell b (this store re-reads nothing by itself); how fast is
            // gwlb-bench cluster's to measure, on a quiet machine.
            while heard.withLock({ $0.count }) < 2, ContinuousClock.now < saved + .seconds(5) { try await Task.sleep(for: .milliseconds(5)) }
            let delay = try #require(heard.withLock { $0.dropFirst().first }, "no notification within 5 s") - saved
            print("PostgreSQL: node b heard of node a's change after \(delay)")
            #expect(try b.changedElsewhere()?.loadBalancers.map(\.name) == ["one"])
        }
    }

    @Test func nodesLiveByTheirHeartbeatAndAgreeOnSecrets() async throws {
        try await TestDatabase.use { address in
            _ = try PostgresCatalogStore(address: address, node: "a")
            let a = ClusterMembership(address: address, node: "a"), b = ClusterMembership(address: address, node: "b")
            try a.heartbeat(version: "1", geneveAddress: "198.18.0.1", stats: "{}")
            try b.heartbeat(version: "1", geneveAddress: "198.18.0.2", stats: "{}")
            #expect(try a.nodes().map { "\($0.name) \($0.alive)" } == ["a true", "b true"])
            // The first node to ask makes the secret; the second gets the same one.
            #expect(try a.secret("cookie") { "made by a" } == "made by a")
            #expect(try b.secret("cookie") { "made by b" } == "made by a")
            try b.publishHealth(["t1": StoredHealth(state: "healthy", reason: nil, details: nil)])
            #expect(try a.healthViews()["b"]?["t1"]?.state == "healthy")
            // b stops beating: after the liveness time it is dead, a (beating again) still lives.
            try await Task.sleep(for: .seconds(ClusterMembership.livenessSeconds + 1))
            try a.heartbeat(version: "1", geneveAddress: "198.18.0.1", stats: "{}")
            #expect(try a.nodes().map { "\($0.name) \($0.alive)" } == ["a true", "b false"])
            // Leaving on purpose takes the row and the health view.
            try b.leave()
            #expect(try a.nodes().map(\.name) == ["a"])
            #expect(try a.healthViews()["b"] == nil)
        }
    }

    @Test func aMissingServerIsSaidClearly() throws {
        let store = PostgresSession(address: PostgresAddress(host: "127.0.0.1", port: 1, user: "gwlb", password: nil, database: "x"))
        let error = #expect(throws: StoreError.self) { try store.query("SELECT 1") }
        #expect(error?.description.contains("cannot connect to PostgreSQL at postgres://gwlb@127.0.0.1:1/x") == true)
    }

    @Test func addresses() {
        #expect(PostgresAddress(url: "postgres://u:p@db.example:6543/gwlb") == PostgresAddress(host: "db.example", port: 6543, user: "u", password: "p", database: "gwlb"))
        #expect(PostgresAddress(url: "postgresql://u@h/d")?.port == 5432)
        #expect(PostgresAddress(url: "postgres://u:secret@h/d")?.description == "postgres://u@h:5432/d", "no password in what is shown")
        #expect(PostgresAddress(url: "mysql://u@h/d") == nil)
        #expect(PostgresAddress(url: "postgres://h/d") == nil, "no user")
        #expect(PostgresAddress(url: "postgres://u@h/") == nil, "no database")
    }
}
