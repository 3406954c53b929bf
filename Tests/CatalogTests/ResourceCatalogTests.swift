import Foundation
import Testing
@testable import Catalog

/// AWS's rules for gateway load balancers, each shown with the error code it must give.
@Suite struct ResourceCatalogTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)
    var ids = (1...).lazy.map { String(format: "%016x", $0) }.makeIterator()

    mutating func id() -> String { ids.next()! }

    /// AWS's getting-started sequence: load balancer, target group, two targets, listener.
    mutating func gettingStarted() throws -> (catalog: ResourceCatalog, lb: LoadBalancer, tg: TargetGroup, listener: Listener) {
        var catalog = ResourceCatalog(region: "eu-west-1", account: "111122223333")
        let lb = try catalog.createLoadBalancer(name: "my-load-balancer", type: "gateway", subnets: ["provider-subnet-id"],
                                                ipAddressType: nil, tags: [], id: id(), now: now)
        let tg = try catalog.createTargetGroup(name: "my-targets", protocol: "GENEVE", port: 6081, vpcId: "provider-vpc-id",
                                               targetType: "ip", healthCheck: HealthCheck(), tags: [], id: id())
        try catalog.registerTargets(tg.arn, [("198.18.1.11", nil), ("198.18.1.12", 6081)], now: now)
        let listener = try catalog.createListener(loadBalancer: lb.arn, port: nil, protocol: nil, forwardTo: tg.arn,
                                                  actionType: "forward", tags: [], id: id())
        return (catalog, lb, tg, listener)
    }

    /// The ELB error code `body` fails with, or nil when it succeeds.
    func code(_ body: () throws -> Void) -> ELBError.Code? {
        do { try body(); return nil } catch let error as ELBError { return error.code } catch { return nil }
    }

    @Test mutating func arnsHaveAWSShapes() throws {
        let (_, lb, tg, listener) = try gettingStarted()
        #expect(lb.arn.description == "arn:aws:elasticloadbalancing:eu-west-1:111122223333:loadbalancer/gwy/my-load-balancer/0000000000000001")
        #expect(tg.arn.description == "arn:aws:elasticloadbalancing:eu-west-1:111122223333:targetgroup/my-targets/0000000000000002")
        #expect(listener.arn.description == "arn:aws:elasticloadbalancing:eu-west-1:111122223333:listener/gwy/my-load-balancer/0000000000000001/0000000000000003")
        for arn in [lb.arn, tg.arn, listener.arn] { #expect(ARN(arn.description) == arn) }
        #expect(listener.arn.loadBalancerOfListener == lb.arn)
        #expect(ARN("arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/x/123") == nil)
        #expect(ARN("arn:aws:s3:::bucket") == nil)
    }

    @Test mutating func defaultsAreAWSs() throws {
        let (catalog, lb, tg, listener) = try gettingStarted()
        // AWS's two, then gwlb's own path-MTU switch (on: gwlb answers oversize packets with ICMP)
        // and mid-connection pick-up (auto: on a node of a cluster only).
        #expect(lb.attributes.pairs.map(\.key) == ["deletion_protection.enabled", "load_balancing.cross_zone.enabled", "path_mtu_discovery.enabled",
                                                    "tcp.mid_connection_pickup"])
        #expect(lb.attributes.pairs.map(\.value) == ["false", "false", "true", "auto"])
        let group = try catalog.targetGroup(tg.arn)
        #expect(group.attributes["deregistration_delay.timeout_seconds"] == "300")
        #expect(group.attributes["stickiness.enabled"] == "false")
        #expect(group.attributes["target_failover.on_unhealthy"] == "no_rebalance")
        #expect(group.healthCheck.healthProtocol == .tcp && group.healthCheck.port == "80" && group.healthCheck.intervalSeconds == 10)
        #expect(group.healthCheck.timeoutSeconds == 5 && group.healthCheck.healthyThreshold == 5 && group.healthCheck.unhealthyThreshold == 2)
        #expect(listener.attributes["tcp.idle_timeout.seconds"] == "350")
        #expect(group.targets.map(\.id) == ["198.18.1.11", "198.18.1.12"])
    }

    @Test mutating func namesAndTypes() throws {
        var catalog = ResourceCatalog()
        for bad in ["", "-lead", "trail-", "under_score", String(repeating: "a", count: 33), "internal-x"] {
            #expect(code { _ = try catalog.createLoadBalancer(name: bad, type: "gateway", subnets: [], ipAddressType: nil, tags: [], id: id(), now: now) } == .validationError, "\(bad)")
        }
        #expect(code { _ = try catalog.createLoadBalancer(name: "alb", type: "application", subnets: [], ipAddressType: nil, tags: [], id: id(), now: now) } == .validationError)
        _ = try catalog.createLoadBalancer(name: "a", type: "gateway", subnets: [], ipAddressType: nil, tags: [], id: id(), now: now)
        #expect(code { _ = try catalog.createLoadBalancer(name: "a", type: "gateway", subnets: [], ipAddressType: nil, tags: [], id: id(), now: now) } == .duplicateLoadBalancerName)
        #expect(code { _ = try catalog.createTargetGroup(name: "t", protocol: "TCP", port: 6081, vpcId: nil, targetType: "ip", healthCheck: HealthCheck(), tags: [], id: id()) } == .validationError)
        #expect(code { _ = try catalog.createTargetGroup(name: "t", protocol: "GENEVE", port: 6082, vpcId: nil, targetType: "ip", healthCheck: HealthCheck(), tags: [], id: id()) } == .validationError)
        let first = try catalog.createTargetGroup(name: "t", protocol: "GENEVE", port: 6081, vpcId: "v", targetType: "ip", healthCheck: HealthCheck(), tags: [], id: id())
        let again = try catalog.createTargetGroup(name: "t", protocol: "GENEVE", port: 6081, vpcId: "v", targetType: "ip", healthCheck: HealthCheck(), tags: [], id: id())
        #expect(first.arn == again.arn, "same name and settings: the existing group")
        #expect(code { _ = try catalog.createTargetGroup(name: "t", protocol: "GENEVE", port: 6081, vpcId: "other", targetType: "ip", healthCheck: HealthCheck(), tags: [], id: id()) } == .duplicateTargetGroupName)
    }

    @Test func healthCheckRangesAreValidationErrors() {
        func check(_ change: (inout HealthCheck) -> Void) -> HealthCheck {
            var check = HealthCheck()
            change(&check)
            return check
        }
        let cases: [(String, HealthCheck, String)] = [
            ("interval 4", check { $0.intervalSeconds = 4 }, "HealthCheckIntervalSeconds"),
            ("interval 301", check { $0.intervalSeconds = 301 }, "HealthCheckIntervalSeconds"),
            ("timeout 1", check { $0.timeoutSeconds = 1 }, "HealthCheckTimeoutSeconds"),
            ("timeout > interval", check { $0.timeoutSeconds = 20; $0.intervalSeconds = 10 }, "no greater than"),
            ("healthy 11", check { $0.healthyThreshold = 11 }, "HealthyThresholdCount"),
            ("unhealthy 1", check { $0.unhealthyThreshold = 1 }, "UnhealthyThresholdCount"),
            ("port 0", check { $0.port = "0" }, "HealthCheckPort"),
            ("matcher with TCP", check { $0.matcher = "200" }, "Matcher"),
            ("bad matcher", check { $0.healthProtocol = .http; $0.matcher = "200-100" }, "Matcher"),
            ("path without slash", check { $0.healthProtocol = .http; $0.path = "health" }, "HealthCheckPath"),
            // Into the probe's request line: a header injected after CR LF, a space, a control.
            ("path with CR LF", check { $0.healthProtocol = .http; $0.path = "/h\r\nX-Injected: 1" }, "HealthCheckPath"),
            ("path with a space", check { $0.healthProtocol = .http; $0.path = "/a b" }, "HealthCheckPath"),
            ("path with a control", check { $0.healthProtocol = .https; $0.path = "/a\u{1}" }, "HealthCheckPath"),
        ]
        for (name, healthCheck, field) in cases {
            do throws(ELBError) {
                try healthCheck.validate()
                Issue.record("\(name) was accepted")
            } catch {
                #expect(error.code == .validationError && error.message.contains(field), "\(name): \(error)")
            }
        }
        #expect(throws: Never.self) { try check { $0.healthProtocol = .https; $0.path = "/ok"; $0.matcher = "200,204" }.validate() }
    }

    @Test func httpMatcherCodes() {
        #expect(HealthCheck.codes("200") == [200])
        #expect(HealthCheck.codes("200,202") == [200, 202])
        #expect(HealthCheck.codes("200-203") == [200, 201, 202, 203])
        for bad in ["", "abc", "199", "600", "300-200", "200-", "-200"] { #expect(HealthCheck.codes(bad) == nil, "\(bad)") }
    }

    @Test mutating func attributeRules() throws {
        var (catalog, lb, tg, listener) = try gettingStarted()
        #expect(code { _ = try catalog.modifyTargetGroupAttributes(tg.arn, [("deregistration_delay.timeout_seconds", "3601")]) } == .validationError)
        #expect(code { _ = try catalog.modifyTargetGroupAttributes(tg.arn, [("stickiness.type", "source_ip")]) } == .validationError)
        #expect(code { _ = try catalog.modifyTargetGroupAttributes(tg.arn, [("no.such.key", "1")]) } == .validationError)
        #expect(code { _ = try catalog.modifyTargetGroupAttributes(tg.arn, [("target_failover.on_deregistration", "rebalance")]) } == .validationError,
                "mismatched target_failover")
        let both = try catalog.modifyTargetGroupAttributes(tg.arn, [("target_failover.on_deregistration", "rebalance"), ("target_failover.on_unhealthy", "rebalance")])
        #expect(both["target_failover.on_unhealthy"] == "rebalance")
        #expect(code { _ = try catalog.modifyTargetGroupAttributes(tg.arn, [("send_tcp_reset.on_unhealthy.enabled", "true")]) } == .validationError,
                "send_tcp_reset with rebalance")
        _ = try catalog.modifyTargetGroupAttributes(tg.arn, [("target_failover.on_deregistration", "no_rebalance"), ("target_failover.on_unhealthy", "no_rebalance"), ("stickiness.enabled", "true")])
        #expect(code { _ = try catalog.modifyTargetGroupAttributes(tg.arn, [("send_tcp_reset.on_deregistration.enabled", "true")]) } == .validationError,
                "send_tcp_reset with 3-tuple stickiness")
        #expect(try catalog.targetGroup(tg.arn).attributes["send_tcp_reset.on_deregistration.enabled"] == "false", "nothing half-applied")
        #expect(code { _ = try catalog.modifyListenerAttributes(listener.arn, [("tcp.idle_timeout.seconds", "59")]) } == .validationError)
        #expect(try catalog.modifyListenerAttributes(listener.arn, [("tcp.idle_timeout.seconds", "6000")])["tcp.idle_timeout.seconds"] == "6000")
        for (key, bad) in [("udp.idle_timeout.seconds", "9"), ("other.idle_timeout.seconds", "6001"), ("tcp.closing_timeout.seconds", "0"),
                           ("tcp.closing_timeout.seconds", "351")] {
            #expect(code { _ = try catalog.modifyListenerAttributes(listener.arn, [(key, bad)]) } == .validationError, "\(key)=\(bad)")
        }
        #expect(listener.attributes["udp.idle_timeout.seconds"] == "120" && listener.attributes["other.idle_timeout.seconds"] == "120"
                && listener.attributes["tcp.closing_timeout.seconds"] == "15")
        #expect(code { _ = try catalog.modifyLoadBalancerAttributes(lb.arn, [("deletion_protection.enabled", "yes")]) } == .validationError)
    }

    @Test mutating func listenerRules() throws {
        var (catalog, lb, tg, listener) = try gettingStarted()
        #expect(code { _ = try catalog.createListener(loadBalancer: lb.arn, port: 80, protocol: nil, forwardTo: tg.arn, actionType: "forward", tags: [], id: id()) } == .validationError)
        #expect(code { _ = try catalog.createListener(loadBalancer: lb.arn, port: nil, protocol: "TCP", forwardTo: tg.arn, actionType: "forward", tags: [], id: id()) } == .validationError)
        #expect(code { _ = try catalog.createListener(loadBalancer: lb.arn, port: nil, protocol: nil, forwardTo: tg.arn, actionType: "forward", tags: [], id: id()) } == .tooManyListeners)
        let missing = ARN.targetGroup(region: "eu-west-1", account: "111122223333", name: "gone", id: "00000000000000ff")
        #expect(code { _ = try catalog.modifyListener(listener.arn, forwardTo: missing) } == .targetGroupNotFound)
        #expect(code { try catalog.deleteTargetGroup(tg.arn) } == .resourceInUse)
        try catalog.deleteListener(listener.arn)
        #expect(code { try catalog.deleteListener(listener.arn) } == .listenerNotFound)
        try catalog.deleteTargetGroup(tg.arn)
        #expect(code { _ = try catalog.targetGroup(tg.arn) } == .targetGroupNotFound)
    }

    @Test mutating func deletionProtection() throws {
        var (catalog, lb, _, _) = try gettingStarted()
        _ = try catalog.modifyLoadBalancerAttributes(lb.arn, [("deletion_protection.enabled", "true")])
        #expect(code { try catalog.deleteLoadBalancer(lb.arn) } == .operationNotPermitted)
        _ = try catalog.modifyLoadBalancerAttributes(lb.arn, [("deletion_protection.enabled", "false")])
        try catalog.deleteLoadBalancer(lb.arn)
        #expect(catalog.listeners.isEmpty, "its listener goes with it")
        try catalog.deleteLoadBalancer(lb.arn)  // gone already: succeeds, as in AWS
    }

    @Test mutating func targetRules() throws {
        var (catalog, _, tg, _) = try gettingStarted()
        #expect(code { try catalog.registerTargets(tg.arn, [("i-0123456789abcdef0", nil)], now: now) } == .invalidTarget, "not an address in an ip group")
        #expect(code { try catalog.registerTargets(tg.arn, [("198.18.1.13", 80)], now: now) } == .invalidTarget, "port other than 6081")
        #expect(code { try catalog.deregisterTargets(tg.arn, ["198.18.9.9"], now: now) } == .invalidTarget)
        let many = (0..<298).map { (id: "198.18.\(2 + $0 / 250).\($0 % 250 + 1)", port: Optional<Int>.none) }
        try catalog.registerTargets(tg.arn, many, now: now)
        #expect(try catalog.targetGroup(tg.arn).targets.count == 300)
        #expect(code { try catalog.registerTargets(tg.arn, [("198.18.9.1", nil)], now: now) } == .tooManyTargets, "the 301st target")
        #expect(try catalog.targetGroup(tg.arn).targets.count == 300, "nothing half-applied")
    }

    @Test mutating func drainingLastsTheDeregistrationDelay() throws {
        var (catalog, _, tg, _) = try gettingStarted()
        _ = try catalog.modifyTargetGroupAttributes(tg.arn, [("deregistration_delay.timeout_seconds", "60")])
        try catalog.deregisterTargets(tg.arn, ["198.18.1.11"], now: now)
        #expect(try catalog.targetGroup(tg.arn).targets.first?.deregisteredTime == now)
        #expect(catalog.removeDrained(now: now.addingTimeInterval(59)) == 0)
        #expect(catalog.removeDrained(now: now.addingTimeInterval(60)) == 1)
        #expect(try catalog.targetGroup(tg.arn).targets.map(\.id) == ["198.18.1.12"])
        // Registering a draining target again cancels the drain.
        try catalog.deregisterTargets(tg.arn, ["198.18.1.12"], now: now)
        try catalog.registerTargets(tg.arn, [("198.18.1.12", nil)], now: now)
        #expect(try catalog.targetGroup(tg.arn).targets.first?.deregisteredTime == nil)
    }

    @Test mutating func instanceTargetsResolveThroughTheMap() throws {
        var catalog = ResourceCatalog()
        let tg = try catalog.createTargetGroup(name: "inst", protocol: "GENEVE", port: 6081, vpcId: nil, targetType: "instance",
                                               healthCheck: HealthCheck(), tags: [], id: id())
        #expect(code { try catalog.registerTargets(tg.arn, [("i-1", nil)], now: now) } == .invalidTarget)
        try catalog.registerTargets(tg.arn, [("i-1", nil)], instances: ["i-1": "198.18.1.11"], now: now)
    }

    @Test mutating func tags() throws {
        var (catalog, lb, tg, _) = try gettingStarted()
        try catalog.addTags([lb.arn, tg.arn], [Tag(key: "team", value: "net"), Tag(key: "env", value: "lab")])
        try catalog.addTags([lb.arn], [Tag(key: "env", value: "prod")])
        #expect(try catalog.tags(lb.arn) == [Tag(key: "team", value: "net"), Tag(key: "env", value: "prod")])
        try catalog.removeTags([tg.arn], keys: ["team"])
        #expect(try catalog.tags(tg.arn) == [Tag(key: "env", value: "lab")])
        #expect(code { try catalog.addTags([lb.arn], [Tag(key: "a", value: "1"), Tag(key: "a", value: "2")]) } == .duplicateTagKeys)
        let fifty = (0..<49).map { Tag(key: "k\($0)", value: "") }
        #expect(code { try catalog.addTags([lb.arn], fifty) } == .tooManyTags)
        let missing = ARN.loadBalancer(region: "eu-west-1", account: "111122223333", name: "gone", id: "00000000000000ff")
        #expect(code { try catalog.addTags([tg.arn, missing], [Tag(key: "x", value: "y")]) } == .loadBalancerNotFound)
        #expect(try !catalog.tags(tg.arn).contains(Tag(key: "x", value: "y")), "nothing half-applied")
    }
}

