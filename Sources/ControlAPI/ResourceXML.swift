import Catalog
import Foundation
import Health

/// The elbv2 XML shapes of our resources (member names as in botocore's elbv2 model).
enum ResourceXML {
    static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
    }

    static func loadBalancer(_ balancer: LoadBalancer) -> [XMLNode] {
        [
            .value("LoadBalancerArn", balancer.arn.description),
            .value("LoadBalancerName", balancer.name),
            .value("CreatedTime", timestamp(balancer.createdTime)),
            .element("State", [.value("Code", "active")]),
            .value("Type", "gateway"),
            .list("AvailabilityZones", balancer.subnets.map { [.value("SubnetId", $0), .value("ZoneName", "local")] }),
            .value("IpAddressType", balancer.ipAddressType),
        ]
    }

    static func targetGroup(_ group: TargetGroup, loadBalancers: [ARN]) -> [XMLNode] {
        let check = group.healthCheck
        var nodes: [XMLNode] = [
            .value("TargetGroupArn", group.arn.description),
            .value("TargetGroupName", group.name),
            .value("Protocol", TargetGroup.protocolName),
            .value("Port", String(TargetGroup.port)),
        ]
        if let vpc = group.vpcId { nodes.append(.value("VpcId", vpc)) }
        nodes += [
            .value("HealthCheckProtocol", check.healthProtocol.rawValue),
            .value("HealthCheckPort", check.port),
            .value("HealthCheckEnabled", String(check.enabled)),
            .value("HealthCheckIntervalSeconds", String(check.intervalSeconds)),
            .value("HealthCheckTimeoutSeconds", String(check.timeoutSeconds)),
            .value("HealthyThresholdCount", String(check.healthyThreshold)),
            .value("UnhealthyThresholdCount", String(check.unhealthyThreshold)),
        ]
        if check.healthProtocol != .tcp {
            nodes.append(.value("HealthCheckPath", check.effectivePath))
            nodes.append(.element("Matcher", [.value("HttpCode", check.effectiveMatcher)]))
        }
        nodes.append(.element("LoadBalancerArns", loadBalancers.map { .value("member", $0.description) }))
        nodes += [.value("TargetType", group.targetType), .value("IpAddressType", "ipv4")]
        return nodes
    }

    static func listener(_ listener: Listener) -> [XMLNode] {
        [
            .value("ListenerArn", listener.arn.description),
            .value("LoadBalancerArn", listener.loadBalancerArn.description),
            .list("DefaultActions", [[.value("Type", "forward"), .value("TargetGroupArn", listener.targetGroupArn.description)]]),
        ]
    }

    static func attributes(_ attributes: Attributes) -> XMLNode {
        .list("Attributes", attributes.pairs.map { [.value("Key", $0.key), .value("Value", $0.value)] })
    }

    static func tags(_ tags: [Tag]) -> XMLNode {
        .list("Tags", tags.map { [.value("Key", $0.key), .value("Value", $0.value)] })
    }

    /// AWS's TargetHealthDescription; on a node of a cluster, with gwlb's `NodeHealth`: each live
    /// node's own verdict (`Node` and a TargetHealth's fields), of which `TargetHealth` is the
    /// consensus. The aws CLI and boto3 leave out members their model does not name.
    static func targetHealth(_ target: TargetRegistration, healthCheckPort: String, state: TargetHealthState,
                             nodes: [String: TargetHealthState] = [:]) -> [XMLNode] {
        var description: [XMLNode] = [
            .element("Target", [.value("Id", target.id), .value("Port", String(target.port))]),
            .value("HealthCheckPort", healthCheckPort == "traffic-port" ? String(target.port) : healthCheckPort),
            .element("TargetHealth", health(state)),
        ]
        if !nodes.isEmpty {
            description.append(.list("NodeHealth", nodes.sorted { $0.key < $1.key }.map { [.value("Node", $0.key)] + health($0.value) }))
        }
        return description
    }

    private static func health(_ state: TargetHealthState) -> [XMLNode] {
        var health: [XMLNode] = [.value("State", state.state.rawValue)]
        if let reason = state.reason { health.append(.value("Reason", reason)) }
        if let details = state.details { health.append(.value("Description", details)) }
        return health
    }

    /// An endpoint, `available`, `failed` (its device is gone: `failure` says why) or
    /// `pendingAcceptance` (made through EC2, waiting for its service's acceptance), as AWS's
    /// VpcEndpoint has `State` and `LastError`.
    static func endpoint(_ endpoint: Endpoint, failure: String? = nil) -> [XMLNode] {
        var nodes: [XMLNode] = [
            .value("EndpointId", endpoint.id),
            .value("LoadBalancerArn", endpoint.loadBalancerArn.description),
            .value("Interface", endpoint.interface),
            .value("AttachmentId", endpoint.attachmentId),
            .value("CreatedTime", timestamp(endpoint.createdTime)),
            .value("State", !endpoint.isActive ? "pendingAcceptance" : failure == nil ? "available" : "failed"),
        ]
        if let failure { nodes.append(.element("LastError", [.value("Code", "DeviceLost"), .value("Message", failure)])) }
        return nodes
    }
}
