import Catalog
import Foundation
import GRDB

/// The control plane's state in SQLite (GRDB, WAL, synchronous=FULL): every change is committed,
/// whole, before the API acknowledges it, and gwlbd rebuilds everything from here at start.
///
/// Each save writes the catalog as it now is in one transaction: a crash leaves either the state
/// before or the state after, never half of a change.
public final class CatalogStore: Sendable {
    public let path: String
    private let database: DatabasePool

    /// Opens (creating when needed) `gwlb.sqlite` in `directory` and brings its schema up to date.
    /// The store's file in gwlbd's state directory.
    public static let fileName = "gwlb.sqlite"

    public init(directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        path = (directory as NSString).appendingPathComponent(Self.fileName)
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        configuration.prepareDatabase { db in
            // FULL: a committed change survives power loss too, not only a killed process.
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        database = try DatabasePool(path: path, configuration: configuration)
        try Self.migrator.migrate(database)
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: load balancers, listeners, target groups, targets, attributes, tags") { db in
            try db.create(table: "setting") { table in
                table.primaryKey("key", .text)
                table.column("value", .text).notNull()
            }
            try db.create(table: "loadBalancer") { table in
                table.primaryKey("arn", .text)
                table.column("name", .text).notNull().unique()
                table.column("createdTime", .double).notNull()
                table.column("subnets", .text).notNull()
                table.column("ipAddressType", .text).notNull()
                table.column("position", .integer).notNull()
            }
            try db.create(table: "targetGroup") { table in
                table.primaryKey("arn", .text)
                table.column("name", .text).notNull().unique()
                table.column("vpcId", .text)
                table.column("targetType", .text).notNull()
                table.column("healthCheck", .text).notNull()
                table.column("position", .integer).notNull()
            }
            try db.create(table: "listener") { table in
                table.primaryKey("arn", .text)
                table.column("loadBalancerArn", .text).notNull().references("loadBalancer", onDelete: .cascade)
                table.column("targetGroupArn", .text).notNull().references("targetGroup")
                table.column("position", .integer).notNull()
            }
            try db.create(table: "target") { table in
                table.column("targetGroupArn", .text).notNull().references("targetGroup", onDelete: .cascade)
                table.column("id", .text).notNull()
                table.column("port", .integer).notNull()
                table.column("registeredTime", .double).notNull()
                table.column("deregisteredTime", .double)
                table.column("position", .integer).notNull()
                table.primaryKey(["targetGroupArn", "id"])
            }
            try db.create(table: "attribute") { table in
                table.column("resourceArn", .text).notNull()
                table.column("key", .text).notNull()
                table.column("value", .text).notNull()
                table.primaryKey(["resourceArn", "key"])
            }
            try db.create(table: "tag") { table in
                table.column("resourceArn", .text).notNull()
                table.column("key", .text).notNull()
                table.column("value", .text).notNull()
                table.column("position", .integer).notNull()
                table.primaryKey(["resourceArn", "key"])
            }
        }
        migrator.registerMigration("v2: endpoints") { db in
            try db.create(table: "endpoint") { table in
                table.primaryKey("id", .text)
                table.column("loadBalancerArn", .text).notNull().references("loadBalancer")
                table.column("interface", .text).notNull().unique()
                table.column("attachmentId", .text).notNull()
                table.column("createdTime", .double).notNull()
                table.column("position", .integer).notNull()
            }
        }
        migrator.registerMigration("v3: endpoint services, VPC endpoints' EC2 details, route tables") { db in
            try db.alter(table: "endpoint") { table in table.add(column: "vpc", .text) }
            for name in ["endpointService", "routeTable"] {
                try db.create(table: name) { table in
                    table.primaryKey("id", .text)
                    table.column("body", .text).notNull()
                    table.column("position", .integer).notNull()
                }
            }
        }
        return migrator
    }

    // MARK: Save and load

    /// Replaces the stored state with `catalog`, in one transaction.
    public func save(_ catalog: ResourceCatalog) throws {
        let rows = try CatalogRows(catalog)
        try database.write { db in
            for table in CatalogRows.tables.reversed() { try db.execute(sql: "DELETE FROM \(table.name)") }
            for table in CatalogRows.tables {
                let columns = table.columns.map(\.name)
                let statement = try db.cachedStatement(sql: "INSERT INTO \(table.name) (\(columns.joined(separator: ", "))) VALUES (\(columns.map { _ in "?" }.joined(separator: ", ")))")
                for row in rows.rows[table.name] ?? [] {
                    try statement.execute(arguments: StatementArguments(row.map(Self.databaseValue)))
                }
            }
        }
    }

    /// The stored catalog, or nil when nothing was ever saved.
    public func load() throws -> ResourceCatalog? {
        try database.read { db in
            var rows: [String: [[StoredValue]]] = [:]
            for table in CatalogRows.tables {
                let order = table.ordered ? " ORDER BY position" : ""
                rows[table.name] = try Row.fetchAll(db, sql: "SELECT \(table.columns.map(\.name).joined(separator: ", ")) FROM \(table.name)\(order)").map { row in
                    table.columns.map { column in Self.storedValue(row[column.name] as DatabaseValue) }
                }
            }
            return try CatalogRows(rows: rows).catalog()
        }
    }

    static func databaseValue(_ value: StoredValue) -> DatabaseValue {
        switch value {
        case .text(let text): text.databaseValue
        case .integer(let number): number.databaseValue
        case .real(let number): number.databaseValue
        case .null: .null
        }
    }

    static func storedValue(_ value: DatabaseValue) -> StoredValue {
        switch value.storage {
        case .string(let text): .text(text)
        case .int64(let number): .integer(number)
        case .double(let number): .real(number)
        case .null, .blob: .null
        }
    }
}

extension CatalogStore: CatalogStorage {
    public var location: String { path }
}
