import Catalog
import Foundation

/// `gwlb cluster migrate`: a single gwlbd's configuration (SQLite in its state directory) copied
/// into PostgreSQL, where the nodes of a cluster share it. The same rows, the same rules: every
/// resource keeps its ARN and id, so the appliances, route tables and scripts that name them go on
/// working. SQLite is only read.
public enum CatalogMigration {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// What was copied, for the operator.
    public struct Copied: Sendable {
        public let catalog: ResourceCatalog
        public let source: String
        public let destination: String
        /// Whether PostgreSQL held a catalog that was replaced.
        public let replaced: Bool

        public var summary: String {
            func count(_ number: Int, _ noun: String) -> String { "\(number) \(noun)\(number == 1 ? "" : "s")" }
            let targets = catalog.targetGroups.reduce(0) { $0 + $1.targets.count }
            return "copied \(count(catalog.loadBalancers.count, "load balancer")), \(count(catalog.targetGroups.count, "target group")) "
                + "(\(count(targets, "target"))), \(count(catalog.listeners.count, "listener")), \(count(catalog.endpoints.count, "endpoint")) "
                + "from \(source) into \(destination)\(replaced ? ", replacing the catalog it held" : "")"
        }
    }

    /// Copies the catalog in `directory`'s SQLite store into PostgreSQL at `address`. Refuses when
    /// the directory holds no store, and when PostgreSQL already holds a catalog (another cluster's,
    /// or an earlier copy that nodes may have changed since) unless `replace`.
    public static func copy(fromDirectory directory: String, to address: PostgresAddress, replace: Bool = false) throws -> Copied {
        let file = (directory as NSString).appendingPathComponent(CatalogStore.fileName)
        guard FileManager.default.fileExists(atPath: file) else {
            throw Failure(description: "\(directory) holds no gwlbd configuration (no \(CatalogStore.fileName)): give the --state-dir a single gwlbd ran with")
        }
        guard let catalog = try CatalogStore(directory: directory).load() else {
            throw Failure(description: "\(file) holds no configuration yet: nothing to copy")
        }
        let destination = try PostgresCatalogStore(address: address, node: "gwlb-migrate")
        let existing = try destination.load()
        if let existing, !replace {
            throw Failure(description: """
                \(address) already holds a configuration (\(existing.loadBalancers.count) load balancers, \(existing.targetGroups.count) target groups): \
                nothing copied. --replace overwrites it (stop the cluster's nodes first)
                """)
        }
        // A node's change between the read above and this save is refused (CatalogChangedElsewhere).
        try destination.save(catalog)
        return Copied(catalog: catalog, source: file, destination: address.description, replaced: existing != nil)
    }
}
