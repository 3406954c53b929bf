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
    public init(directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        path = (directory as NSString).appendingPathComponent("gwlb.sqlite")
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
        try database.write { db in
            for table in ["routeTable", "endpointService", "endpoint", "tag", "attribute", "target", "listener", "targetGroup", "loadBalancer", "setting"] {
                try db.execute(sql: "DELETE FROM \(table)")
            }
            try db.execute(sql: "INSERT INTO setting (key, value) VALUES ('region', ?), ('account', ?)",
                           arguments: [catalog.region, catalog.account])
            for (position, balancer) in catalog.loadBalancers.enumerated() {
                try db.execute(sql: "INSERT INTO loadBalancer (arn, name, createdTime, subnets, ipAddressType, position) VALUES (?, ?, ?, ?, ?, ?)",
                               arguments: [balancer.arn.description, balancer.name, balancer.createdTime.timeIntervalSinceReferenceDate,
                                           try Self.json(balancer.subnets), balancer.ipAddressType, position])
                try saveAttributes(db, balancer.arn, balancer.attributes)
                try saveTags(db, balancer.arn, balancer.tags)
            }
            for (position, group) in catalog.targetGroups.enumerated() {
                try db.execute(sql: "INSERT INTO targetGroup (arn, name, vpcId, targetType, healthCheck, position) VALUES (?, ?, ?, ?, ?, ?)",
                               arguments: [group.arn.description, group.name, group.vpcId, group.targetType,
                                           try Self.json(group.healthCheck), position])
                for (targetPosition, target) in group.targets.enumerated() {
                    try db.execute(sql: "INSERT INTO target (targetGroupArn, id, port, registeredTime, deregisteredTime, position) VALUES (?, ?, ?, ?, ?, ?)",
                                   arguments: [group.arn.description, target.id, target.port, target.registeredTime.timeIntervalSinceReferenceDate,
                                               target.deregisteredTime?.timeIntervalSinceReferenceDate, targetPosition])
                }
                try saveAttributes(db, group.arn, group.attributes)
                try saveTags(db, group.arn, group.tags)
            }
            for (position, listener) in catalog.listeners.enumerated() {
                try db.execute(sql: "INSERT INTO listener (arn, loadBalancerArn, targetGroupArn, position) VALUES (?, ?, ?, ?)",
                               arguments: [listener.arn.description, listener.loadBalancerArn.description, listener.targetGroupArn.description, position])
                try saveAttributes(db, listener.arn, listener.attributes)
                try saveTags(db, listener.arn, listener.tags)
            }
            for (position, endpoint) in catalog.endpoints.enumerated() {
                try db.execute(sql: "INSERT INTO endpoint (id, loadBalancerArn, interface, attachmentId, createdTime, position, vpc) VALUES (?, ?, ?, ?, ?, ?, ?)",
                               arguments: [endpoint.id, endpoint.loadBalancerArn.description, endpoint.interface, endpoint.attachmentId,
                                           endpoint.createdTime.timeIntervalSinceReferenceDate, position, try endpoint.vpc.map(Self.json)])
            }
            for (position, service) in catalog.endpointServices.enumerated() {
                try db.execute(sql: "INSERT INTO endpointService (id, body, position) VALUES (?, ?, ?)", arguments: [service.id, try Self.json(service), position])
            }
            for (position, table) in catalog.routeTables.enumerated() {
                try db.execute(sql: "INSERT INTO routeTable (id, body, position) VALUES (?, ?, ?)", arguments: [table.id, try Self.json(table), position])
            }
        }
    }

    /// The stored catalog, or nil when nothing was ever saved.
    public func load() throws -> ResourceCatalog? {
        try database.read { db in
            let settings = Dictionary(uniqueKeysWithValues: try Row.fetchAll(db, sql: "SELECT key, value FROM setting").map {
                ($0["key"] as String, $0["value"] as String)
            })
            guard let region = settings["region"], let account = settings["account"] else { return nil }
            let attributes = try Dictionary(grouping: Row.fetchAll(db, sql: "SELECT resourceArn, key, value FROM attribute")) { $0["resourceArn"] as String }
                .mapValues { rows in Dictionary(uniqueKeysWithValues: rows.map { ($0["key"] as String, $0["value"] as String) }) }
            let tags = try Dictionary(grouping: Row.fetchAll(db, sql: "SELECT resourceArn, key, value FROM tag ORDER BY position")) { $0["resourceArn"] as String }
                .mapValues { rows in rows.map { Tag(key: $0["key"], value: $0["value"]) } }
            let targets = try Dictionary(grouping: Row.fetchAll(db, sql: "SELECT * FROM target ORDER BY position")) { $0["targetGroupArn"] as String }
                .mapValues { rows in rows.map { row in
                    TargetRegistration(id: row["id"], port: row["port"],
                                       registeredTime: Date(timeIntervalSinceReferenceDate: row["registeredTime"]),
                                       deregisteredTime: (row["deregisteredTime"] as Double?).map(Date.init(timeIntervalSinceReferenceDate:)))
                } }
            let balancers = try Row.fetchAll(db, sql: "SELECT * FROM loadBalancer ORDER BY position").map { row in
                let arn = try Self.arn(row["arn"])
                return LoadBalancer(arn: arn, createdTime: Date(timeIntervalSinceReferenceDate: row["createdTime"]),
                                    subnets: try Self.decode([String].self, row["subnets"]), ipAddressType: row["ipAddressType"],
                                    attributes: Attributes(AttributeRules.loadBalancer, stored: attributes[arn.description] ?? [:]),
                                    tags: tags[arn.description] ?? [])
            }
            let groups = try Row.fetchAll(db, sql: "SELECT * FROM targetGroup ORDER BY position").map { row in
                let arn = try Self.arn(row["arn"])
                return TargetGroup(arn: arn, vpcId: row["vpcId"], targetType: row["targetType"],
                                   healthCheck: try Self.decode(HealthCheck.self, row["healthCheck"]),
                                   attributes: Attributes(AttributeRules.targetGroup, stored: attributes[arn.description] ?? [:]),
                                   targets: targets[arn.description] ?? [], tags: tags[arn.description] ?? [])
            }
            let listeners = try Row.fetchAll(db, sql: "SELECT * FROM listener ORDER BY position").map { row in
                let arn = try Self.arn(row["arn"])
                return Listener(arn: arn, loadBalancerArn: try Self.arn(row["loadBalancerArn"]), targetGroupArn: try Self.arn(row["targetGroupArn"]),
                                attributes: Attributes(AttributeRules.listener, stored: attributes[arn.description] ?? [:]),
                                tags: tags[arn.description] ?? [])
            }
            let endpoints = try Row.fetchAll(db, sql: "SELECT * FROM endpoint ORDER BY position").map { row in
                Endpoint(id: row["id"], loadBalancerArn: try Self.arn(row["loadBalancerArn"]), interface: row["interface"],
                         attachmentId: row["attachmentId"], createdTime: Date(timeIntervalSinceReferenceDate: row["createdTime"]),
                         vpc: try (row["vpc"] as String?).map { try Self.decode(Endpoint.VPCDetails.self, $0) })
            }
            let services = try Row.fetchAll(db, sql: "SELECT body FROM endpointService ORDER BY position").map {
                try Self.decode(EndpointService.self, $0["body"])
            }
            let routeTables = try Row.fetchAll(db, sql: "SELECT body FROM routeTable ORDER BY position").map { try Self.decode(RouteTable.self, $0["body"]) }
            return ResourceCatalog(region: region, account: account, loadBalancers: balancers, listeners: listeners, targetGroups: groups,
                                   endpoints: endpoints, endpointServices: services, routeTables: routeTables)
        }
    }

    // MARK: Helpers

    private func saveAttributes(_ db: Database, _ arn: ARN, _ attributes: Attributes) throws {
        for (key, value) in attributes.pairs {
            try db.execute(sql: "INSERT INTO attribute (resourceArn, key, value) VALUES (?, ?, ?)", arguments: [arn.description, key, value])
        }
    }

    private func saveTags(_ db: Database, _ arn: ARN, _ tags: [Tag]) throws {
        for (position, tag) in tags.enumerated() {
            try db.execute(sql: "INSERT INTO tag (resourceArn, key, value, position) VALUES (?, ?, ?, ?)",
                           arguments: [arn.description, tag.key, tag.value, position])
        }
    }

    static func json<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func decode<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        try JSONDecoder().decode(type, from: Data(text.utf8))
    }

    static func arn(_ text: String) throws -> ARN {
        guard let arn = ARN(text) else { throw StoreError(description: "the store holds a malformed ARN '\(text)'") }
        return arn
    }
}

/// The store's content cannot be read back.
public struct StoreError: Error, CustomStringConvertible {
    public let description: String
}
