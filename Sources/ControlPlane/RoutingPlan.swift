import Catalog

/// The Linux policy routing that the catalog's route tables stand for (README "Route tables"):
/// each association is a rule `iif IF lookup TABLE` (IPv4 and IPv6), each route a route in that
/// table: into the endpoint's TUN device, `blackhole` when the endpoint is gone or waits for
/// acceptance (AWS shows such routes as blackhole), `throw` for `local` (the lookup goes on to the
/// main table).
public struct RoutingPlan: Hashable, Sendable {
    public enum Family: String, Hashable, Sendable, CaseIterable {
        case ipv4 = "-4", ipv6 = "-6"
    }

    public struct Rule: Hashable, Sendable {
        public var family: Family
        public var interface: String
        public var table: Int

        public init(family: Family, interface: String, table: Int) {
            self.family = family
            self.interface = interface
            self.table = table
        }

        /// Rules are tried by priority: a table's number is its rules' priority, below the main table's 32766.
        public var priority: Int { table }
    }

    public struct Route: Hashable, Sendable {
        public enum Kind: Hashable, Sendable {
            case device(String), blackhole, throwToMain
        }
        public var family: Family
        public var table: Int
        /// Canonical CIDR text.
        public var destination: String
        public var kind: Kind

        public init(family: Family, table: Int, destination: String, kind: Kind) {
            self.family = family
            self.table = table
            self.destination = destination
            self.kind = kind
        }
    }

    public var rules: [Rule] = []
    public var routes: [Route] = []
    /// Associations that cannot be expressed (their subnet or gateway maps to no interface any
    /// more), by association id, with why.
    public var unmapped: [String: String] = [:]

    public init() {}

    /// - Parameter interfaces: subnet and gateway ids → Linux interfaces (gwlbd's configuration).
    public init(_ catalog: ResourceCatalog, interfaces: [String: String]) {
        for table in catalog.routeTables {
            for association in table.associations {
                guard let interface = Self.interface(of: association.target, catalog: catalog, interfaces: interfaces) else {
                    unmapped[association.id] = "\(association.target) maps to no interface: add it to \"interfaces\" in gwlbd's configuration"
                    continue
                }
                rules += Family.allCases.map { Rule(family: $0, interface: interface, table: table.linuxTable) }
            }
            for route in table.routes {
                let kind: Route.Kind
                if let id = route.endpointId {
                    let endpoint = catalog.endpoints.first { $0.id == id && $0.isActive }
                    kind = endpoint.map { .device($0.interface) } ?? .blackhole
                } else {
                    kind = .throwToMain
                }
                routes.append(Route(family: route.isIPv6 ? .ipv6 : .ipv4, table: table.linuxTable, destination: route.destination, kind: kind))
            }
        }
    }

    /// The interface of a subnet or gateway: as configured, else the device of the endpoint that
    /// lives in that subnet (an endpoint subnet's table sees what returns from inspection).
    public static func interface(of target: String, catalog: ResourceCatalog, interfaces: [String: String]) -> String? {
        if let configured = interfaces[target] { return configured }
        return catalog.activeEndpoints.first { $0.vpc?.subnetIds.contains(target) == true }?.interface
    }
}

/// One way Linux's routing differs from the route tables: found by gwlbd, shown by
/// `describe-route-tables` and the console, mended by `RepairRouteTables`.
public struct RoutingDrift: Hashable, Sendable {
    /// The route table it concerns; nil for a rule gwlbd cannot tie to one.
    public var routeTableId: String?
    /// The route's destination, for a route.
    public var destination: String?
    public var message: String

    public init(routeTableId: String?, destination: String? = nil, message: String) {
        self.routeTableId = routeTableId
        self.destination = destination
        self.message = message
    }
}
