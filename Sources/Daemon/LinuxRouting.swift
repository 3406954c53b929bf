import Catalog
import ControlPlane
import Foundation
import Lab

/// Makes Linux's policy routing match the route tables (`RoutingPlan`) with `ip`, and finds where
/// it drifted: rules and routes changed behind gwlbd's back. What gwlbd adds carries protocol
/// `protocolNumber` (`ip rule … protocol 245`, `ip route … proto 245`), so it finds its own again
/// after a restart, and removes what the catalog no longer holds.
final class LinuxRouting: Sendable {
    static let protocolNumber = 245
    /// `ip`, or `ip -n NAMESPACE` (tests).
    let ip: [String]
    /// Subnet and gateway ids → interfaces (gwlbd's configuration).
    let interfaces: [String: String]

    init(ip: [String] = ["ip"], interfaces: [String: String]) {
        self.ip = ip
        self.interfaces = interfaces
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// What the kernel holds that concerns gwlbd: rules and routes it made, and anything in the
    /// tables it owns.
    struct Installed: Equatable {
        var rules: Set<RoutingPlan.Rule> = []
        var routes: Set<RoutingPlan.Route> = []
        /// Rules in gwlbd's tables that select more than an input interface (not gwlbd's kind).
        var otherRules: [String] = []
    }

    func apply(_ catalog: ResourceCatalog) throws { try apply(RoutingPlan(catalog, interfaces: interfaces)) }

    /// Removes what is not planned, then adds what is missing: a route to a destination that
    /// changed target is replaced in one step (`ip route replace`), so traffic never falls
    /// through to the main table meanwhile.
    func apply(_ plan: RoutingPlan) throws {
        let installed: Installed
        do {
            installed = try read(tables: Set(plan.routes.map(\.table) + plan.rules.map(\.table)))
        } catch where plan.rules.isEmpty && plan.routes.isEmpty {
            // Nothing to make, and Linux's routing cannot be read (no `ip` here): a gwlbd whose
            // operator uses no route tables needs none.
            return
        }
        let wanted = (rules: Set(plan.rules), routes: Set(plan.routes))
        for family in RoutingPlan.Family.allCases {
            var commands: [String] = []
            for rule in installed.rules.subtracting(wanted.rules) where rule.family == family {
                commands.append("rule del \(Self.selector(rule))")
            }
            let replaced = Set(wanted.routes.map { RouteSlot(table: $0.table, destination: $0.destination) })
            for route in installed.routes.subtracting(wanted.routes) where route.family == family
                && !replaced.contains(RouteSlot(table: route.table, destination: route.destination)) {
                commands.append("route del \(Self.typePrefix(route.kind))\(route.destination) table \(route.table)")
            }
            for rule in wanted.rules.subtracting(installed.rules) where rule.family == family {
                commands.append("rule add \(Self.selector(rule)) protocol \(Self.protocolNumber)")
            }
            for route in plan.routes where route.family == family && !installed.routes.contains(route) {
                commands.append("route replace \(Self.typePrefix(route.kind))\(route.destination) table \(route.table)\(Self.deviceSuffix(route.kind)) proto \(Self.protocolNumber)")
            }
            guard !commands.isEmpty else { continue }
            let result = try Shell.execute(ip + [family.rawValue, "-batch", "-"], input: commands.joined(separator: "\n") + "\n")
            guard result.status == 0 else {
                throw Failure(description: "ip \(family.rawValue) -batch failed: \(result.errors.trimmingCharacters(in: .whitespacesAndNewlines))")
            }
        }
    }

    /// Where the kernel differs from `plan`, in words, by route table id (nil: not tied to one).
    func drift(_ catalog: ResourceCatalog) throws -> [RoutingDrift] {
        let plan = RoutingPlan(catalog, interfaces: interfaces)
        let installed = try read(tables: Set(plan.routes.map(\.table) + plan.rules.map(\.table)))
        let tableIds = Dictionary(catalog.routeTables.map { ($0.linuxTable, $0.id) }) { first, _ in first }
        var drift: [RoutingDrift] = []
        for rule in plan.rules where !installed.rules.contains(rule) {
            drift.append(RoutingDrift(routeTableId: tableIds[rule.table], message: "rule missing: \(rule.family.rawValue) \(Self.selector(rule))"))
        }
        for rule in installed.rules.subtracting(plan.rules) {
            drift.append(RoutingDrift(routeTableId: tableIds[rule.table], message: "rule not in the route tables: \(rule.family.rawValue) \(Self.selector(rule))"))
        }
        for route in plan.routes where !installed.routes.contains(route) {
            drift.append(RoutingDrift(routeTableId: tableIds[route.table], destination: route.destination,
                               message: "route missing: \(Self.describe(route))"))
        }
        for route in installed.routes.subtracting(plan.routes) {
            drift.append(RoutingDrift(routeTableId: tableIds[route.table], destination: route.destination,
                               message: "route not in the route tables: \(Self.describe(route))"))
        }
        drift += installed.otherRules.map { RoutingDrift(routeTableId: nil, message: "rule not made by gwlbd into one of its tables: \($0)") }
        return drift
    }

    private struct RouteSlot: Hashable {
        var table: Int
        var destination: String
    }

    // MARK: Reading the kernel's state

    func read(tables: Set<Int>) throws -> Installed {
        var installed = Installed()
        let ours = String(Self.protocolNumber)
        for family in RoutingPlan.Family.allCases {
            for rule in try json([IPRule].self, [family.rawValue, "-j", "rule", "show"]) {
                let table = Int(rule.table ?? "") ?? -1
                guard rule.protocol == ours || tables.contains(table) else { continue }
                if let interface = rule.iif, rule.src == "all", rule.priority == table, !rule.selectsMore {
                    installed.rules.insert(.init(family: family, interface: interface, table: table))
                } else {
                    installed.otherRules.append("\(family.rawValue) priority \(rule.priority ?? -1) iif \(rule.iif ?? "any") table \(rule.table ?? "?")"
                                                + (rule.selectsMore ? " (and more selectors)" : ""))
                }
            }
            for route in try json([IPRoute].self, ["-d", family.rawValue, "-j", "route", "show", "table", "all"]) {
                guard let table = Int(route.table ?? ""), route.protocol == ours || tables.contains(table), let destination = route.dst else { continue }
                let kind: RoutingPlan.Route.Kind
                switch route.type {
                case "blackhole": kind = .blackhole
                case "throw": kind = .throwToMain
                case nil, "unicast"?: kind = .device(route.dev ?? "")
                case let other?: kind = .device("(\(other))")
                }
                installed.routes.insert(.init(family: family, table: table, destination: Self.cidr(destination, family), kind: kind))
            }
        }
        return installed
    }

    /// A rule as `ip -j rule show` prints it (the fields gwlbd judges).
    struct IPRule: Decodable {
        var priority: Int?
        var src: String?
        var iif: String?
        var table: String?
        var `protocol`: String?
        /// Selectors gwlbd's rules never have.
        var fwmark: String?, dst: String?, oif: String?, tos: String?, uidrange: String?, ipproto: String?, sport: String?, dport: String?

        var selectsMore: Bool { [fwmark, dst, oif, tos, uidrange, ipproto, sport, dport].contains { $0 != nil } }
    }

    /// A route as `ip -d -j route show` prints it (`-d` adds the protocol).
    struct IPRoute: Decodable {
        var type: String?
        var dst: String?
        var dev: String?
        var table: String?
        var `protocol`: String?
    }

    /// `ip -j` prints `default` for a zero-length prefix and a host route without its length.
    static func cidr(_ text: String, _ family: RoutingPlan.Family) -> String {
        if text == "default" { return family == .ipv4 ? "0.0.0.0/0" : "::/0" }
        return text.contains("/") ? text : text + (family == .ipv4 ? "/32" : "/128")
    }

    private func json<Value: Decodable>(_ type: Value.Type, _ arguments: [String]) throws -> Value {
        let result = try Shell.execute(ip + arguments)
        guard result.status == 0 else {
            throw Failure(description: "ip \(arguments.joined(separator: " ")) failed: \(result.errors.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        let text = result.output.trimmingCharacters(in: .whitespacesAndNewlines)
        do {
            return try JSONDecoder().decode(type, from: Data((text.isEmpty ? "[]" : text).utf8))
        } catch {
            throw Failure(description: "ip \(arguments.joined(separator: " ")) printed what gwlbd cannot read: \(error)")
        }
    }

    // MARK: Words

    static func selector(_ rule: RoutingPlan.Rule) -> String {
        "iif \(rule.interface) lookup \(rule.table) priority \(rule.priority)"
    }

    static func typePrefix(_ kind: RoutingPlan.Route.Kind) -> String {
        switch kind {
        case .device: ""
        case .blackhole: "blackhole "
        case .throwToMain: "throw "
        }
    }

    static func deviceSuffix(_ kind: RoutingPlan.Route.Kind) -> String {
        if case .device(let name) = kind { return " dev \(name)" }
        return ""
    }

    static func describe(_ route: RoutingPlan.Route) -> String {
        "\(route.family.rawValue) \(typePrefix(route.kind))\(route.destination) table \(route.table)\(deviceSuffix(route.kind))"
    }
}
