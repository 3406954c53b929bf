import Catalog
import Foundation

/// A value in one of the store's columns.
public enum StoredValue: Hashable, Sendable {
    case text(String), integer(Int64), real(Double), null
}

/// The catalog as rows of the store's tables: the one mapping both stores use, SQLite for one
/// node and PostgreSQL for a cluster, so both keep the same catalog in the same tables.
public struct CatalogRows: Hashable, Sendable {
    public struct Column: Hashable, Sendable {
        public enum Kind: Sendable { case text, integer, real }
        public let name: String
        public let kind: Kind
        public let optional: Bool
        init(_ name: String, _ kind: Kind, optional: Bool = false) {
            (self.name, self.kind, self.optional) = (name, kind, optional)
        }
    }

    public struct Table: Hashable, Sendable {
        public let name: String
        public let columns: [Column]
        /// Rows are read back by their `position` column (absent: order does not matter).
        public var ordered: Bool { columns.contains { $0.name == "position" } }
    }

    /// Every table, those others refer to first: rows go in in this order and out in reverse.
    public static let tables: [Table] = [
        Table(name: "setting", columns: [Column("key", .text), Column("value", .text)]),
        Table(name: "loadBalancer", columns: [Column("arn", .text), Column("name", .text), Column("createdTime", .real), Column("subnets", .text),
                                              Column("ipAddressType", .text), Column("position", .integer)]),
        Table(name: "targetGroup", columns: [Column("arn", .text), Column("name", .text), Column("vpcId", .text, optional: true),
                                             Column("targetType", .text), Column("healthCheck", .text), Column("position", .integer)]),
        Table(name: "listener", columns: [Column("arn", .text), Column("loadBalancerArn", .text), Column("targetGroupArn", .text),
                                          Column("position", .integer)]),
        Table(name: "target", columns: [Column("targetGroupArn", .text), Column("id", .text), Column("port", .integer),
                                        Column("registeredTime", .real), Column("deregisteredTime", .real, optional: true), Column("position", .integer)]),
        Table(name: "attribute", columns: [Column("resourceArn", .text), Column("key", .text), Column("value", .text)]),
        Table(name: "tag", columns: [Column("resourceArn", .text), Column("key", .text), Column("value", .text), Column("position", .integer)]),
        Table(name: "endpoint", columns: [Column("id", .text), Column("loadBalancerArn", .text), Column("interface", .text), Column("attachmentId", .text),
                                          Column("createdTime", .real), Column("position", .integer), Column("vpc", .text, optional: true)]),
        Table(name: "endpointService", columns: [Column("id", .text), Column("body", .text), Column("position", .integer)]),
        Table(name: "routeTable", columns: [Column("id", .text), Column("body", .text), Column("position", .integer)]),
    ]

    /// Rows by table name, each row's values in its table's column order.
    public var rows: [String: [[StoredValue]]]

    public init(rows: [String: [[StoredValue]]]) { self.rows = rows }

    /// The rows that hold `catalog`.
    public init(_ catalog: ResourceCatalog) throws {
        var rows: [String: [[StoredValue]]] = [:]
        func add(_ table: String, _ values: StoredValue...) { rows[table, default: []].append(values) }
        func time(_ date: Date) -> StoredValue { .real(date.timeIntervalSinceReferenceDate) }
        func owned(_ arn: ARN, _ attributes: Attributes, _ tags: [Tag]) {
            for (key, value) in attributes.pairs { add("attribute", .text(arn.description), .text(key), .text(value)) }
            for (position, tag) in tags.enumerated() { add("tag", .text(arn.description), .text(tag.key), .text(tag.value), .integer(Int64(position))) }
        }
        add("setting", .text("region"), .text(catalog.region))
        add("setting", .text("account"), .text(catalog.account))
        for (position, balancer) in catalog.loadBalancers.enumerated() {
            add("loadBalancer", .text(balancer.arn.description), .text(balancer.name), time(balancer.createdTime), .text(try Self.json(balancer.subnets)),
                .text(balancer.ipAddressType), .integer(Int64(position)))
            owned(balancer.arn, balancer.attributes, balancer.tags)
        }
        for (position, group) in catalog.targetGroups.enumerated() {
            add("targetGroup", .text(group.arn.description), .text(group.name), group.vpcId.map(StoredValue.text) ?? .null, .text(group.targetType),
                .text(try Self.json(group.healthCheck)), .integer(Int64(position)))
            for (targetPosition, target) in group.targets.enumerated() {
                add("target", .text(group.arn.description), .text(target.id), .integer(Int64(target.port)), time(target.registeredTime),
                    target.deregisteredTime.map(time) ?? .null, .integer(Int64(targetPosition)))
            }
            owned(group.arn, group.attributes, group.tags)
        }
        for (position, listener) in catalog.listeners.enumerated() {
            add("listener", .text(listener.arn.description), .text(listener.loadBalancerArn.description), .text(listener.targetGroupArn.description),
                .integer(Int64(position)))
            owned(listener.arn, listener.attributes, listener.tags)
        }
        for (position, endpoint) in catalog.endpoints.enumerated() {
            add("endpoint", .text(endpoint.id), .text(endpoint.loadBalancerArn.description), .text(endpoint.interface), .text(endpoint.attachmentId),
                time(endpoint.createdTime), .integer(Int64(position)), try endpoint.vpc.map { .text(try Self.json($0)) } ?? .null)
        }
        for (position, service) in catalog.endpointServices.enumerated() {
            add("endpointService", .text(service.id), .text(try Self.json(service)), .integer(Int64(position)))
        }
        for (position, table) in catalog.routeTables.enumerated() {
            add("routeTable", .text(table.id), .text(try Self.json(table)), .integer(Int64(position)))
        }
        self.rows = rows
    }

