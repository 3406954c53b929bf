import Catalog

/// Where the control plane keeps its catalog: SQLite for one node (`CatalogStore`), PostgreSQL for
/// a cluster of nodes that share it (`PostgresCatalogStore`).
public protocol CatalogStorage: Sendable {
    /// Where it is, for logs and status: a file, or a database URL without its password.
    var location: String { get }
    /// The stored catalog, or nil when nothing was ever saved.
    func load() throws -> ResourceCatalog?
    /// Replaces the stored catalog with `catalog`, whole, in one transaction. Throws
    /// `CatalogChangedElsewhere` (storing nothing) when another node changed it since this process
    /// last loaded or saved it: the change must be made again on the newer catalog.
    func save(_ catalog: ResourceCatalog) throws
    /// The stored catalog when another node changed it since this process last loaded or saved
    /// it; nil when it did not (always nil for a store no other process writes).
    func changedElsewhere() throws -> ResourceCatalog?
    /// Other nodes share it: this gwlbd is a node of a cluster.
    var isShared: Bool { get }
    /// This process's name among the nodes sharing the store; nil for a store no other node shares.
    var nodeName: String? { get }
    /// The secret named `name` that every node sharing this store has: made (`make`) by the first
    /// that asks. Nil for a store no other node shares.
    func sharedSecret(_ name: String, make: () -> String) throws -> String?
}

extension CatalogStorage {
    public func changedElsewhere() throws -> ResourceCatalog? { nil }
    public var isShared: Bool { false }
    public var nodeName: String? { nil }
    public func sharedSecret(_ name: String, make: () -> String) throws -> String? { nil }
}

/// Another node committed a change first; nothing was stored.
public struct CatalogChangedElsewhere: Error, CustomStringConvertible {
    public init() {}
    public var description: String { "another node changed the configuration first" }
}
