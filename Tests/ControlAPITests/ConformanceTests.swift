import Catalog
import ControlPlane
import Foundation
import FoundationXML
import Testing
@testable import ControlAPI

/// The conformance table: every elbv2 operation with a good request and the exact XML shape of its
/// answer (every element path under the result, as botocore's elbv2 model names them), and every
/// rule of README "AWS's rules, and choices" with the error code it must give.
@Suite struct ConformanceTests {
    /// A world to call operations in: a load balancer with a listener to a target group with one
    /// target, a second target group, and an endpoint.
    final class World {
        let api: APIFixture
        let lb: String, tg: String, spare: String, listener: String

        init() async throws {
            let api = try APIFixture()
            self.api = api
            func value(_ action: String, _ parameters: [(String, String)], _ path: String) async throws -> String {
                let answer = try await api.call(action, parameters)
                guard let value = try APIFixture.values(answer.xml, path).first else { throw CocoaError(.fileNoSuchFile) }
                return value
            }
            lb = try await value("CreateLoadBalancer", [("Name", "lb"), ("Type", "gateway"), ("Subnets.member.1", "subnet-1")], "//LoadBalancerArn")
            tg = try await value("CreateTargetGroup", [("Name", "tg"), ("Protocol", "GENEVE"), ("Port", "6081")], "//TargetGroupArn")
            spare = try await value("CreateTargetGroup", [("Name", "spare"), ("Protocol", "GENEVE"), ("Port", "6081"), ("HealthCheckProtocol", "HTTP")],
                              "//TargetGroupArn")
            _ = try await api.call("RegisterTargets", [("TargetGroupArn", tg), ("Targets.member.1.Id", "198.18.1.11")])
            listener = try await value("CreateListener", [("LoadBalancerArn", lb), ("DefaultActions.member.1.Type", "forward"),
                                                    ("DefaultActions.member.1.TargetGroupArn", tg)], "//ListenerArn")
            _ = try await api.call("AddTags", [("ResourceArns.member.1", lb), ("Tags.member.1.Key", "team"), ("Tags.member.1.Value", "net")])
            _ = try await api.call("CreateEndpoint", [("LoadBalancerArn", lb), ("Interface", "gwlbe0")])
        }
    }

    /// Element paths under the result element: `TargetGroups/member/TargetGroupArn` and so on.
    static func shape(_ document: XMLDocument) -> [String] {
        var paths = Set<String>()
        func walk(_ element: XMLElement, _ prefix: String) {
            for child in element.children?.compactMap({ $0 as? XMLElement }) ?? [] {
                let path = prefix.isEmpty ? child.name! : prefix + "/" + child.name!
                paths.insert(path)
                walk(child, path)
            }
        }
        if let result = document.rootElement()?.children?.first as? XMLElement { walk(result, "") }
        return paths.sorted()
    }

    static let loadBalancer = ["AvailabilityZones", "AvailabilityZones/member", "AvailabilityZones/member/SubnetId", "AvailabilityZones/member/ZoneName",
                               "CreatedTime", "IpAddressType", "LoadBalancerArn", "LoadBalancerName", "State", "State/Code", "Type"]
    static let targetGroup = ["HealthCheckEnabled", "HealthCheckIntervalSeconds", "HealthCheckPort", "HealthCheckProtocol", "HealthCheckTimeoutSeconds",
                              "HealthyThresholdCount", "IpAddressType", "LoadBalancerArns", "Port", "Protocol", "TargetGroupArn", "TargetGroupName",
                              "TargetType", "UnhealthyThresholdCount", "VpcId"]
    static let listener = ["DefaultActions", "DefaultActions/member", "DefaultActions/member/TargetGroupArn", "DefaultActions/member/Type",
                           "ListenerArn", "LoadBalancerArn"]
    static let attributes = ["Attributes", "Attributes/member", "Attributes/member/Key", "Attributes/member/Value"]

    static func under(_ list: String, _ member: [String]) -> [String] {
        [list, "\(list)/member"] + member.map { "\(list)/member/\($0)" }
    }

