import Foundation

/// An error as the EC2 Query API reports it: AWS's code (dotted, `InvalidRouteTableID.NotFound`)
/// and a message that says what to do. EC2 answers every client error with HTTP 400, but for
/// `DryRunOperation` (412).
public struct EC2Error: Error, Hashable, Sendable, CustomStringConvertible {
    public let code: String
    public let message: String

    public init(_ code: String, _ message: String) {
        self.code = code
        self.message = message
    }

    public var httpStatus: Int { code == "DryRunOperation" ? 412 : code == "InternalError" ? 500 : 400 }
    public var description: String { "\(code): \(message)" }

    static func invalid(_ parameter: String, _ value: String, _ why: String) -> EC2Error {
        EC2Error("InvalidParameterValue", "Value (\(ResourceCatalog.printable(value))) for parameter \(parameter) is invalid. \(why)")
    }
}

/// A VPC endpoint service configuration: gateway load balancers offered to endpoints, by name
/// (`com.amazonaws.vpce.<region>.<id>`). With acceptance required, a new endpoint waits in
/// `PendingAcceptance` (no traffic) until `AcceptVpcEndpointConnections`.
public struct EndpointService: Hashable, Sendable, Codable {
    /// `vpce-svc-` and 17 hex digits.
    public var id: String
    public var name: String
    public var loadBalancerArns: [String]
    public var acceptanceRequired: Bool
    public var tags: [Tag]
    public var createdTime: Date

    public init(id: String, name: String, loadBalancerArns: [String], acceptanceRequired: Bool, tags: [Tag], createdTime: Date) {
        self.id = id
        self.name = name
        self.loadBalancerArns = loadBalancerArns
        self.acceptanceRequired = acceptanceRequired
        self.tags = tags
        self.createdTime = createdTime
    }
}

/// An EC2 route table, played by a Linux routing table: each association becomes a policy rule
/// (`ip rule iif IF lookup TABLE`), each route a route in that table (README "Route tables").
public struct RouteTable: Hashable, Sendable, Codable {
    /// `rtb-` and 17 hex digits.
    public var id: String
    public var vpcId: String?
    /// The Linux routing table (and rule priority) that holds it: `RouteTable.firstLinuxTable` on.
    public var linuxTable: Int
    public var associations: [Association]
    public var routes: [Route]
    public var tags: [Tag]

    public static let firstLinuxTable = 20001

    public struct Association: Hashable, Sendable, Codable {
        /// `rtbassoc-` and 17 hex digits.
        public var id: String
        /// Exactly one of the two: a subnet, or a gateway (an edge association: ingress routing).
        public var subnetId: String?
        public var gatewayId: String?

        /// The subnet or gateway the association binds.
        public var target: String { subnetId ?? gatewayId ?? "" }
    }

    public struct Route: Hashable, Sendable, Codable {
        /// The CIDR in its canonical text (`198.18.20.0/24`, `fd00:20::/64`).
        public var destination: String
        public var isIPv6: Bool
        /// The endpoint traffic goes to, or nil for `local` (the main table decides).
        public var endpointId: String?
    }

    public init(id: String, vpcId: String?, linuxTable: Int, associations: [Association] = [], routes: [Route] = [], tags: [Tag] = []) {
        self.id = id
        self.vpcId = vpcId
        self.linuxTable = linuxTable
        self.associations = associations
        self.routes = routes
        self.tags = tags
    }
}

/// A destination CIDR as EC2 takes it: an address and a prefix length, no host bits set.
public enum CIDR {
    /// The canonical text of `text` for the family (`isIPv6`), or nil when it is not a CIDR block.
    public static func canonical(_ text: String, isIPv6: Bool) -> String? {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let length = Int(parts[1]), parts[1].allSatisfy(\.isNumber) else { return nil }
        let family = isIPv6 ? AF_INET6 : AF_INET, size = isIPv6 ? 16 : 4
        guard (0...(size * 8)).contains(length) else { return nil }
        var bytes = [UInt8](repeating: 0, count: 16)
        guard inet_pton(family, String(parts[0]), &bytes) == 1 else { return nil }
        for bit in length..<(size * 8) where bytes[bit / 8] & (0x80 >> UInt8(bit % 8)) != 0 { return nil }
        var output = [CChar](repeating: 0, count: 64)
        guard inet_ntop(family, bytes, &output, socklen_t(output.count)) != nil else { return nil }
        return "\(String(cString: output))/\(length)"
    }
}
