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
}

/// The load balancer's listener: no port, no protocol, one forward action.
public struct Listener: Hashable, Sendable {
    public var arn: ARN
    public var loadBalancerArn: ARN
    public var targetGroupArn: ARN
    public var attributes: Attributes
    public var tags: [Tag]
}

/// A registered (or draining) target.
public struct TargetRegistration: Hashable, Sendable {
    /// An IPv4 address, or an instance id when the group's target type is `instance`.
    public var id: String
    public var port: Int
    public var registeredTime: Date
    /// Set by DeregisterTargets: the target drains until this plus the deregistration delay.
    public var deregisteredTime: Date?
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
