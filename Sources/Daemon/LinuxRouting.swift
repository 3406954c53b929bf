import ControlPlane
import Foundation
import Lab
import Resources

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
        for family in RoutingPlan.Family.allCases {
            for rule in try json([family.rawValue, "-j", "rule", "show"]) {
                let table = Int(rule["table"] as? String ?? "") ?? -1
                let ours = (rule["protocol"] as? String) == String(Self.protocolNumber)
                guard ours || tables.contains(table) else { continue }
                let selectors = Set(rule.keys).subtracting(["priority", "src", "iif", "table", "protocol", "flags"])
                if let interface = rule["iif"] as? String, (rule["src"] as? String) == "all", selectors.isEmpty,
                   (rule["priority"] as? Int) == table {
                    installed.rules.insert(.init(family: family, interface: interface, table: table))
                } else {
                    installed.otherRules.append("\(family.rawValue) " + rule.keys.sorted().map { "\($0) \(rule[$0]!)" }.joined(separator: " "))
                }
            }
            for route in try json([family.rawValue, "-j", "route", "show", "table", "all"]) {
                guard let table = Int(route["table"] as? String ?? "") else { continue }
                let ours = (route["protocol"] as? String) == String(Self.protocolNumber)
                guard ours || tables.contains(table), let destination = route["dst"] as? String else { continue }
                let kind: RoutingPlan.Route.Kind
                switch route["type"] as? String {
                case "blackhole": kind = .blackhole
                case "throw": kind = .throwToMain
                case nil, "unicast"?: kind = .device(route["dev"] as? String ?? "")
                case let other?: kind = .device("(\(other))")
                }
                installed.routes.insert(.init(family: family, table: table, destination: Self.cidr(destination, family), kind: kind))
            }
        }
        return installed
    }

    /// `ip -j` prints `default` for a zero-length prefix and a host route without its length.
    static func cidr(_ text: String, _ family: RoutingPlan.Family) -> String {
        if text == "default" { return family == .ipv4 ? "0.0.0.0/0" : "::/0" }
        return text.contains("/") ? text : text + (family == .ipv4 ? "/32" : "/128")
    }

    private func json(_ arguments: [String]) throws -> [[String: Any]] {
        // `ip route show` prints the protocol only when asked for details.
        let detailed = arguments.contains("route") ? ["-d"] : []
        let result = try Shell.execute(ip + detailed + arguments)
        guard result.status == 0 else {
            throw Failure(description: "ip \(arguments.joined(separator: " ")) failed: \(result.errors.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        let text = result.output.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else { return [] }
        guard let list = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]] else {
            throw Failure(description: "ip \(arguments.joined(separator: " ")) printed no JSON list")
        }
        return list
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
