import Foundation

/// A tag on a resource.
public struct Tag: Hashable, Sendable {
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

/// Limits gwlb enforces, AWS's where AWS has one (SPEC.md §5).
public enum Limits {
    public static let targetsPerLoadBalancer = 300
    public static let listenersPerLoadBalancer = 1
    public static let loadBalancers = 100
    public static let targetGroups = 300
    public static let tagsPerResource = 50
}