/// Endpoints, gwlb's extension: unique interfaces and ids; endpoints of several load balancers.
@Suite struct EndpointRulesTests {
    @Test func endpointRules() throws {
        var rules = ResourceCatalogTests()
        var (catalog, lb, _, _) = try rules.gettingStarted()
        let now = rules.now
        let endpoint = try catalog.createEndpoint(loadBalancer: lb.arn, interface: "gwlbe0", endpointId: nil, attachmentId: nil,
                                                  newID: { "0123456789abcdef" }, now: now)
        #expect(endpoint.id == "vpce-00123456789abcdef")
        #expect(endpoint.endpointNumber == 0x0123456789abcdef)
        #expect(endpoint.attachmentId == "0x0123456789abcdef")
        #expect(catalog.servedLoadBalancers == [lb.arn])
        let code = { (body: () throws -> Void) in rules.code(body) }
        #expect(code { _ = try catalog.createEndpoint(loadBalancer: lb.arn, interface: "gwlbe0", endpointId: "vpce-1", attachmentId: nil,
                                                      newID: { "1" }, now: now) } == .duplicateEndpoint)
        #expect(code { _ = try catalog.createEndpoint(loadBalancer: lb.arn, interface: "this-name-is-too-long", endpointId: nil, attachmentId: nil,
                                                      newID: { "1" }, now: now) } == .validationError)
        #expect(code { _ = try catalog.createEndpoint(loadBalancer: lb.arn, interface: "gwlbe1", endpointId: "vpce-xyz", attachmentId: nil,
                                                      newID: { "1" }, now: now) } == .validationError)
        let other = try catalog.createLoadBalancer(name: "other", type: "gateway", subnets: [], ipAddressType: nil, tags: [], id: "00000000000000ff", now: now)
        _ = try catalog.createEndpoint(loadBalancer: other.arn, interface: "gwlbe1", endpointId: nil, attachmentId: nil, newID: { "2" }, now: now)
        #expect(catalog.servedLoadBalancers == [lb.arn, other.arn], "one gwlbd serves both, in the order of their first endpoint")
        #expect(code { _ = try catalog.createEndpoint(loadBalancer: other.arn, interface: "gwlbe0", endpointId: nil, attachmentId: nil,
                                                      newID: { "3" }, now: now) } == .duplicateEndpoint, "interfaces are unique across load balancers")
        #expect(code { try catalog.deleteLoadBalancer(lb.arn) } == .resourceInUse)
        #expect(code { _ = try catalog.endpoint("vpce-none") } == .endpointNotFound)
        catalog.deleteEndpoint(endpoint.id)
        catalog.deleteEndpoint(endpoint.id)  // gone already: succeeds
        try catalog.deleteLoadBalancer(lb.arn)
    }
}
