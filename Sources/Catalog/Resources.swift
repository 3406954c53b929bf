import Foundation

/// A tag on a resource.
public struct Tag: Hashable, Sendable, Codable {
    public var key: String
    public var value: String

    public init(key: String, value: String) {
        self.key = key
        self.value = value
    }
}

/// A gateway load balancer.
public struct LoadBalancer: Hashable, Sendable {
    public var arn: ARN
    public var name: String { arn.name }
    public var createdTime: Date
    /// AWS: the subnets it is in; gwlb keeps them for compatibility.
    public var subnets: [String]
    public var ipAddressType: String
    public var attributes: Attributes
    public var tags: [Tag]

    public init(arn: ARN, createdTime: Date, subnets: [String], ipAddressType: String, attributes: Attributes, tags: [Tag]) {
        self.arn = arn
        self.createdTime = createdTime
        self.subnets = subnets
        self.ipAddressType = ipAddressType
        self.attributes = attributes
        self.tags = tags
    }
}

/// The load balancer's listener: no port, no protocol, one forward action.
public struct Listener: Hashable, Sendable {
    public var arn: ARN
    public var loadBalancerArn: ARN
    public var targetGroupArn: ARN
    public var attributes: Attributes
    public var tags: [Tag]

    public init(arn: ARN, loadBalancerArn: ARN, targetGroupArn: ARN, attributes: Attributes, tags: [Tag]) {
        self.arn = arn
        self.loadBalancerArn = loadBalancerArn
        self.targetGroupArn = targetGroupArn
        self.attributes = attributes
        self.tags = tags
    }
}

/// A registered (or draining) target.
public struct TargetRegistration: Hashable, Sendable {
    /// An IPv4 address, or an instance id when the group's target type is `instance`.
    public var id: String
    public var port: Int
    public var registeredTime: Date
    /// Set by DeregisterTargets: the target drains until this plus the deregistration delay.
    public var deregisteredTime: Date?

    public init(id: String, port: Int, registeredTime: Date, deregisteredTime: Date?) {
        self.id = id
        self.port = port
        self.registeredTime = registeredTime
        self.deregisteredTime = deregisteredTime
    }
}

/// A GENEVE target group.
public struct TargetGroup: Hashable, Sendable {
    public var arn: ARN
    public var name: String { arn.name }
    public var vpcId: String?
    /// `ip` or `instance`.
    public var targetType: String
    public var healthCheck: HealthCheck
    public var attributes: Attributes
    public var targets: [TargetRegistration]
    public var tags: [Tag]

    public init(arn: ARN, vpcId: String?, targetType: String, healthCheck: HealthCheck, attributes: Attributes,
                targets: [TargetRegistration], tags: [Tag]) {
        self.arn = arn
        self.vpcId = vpcId
        self.targetType = targetType
        self.healthCheck = healthCheck
        self.attributes = attributes
        self.targets = targets
        self.tags = tags
    }

    public static let protocolName = "GENEVE"
    public static let port = 6081
}

/// Limits gwlb enforces, AWS's where AWS has one (README "AWS's rules, and choices").
public enum Limits {
    public static let targetsPerLoadBalancer = 300
    public static let listenersPerLoadBalancer = 1
    public static let loadBalancers = 100
    public static let targetGroups = 300
    public static let tagsPerResource = 50
    /// One subnet per Availability Zone: no region has more zones than this.
    public static let subnetsPerLoadBalancer = 32
    /// The data plane numbers endpoints in a byte.
    public static let endpoints = 255
    public static let endpointServices = 100
    /// Linux routing tables gwlbd numbers from `RouteTable.firstLinuxTable`.
    public static let routeTables = 200
    public static let routesPerTable = 500
}

/// gwlb's stand-in for a Gateway Load Balancer endpoint (our extension): a TUN interface that
/// routes steer traffic into, bound to a load balancer. Its ids go into every GENEVE packet.
public struct Endpoint: Hashable, Sendable {
    /// `vpce-` and 17 hex digits, as AWS writes endpoint ids.
    public var id: String
    public var loadBalancerArn: ARN
    /// The TUN device gwlbd creates for it.
    public var interface: String
    /// 64 bits, written `0x` and 16 hex digits.
    public var attachmentId: String
    public var createdTime: Date
    /// Made through EC2's `CreateVpcEndpoint`: the endpoint service, subnet and tags it was made
    /// with. Nil for one made with gwlb's `CreateEndpoint`.
    public var vpc: VPCDetails?

    public struct VPCDetails: Hashable, Sendable, Codable {
        public var serviceId: String
        public var subnetIds: [String]
        public var vpcId: String?
        public var tags: [Tag]
        /// Waiting for `AcceptVpcEndpointConnections`: it has no device and carries no traffic.
        public var pendingAcceptance: Bool

        public init(serviceId: String, subnetIds: [String], vpcId: String?, tags: [Tag], pendingAcceptance: Bool) {
            self.serviceId = serviceId
            self.subnetIds = subnetIds
            self.vpcId = vpcId
            self.tags = tags
            self.pendingAcceptance = pendingAcceptance
        }
    }

    public init(id: String, loadBalancerArn: ARN, interface: String, attachmentId: String, createdTime: Date, vpc: VPCDetails? = nil) {
        self.id = id
        self.loadBalancerArn = loadBalancerArn
        self.interface = interface
        self.attachmentId = attachmentId
        self.createdTime = createdTime
        self.vpc = vpc
    }

    /// It carries traffic (has its device); false only while it waits for acceptance.
    public var isActive: Bool { vpc?.pendingAcceptance != true }

    /// The number an id stands for: `vpce-…`, `0x…` or bare hex, at most 64 bits.
    public static func number(_ text: String) -> UInt64? {
        var digits = Substring(text)
        if digits.hasPrefix("vpce-") { digits = digits.dropFirst(5) } else if digits.hasPrefix("0x") { digits = digits.dropFirst(2) }
        let significant = digits.drop { $0 == "0" }
        guard !digits.isEmpty, significant.count <= 16, digits.allSatisfy(\.isHexDigit) else { return nil }
        return significant.isEmpty ? 0 : UInt64(significant, radix: 16)
    }

    public var endpointNumber: UInt64 { Self.number(id) ?? 0 }
    public var attachmentNumber: UInt64 { Self.number(attachmentId) ?? 0 }
}