    /// (action, parameters from the world, expected shape). Immutable (nonisolated(unsafe) only
    /// because the closures are not marked Sendable).
    nonisolated(unsafe) static let operations: [(String, (World) -> [(String, String)], [String])] = [
        ("CreateLoadBalancer", { _ in [("Name", "other"), ("Type", "gateway"), ("Subnets.member.1", "subnet-1")] }, under("LoadBalancers", loadBalancer)),
        ("DescribeLoadBalancers", { _ in [] }, under("LoadBalancers", loadBalancer)),
        ("DescribeLoadBalancerAttributes", { [("LoadBalancerArn", $0.lb)] }, attributes),
        ("ModifyLoadBalancerAttributes", { [("LoadBalancerArn", $0.lb), ("Attributes.member.1.Key", "load_balancing.cross_zone.enabled"),
                                             ("Attributes.member.1.Value", "true")] }, attributes),
        ("CreateTargetGroup", { _ in [("Name", "new"), ("Protocol", "GENEVE"), ("Port", "6081"), ("VpcId", "vpc-1")] }, under("TargetGroups", targetGroup)),
        // Created without a VPC id: none in the answer, as in AWS.
        ("DescribeTargetGroups", { [("TargetGroupArns.member.1", $0.tg)] },
         under("TargetGroups", targetGroup + ["LoadBalancerArns/member"]).filter { $0 != "TargetGroups/member/VpcId" }),
        ("ModifyTargetGroup", { [("TargetGroupArn", $0.spare), ("HealthCheckPath", "/health")] },
         under("TargetGroups", targetGroup + ["HealthCheckPath", "Matcher", "Matcher/HttpCode"]).filter { $0 != "TargetGroups/member/VpcId" }),
        ("DescribeTargetGroupAttributes", { [("TargetGroupArn", $0.tg)] }, attributes),
        ("ModifyTargetGroupAttributes", { [("TargetGroupArn", $0.tg), ("Attributes.member.1.Key", "deregistration_delay.timeout_seconds"),
                                            ("Attributes.member.1.Value", "10")] }, attributes),
        ("RegisterTargets", { [("TargetGroupArn", $0.tg), ("Targets.member.1.Id", "198.18.1.12")] }, []),
        ("DeregisterTargets", { [("TargetGroupArn", $0.tg), ("Targets.member.1.Id", "198.18.1.11")] }, []),
        ("DescribeTargetHealth", { [("TargetGroupArn", $0.tg)] },
         under("TargetHealthDescriptions", ["HealthCheckPort", "Target", "Target/Id", "Target/Port", "TargetHealth", "TargetHealth/Description",
                                            "TargetHealth/Reason", "TargetHealth/State"])),
        ("DescribeListeners", { [("LoadBalancerArn", $0.lb)] }, under("Listeners", listener)),
        ("ModifyListener", { [("ListenerArn", $0.listener), ("DefaultActions.member.1.Type", "forward"),
                              ("DefaultActions.member.1.TargetGroupArn", $0.spare)] }, under("Listeners", listener)),
        ("DescribeListenerAttributes", { [("ListenerArn", $0.listener)] }, attributes),
        ("ModifyListenerAttributes", { [("ListenerArn", $0.listener), ("Attributes.member.1.Key", "tcp.idle_timeout.seconds"),
                                         ("Attributes.member.1.Value", "600")] }, attributes),
        ("AddTags", { [("ResourceArns.member.1", $0.tg), ("Tags.member.1.Key", "k"), ("Tags.member.1.Value", "v")] }, []),
        ("RemoveTags", { [("ResourceArns.member.1", $0.lb), ("TagKeys.member.1", "team")] }, []),
        ("DescribeTags", { [("ResourceArns.member.1", $0.lb)] },
         under("TagDescriptions", ["ResourceArn", "Tags", "Tags/member", "Tags/member/Key", "Tags/member/Value"])),
        ("DeleteListener", { [("ListenerArn", $0.listener)] }, []),
        ("DeleteTargetGroup", { [("TargetGroupArn", $0.spare)] }, []),
        ("DescribeEndpoints", { _ in [] }, under("Endpoints", ["AttachmentId", "CreatedTime", "EndpointId", "Interface", "LoadBalancerArn", "State"])),
        ("DeleteEndpoint", { _ in [("EndpointId", "vpce-none")] }, []),
        ("DeleteLoadBalancer", { _ in [("LoadBalancerArn", "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/gwy/gone/0123456789abcdef")] }, []),
    ]

    @Test(arguments: operations.indices)
    func operationAnswersInAWSsShape(index: Int) async throws {
        let (action, parameters, expected) = Self.operations[index]
        let world = try await World()
        let answer = try await world.api.call(action, parameters(world))
        #expect(answer.status == 200, "\(action): \(answer.xml.xmlString)")
        #expect(answer.namespace == QueryResponse.namespace)
        #expect(answer.xml.rootElement()?.name == "\(action)Response")
        #expect((answer.xml.rootElement()?.children?.first as? XMLElement)?.name == "\(action)Result")
        #expect(try APIFixture.values(answer.xml, "/\(action)Response/ResponseMetadata/RequestId") == ["req-1"])
        #expect(Self.shape(answer.xml) == expected.sorted(), "\(action)")
    }