    /// The catalog the rows hold, or nil when they hold none (no region and account saved).
    public func catalog() throws -> ResourceCatalog? {
        func table(_ name: String) -> [StoredRow] {
            let columns = Self.tables.first { $0.name == name }!.columns.map(\.name)
            return (rows[name] ?? []).map { StoredRow(columns: columns, values: $0) }
        }
        let settings = Dictionary(table("setting").map { (try? $0.text("key"), try? $0.text("value")) }.compactMap { key, value in
            key.flatMap { key in value.map { (key, $0) } }
        }) { first, _ in first }
        guard let region = settings["region"], let account = settings["account"] else { return nil }
        var attributes: [String: [String: String]] = [:]
        for row in table("attribute") { attributes[try row.text("resourceArn"), default: [:]][try row.text("key")] = try row.text("value") }
        var tags: [String: [Tag]] = [:]
        for row in table("tag") { tags[try row.text("resourceArn"), default: []].append(Tag(key: try row.text("key"), value: try row.text("value"))) }
        var targets: [String: [TargetRegistration]] = [:]
        for row in table("target") {
            targets[try row.text("targetGroupArn"), default: []].append(
                TargetRegistration(id: try row.text("id"), port: Int(try row.integer("port")), registeredTime: try row.date("registeredTime"),
                                   deregisteredTime: try row.optionalDate("deregisteredTime")))
        }
        let balancers = try table("loadBalancer").map { row in
            let arn = try row.arn("arn")
            return LoadBalancer(arn: arn, createdTime: try row.date("createdTime"), subnets: try Self.decode([String].self, row.text("subnets")),
                                ipAddressType: try row.text("ipAddressType"),
                                attributes: Attributes(AttributeRules.loadBalancer, stored: attributes[arn.description] ?? [:]),
                                tags: tags[arn.description] ?? [])
        }
        let groups = try table("targetGroup").map { row in
            let arn = try row.arn("arn")
            return TargetGroup(arn: arn, vpcId: try row.optionalText("vpcId"), targetType: try row.text("targetType"),
                               healthCheck: try Self.decode(HealthCheck.self, row.text("healthCheck")),
                               attributes: Attributes(AttributeRules.targetGroup, stored: attributes[arn.description] ?? [:]),
                               targets: targets[arn.description] ?? [], tags: tags[arn.description] ?? [])
        }
        let listeners = try table("listener").map { row in
            let arn = try row.arn("arn")
            return Listener(arn: arn, loadBalancerArn: try row.arn("loadBalancerArn"), targetGroupArn: try row.arn("targetGroupArn"),
                            attributes: Attributes(AttributeRules.listener, stored: attributes[arn.description] ?? [:]), tags: tags[arn.description] ?? [])
        }
        let endpoints = try table("endpoint").map { row in
            Endpoint(id: try row.text("id"), loadBalancerArn: try row.arn("loadBalancerArn"), interface: try row.text("interface"),
                     attachmentId: try row.text("attachmentId"), createdTime: try row.date("createdTime"),
                     vpc: try row.optionalText("vpc").map { try Self.decode(Endpoint.VPCDetails.self, $0) })
        }
        let services = try table("endpointService").map { try Self.decode(EndpointService.self, $0.text("body")) }
        let routeTables = try table("routeTable").map { try Self.decode(RouteTable.self, $0.text("body")) }
        return ResourceCatalog(region: region, account: account, loadBalancers: balancers, listeners: listeners, targetGroups: groups,
                               endpoints: endpoints, endpointServices: services, routeTables: routeTables)
    }

    static func json<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func decode<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        try JSONDecoder().decode(type, from: Data(text.utf8))
    }
}

/// One stored row, read by column name; a missing or mistyped value is a `StoreError`.
struct StoredRow {
    let columns: [String]
    let values: [StoredValue]

    func value(_ name: String) throws -> StoredValue {
        guard let index = columns.firstIndex(of: name), index < values.count else { throw StoreError(description: "the store has no column \(name)") }
        return values[index]
    }

    func optionalText(_ name: String) throws -> String? {
        switch try value(name) {
        case .text(let text): text
        case .null: nil
        case let other: throw StoreError(description: "the store holds \(other) in \(name), not text")
        }
    }

    func text(_ name: String) throws -> String {
        guard let text = try optionalText(name) else { throw StoreError(description: "the store holds no value in \(name)") }
        return text
    }

    func integer(_ name: String) throws -> Int64 {
        guard case .integer(let value) = try value(name) else { throw StoreError(description: "the store holds no integer in \(name)") }
        return value
    }

    func optionalDate(_ name: String) throws -> Date? {
        switch try value(name) {
        case .real(let seconds): Date(timeIntervalSinceReferenceDate: seconds)
        case .integer(let seconds): Date(timeIntervalSinceReferenceDate: Double(seconds))
        case .null: nil
        case let other: throw StoreError(description: "the store holds \(other) in \(name), not a time")
        }
    }

    func date(_ name: String) throws -> Date {
        guard let date = try optionalDate(name) else { throw StoreError(description: "the store holds no time in \(name)") }
        return date
    }

    func arn(_ name: String) throws -> ARN {
        let text = try text(name)
        guard let arn = ARN(text) else { throw StoreError(description: "the store holds a malformed ARN '\(text)'") }
        return arn
    }
}

/// The store's content cannot be read back, or cannot be written.
public struct StoreError: Error, CustomStringConvertible {
    public let description: String
    public init(description: String) { self.description = description }
}
