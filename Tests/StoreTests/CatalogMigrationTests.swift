import Catalog
import Foundation
import Store
import TestPostgres
import TestSupport
import TestTraits
import Testing

/// `gwlb cluster migrate` (the real binary): a single gwlbd's SQLite configuration into a real
/// PostgreSQL, row for row, refusing to overwrite a cluster's configuration unless told to.
@Suite(.database) struct CatalogMigrationTests {
    let directory = NSTemporaryDirectory() + "gwlb-migrate-\(UUID().uuidString)"

    func migrate(_ address: PostgresAddress, stateDirectory: String? = nil, _ extra: [String] = []) throws -> (status: Int32, output: String) {
        let url = "postgres://\(address.user):\(address.password ?? "")@\(address.host):\(address.port)/\(address.database)"
        return try Program.run(URL(fileURLWithPath: BuiltProducts.path("gwlb")),
                               ["cluster", "migrate", "--state-dir", stateDirectory ?? directory, "--database", url] + extra,
                               in: URL(fileURLWithPath: NSTemporaryDirectory()))
    }

    @Test func aSingleNodesConfigurationMovesIntoPostgreSQLWhole() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let catalog = try CatalogStoreTests().sampleCatalog()
        try CatalogStore(directory: directory).save(catalog)
        try await TestDatabase.use { address in
            let copied = try migrate(address)
            #expect(copied.status == 0, "\(copied.output)")
            #expect(copied.output.contains("copied 1 load balancer, 1 target group (2 targets), 1 listener, 1 endpoint from \(directory)/gwlb.sqlite"),
                    "\(copied.output)")
            #expect(try PostgresCatalogStore(address: address, node: "n1").load() == catalog, "every row, ARN and id as SQLite has them")
            // Again: the cluster's configuration is not overwritten unasked.
            var changed = catalog
            try changed.addTags([changed.loadBalancers[0].arn], [Tag(key: "moved", value: "twice")])
            try CatalogStore(directory: directory).save(changed)
            let refused = try migrate(address)
            #expect(refused.status == 1 && refused.output.contains("already holds a configuration (1 load balancers, 1 target groups): nothing copied"),
                    "\(refused.output)")
            #expect(try PostgresCatalogStore(address: address, node: "n1").load() == catalog)
            let replaced = try migrate(address, ["--replace"])
            #expect(replaced.status == 0 && replaced.output.contains("replacing the catalog it held"), "\(replaced.output)")
            #expect(try PostgresCatalogStore(address: address, node: "n1").load() == changed)
        }
    }

    /// A state directory without a store is named, and left as it was (no empty store made).
    @Test func aDirectoryWithoutAConfigurationIsRefused() async throws {
        try await TestDatabase.use { address in
            let missing = directory + "-none"
            let refused = try migrate(address, stateDirectory: missing)
            #expect(refused.status == 1 && refused.output.contains("\(missing) holds no gwlbd configuration (no gwlb.sqlite)"), "\(refused.output)")
            #expect(!FileManager.default.fileExists(atPath: missing))
            #expect(try PostgresCatalogStore(address: address, node: "n1").load() == nil)
        }
    }
}