    /// (rule, action, parameters from the world, error code). Each rule of README "AWS's rules, and choices" and README "The control plane".
    nonisolated(unsafe) static let rules: [(String, String, (World) -> [(String, String)], String)] = [
        ("duplicate load balancer name", "CreateLoadBalancer", { _ in [("Name", "lb"), ("Type", "gateway")] }, "DuplicateLoadBalancerName"),
        ("load balancer type other than gateway", "CreateLoadBalancer", { _ in [("Name", "alb"), ("Type", "application")] }, "ValidationError"),
        ("name with a leading hyphen", "CreateLoadBalancer", { _ in [("Name", "-lb"), ("Type", "gateway")] }, "ValidationError"),
        ("name of 33 characters", "CreateLoadBalancer", { _ in [("Name", String(repeating: "a", count: 33)), ("Type", "gateway")] }, "ValidationError"),
        ("name beginning internal-", "CreateLoadBalancer", { _ in [("Name", "internal-lb"), ("Type", "gateway")] }, "ValidationError"),
        ("duplicate target group name, other settings", "CreateTargetGroup",
         { _ in [("Name", "tg"), ("Protocol", "GENEVE"), ("Port", "6081"), ("HealthCheckProtocol", "HTTP")] }, "DuplicateTargetGroupName"),
        ("target group protocol other than GENEVE", "CreateTargetGroup", { _ in [("Name", "t"), ("Protocol", "HTTP"), ("Port", "6081")] }, "ValidationError"),
        ("target group port other than 6081", "CreateTargetGroup", { _ in [("Name", "t"), ("Protocol", "GENEVE"), ("Port", "80")] }, "ValidationError"),
        ("interval below 5", "ModifyTargetGroup", { [("TargetGroupArn", $0.tg), ("HealthCheckIntervalSeconds", "4"), ("HealthCheckTimeoutSeconds", "2")] }, "ValidationError"),
        ("interval above 300", "ModifyTargetGroup", { [("TargetGroupArn", $0.tg), ("HealthCheckIntervalSeconds", "301")] }, "ValidationError"),
        ("timeout below 2", "ModifyTargetGroup", { [("TargetGroupArn", $0.tg), ("HealthCheckTimeoutSeconds", "1")] }, "ValidationError"),
        ("timeout above 120", "ModifyTargetGroup", { [("TargetGroupArn", $0.tg), ("HealthCheckTimeoutSeconds", "121"), ("HealthCheckIntervalSeconds", "300")] }, "ValidationError"),
        ("timeout above interval", "ModifyTargetGroup", { [("TargetGroupArn", $0.tg), ("HealthCheckTimeoutSeconds", "20"), ("HealthCheckIntervalSeconds", "10")] }, "ValidationError"),
        ("healthy threshold 1", "ModifyTargetGroup", { [("TargetGroupArn", $0.tg), ("HealthyThresholdCount", "1")] }, "ValidationError"),
        ("unhealthy threshold 11", "ModifyTargetGroup", { [("TargetGroupArn", $0.tg), ("UnhealthyThresholdCount", "11")] }, "ValidationError"),
        ("health-check protocol UDP", "ModifyTargetGroup", { [("TargetGroupArn", $0.tg), ("HealthCheckProtocol", "UDP")] }, "ValidationError"),
        ("health-check port 70000", "ModifyTargetGroup", { [("TargetGroupArn", $0.tg), ("HealthCheckPort", "70000")] }, "ValidationError"),
        ("matcher outside 200-599", "ModifyTargetGroup", { [("TargetGroupArn", $0.spare), ("Matcher.HttpCode", "100")] }, "ValidationError"),
        ("mismatched target_failover", "ModifyTargetGroupAttributes",
         { [("TargetGroupArn", $0.tg), ("Attributes.member.1.Key", "target_failover.on_deregistration"), ("Attributes.member.1.Value", "rebalance")] },
         "ValidationError"),
        ("send_tcp_reset with rebalance", "ModifyTargetGroupAttributes",
         { [("TargetGroupArn", $0.tg), ("Attributes.member.1.Key", "target_failover.on_deregistration"), ("Attributes.member.1.Value", "rebalance"),
            ("Attributes.member.2.Key", "target_failover.on_unhealthy"), ("Attributes.member.2.Value", "rebalance"),
            ("Attributes.member.3.Key", "send_tcp_reset.on_unhealthy.enabled"), ("Attributes.member.3.Value", "true")] }, "ValidationError"),
        ("deregistration delay above 3600", "ModifyTargetGroupAttributes",
         { [("TargetGroupArn", $0.tg), ("Attributes.member.1.Key", "deregistration_delay.timeout_seconds"), ("Attributes.member.1.Value", "3601")] },
         "ValidationError"),
        ("unknown attribute", "ModifyTargetGroupAttributes",
         { [("TargetGroupArn", $0.tg), ("Attributes.member.1.Key", "slow_start.duration_seconds"), ("Attributes.member.1.Value", "30")] }, "ValidationError"),
        ("TCP idle timeout below 60", "ModifyListenerAttributes",
         { [("ListenerArn", $0.listener), ("Attributes.member.1.Key", "tcp.idle_timeout.seconds"), ("Attributes.member.1.Value", "59")] }, "ValidationError"),
        ("port on a gateway listener", "CreateListener",
         { [("LoadBalancerArn", $0.lb), ("Port", "80"), ("DefaultActions.member.1.Type", "forward"), ("DefaultActions.member.1.TargetGroupArn", $0.spare)] },
         "ValidationError"),
        ("protocol on a gateway listener", "ModifyListener", { [("ListenerArn", $0.listener), ("Protocol", "TCP")] }, "ValidationError"),
        ("second listener", "CreateListener",
         { [("LoadBalancerArn", $0.lb), ("DefaultActions.member.1.Type", "forward"), ("DefaultActions.member.1.TargetGroupArn", $0.spare)] },
         "TooManyListeners"),
        ("deleting a target group in use", "DeleteTargetGroup", { [("TargetGroupArn", $0.tg)] }, "ResourceInUse"),
        ("deleting a load balancer with an endpoint", "DeleteLoadBalancer", { [("LoadBalancerArn", $0.lb)] }, "ResourceInUse"),
        ("target that is not an address", "RegisterTargets", { [("TargetGroupArn", $0.tg), ("Targets.member.1.Id", "i-0abc")] }, "InvalidTarget"),
        ("target port other than 6081", "RegisterTargets",
         { [("TargetGroupArn", $0.tg), ("Targets.member.1.Id", "198.18.1.12"), ("Targets.member.1.Port", "80")] }, "InvalidTarget"),
        ("301st target", "RegisterTargets",
         { world in [("TargetGroupArn", world.tg)] + (0..<300).map { ("Targets.member.\($0 + 1).Id", "198.18.\(2 + $0 / 250).\(1 + $0 % 250)") } },
         "TooManyTargets"),
        ("unknown target group", "DescribeTargetHealth",
         { _ in [("TargetGroupArn", "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/none/0123456789abcdef")] }, "TargetGroupNotFound"),
        ("unknown load balancer", "DescribeLoadBalancerAttributes",
         { _ in [("LoadBalancerArn", "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/gwy/none/0123456789abcdef")] }, "LoadBalancerNotFound"),
        ("unknown listener", "DescribeListenerAttributes",
         { _ in [("ListenerArn", "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/gwy/lb/0123456789abcdef/0123456789abcdef")] },
         "ListenerNotFound"),
        ("51st tag", "AddTags",
         { world in [("ResourceArns.member.1", world.tg)] + (1...51).flatMap { [("Tags.member.\($0).Key", "k\($0)"), ("Tags.member.\($0).Value", "v")] } },
         "TooManyTags"),
        ("tag key twice", "AddTags",
         { [("ResourceArns.member.1", $0.tg), ("Tags.member.1.Key", "k"), ("Tags.member.2.Key", "k")] }, "DuplicateTagKeys"),
        ("page size 0", "DescribeTargetGroups", { _ in [("PageSize", "0")] }, "ValidationError"),
        ("missing required parameter", "RegisterTargets", { _ in [] }, "ValidationError"),
        ("endpoint on a used interface", "CreateEndpoint", { [("LoadBalancerArn", $0.lb), ("Interface", "gwlbe0")] }, "DuplicateEndpoint"),
        ("unknown endpoint", "DescribeEndpoints", { _ in [("EndpointIds.member.1", "vpce-0none")] }, "EndpointNotFound"),
        ("unknown action", "CreateRule", { _ in [] }, "InvalidAction"),
    ]

    @Test(arguments: rules.indices)
    func ruleGivesItsErrorCode(index: Int) async throws {
        let (rule, action, parameters, code) = Self.rules[index]
        let world = try await World()
        let before = world.api.actions.service.read { $0 }
        let answer = try await world.api.call(action, parameters(world))
        #expect(answer.status == 400, "\(rule)")
        #expect(try APIFixture.values(answer.xml, "/ErrorResponse/Error/Code") == [code], "\(rule): \(answer.xml.xmlString)")
        #expect(try !APIFixture.values(answer.xml, "/ErrorResponse/Error/Message")[0].isEmpty, "\(rule)")
        #expect(world.api.actions.service.read { $0 } == before, "\(rule): a refused call changes nothing")
    }

    @Test func missingActionIsMissingAction() async throws {
        let api = try APIFixture()
        let response = await api.actions.handle("Version=2015-12-01", requestID: "r")
        #expect(response.status == 400 && response.body.contains("<Code>MissingAction</Code>"))
    }
}
