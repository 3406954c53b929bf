import Catalog
import ControlPlane
import DataPlane
import Foundation
import FoundationXML
import Store
import Telemetry
import Testing
@testable import ControlAPI

/// The elbv2 operations end to end below HTTP: Query bodies in, AWS's XML out, read back with an
/// XML parser and XPath; the control plane behind them stores to a real SQLite file.
final class APIFixture {
    let directory = NSTemporaryDirectory() + "gwlb-api-\(UUID().uuidString)"
    var actions: ELBActions
    var auditPath: String { directory + "/audit.log" }

    init(audited: Bool = false) throws {
        let service = try ControlPlaneService(store: CatalogStore(directory: directory), region: "us-east-1", account: "123456789012") { _ in }
        actions = ELBActions(service: service, audit: audited ? try AuditTrail(path: directory + "/audit.log") : nil)
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    /// Calls `action` with form parameters; returns status and the parsed document. The document is
    /// parsed without AWS's default namespace so XPath can name elements plainly; `namespace` is it.
    func call(_ action: String, _ parameters: [(String, String)] = []) async throws -> (status: Int, xml: XMLDocument, namespace: String?) {
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))
        let body = ([("Action", action), ("Version", "2015-12-01")] + parameters)
            .map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed)!)" }.joined(separator: "&")
        let response = await actions.handle(body, requestID: "req-1")
        let namespace = try XMLDocument(xmlString: response.body).rootElement()?.uri
        let plain = response.body.replacingOccurrences(of: " xmlns=\"\(QueryResponse.namespace)\"", with: "")
        return (response.status, try XMLDocument(xmlString: plain), namespace)
    }

    static func values(_ document: XMLDocument, _ path: String) throws -> [String] {
        try document.nodes(forXPath: path).compactMap(\.stringValue)
    }
}

@Suite struct ELBActionsTests {
    /// AWS's getting-started commands, as the aws CLI sends them.
    @Test func gettingStartedWalkthrough() async throws {
        let api = try APIFixture()
        let lb = try await api.call("CreateLoadBalancer", [("Name", "my-load-balancer"), ("Type", "gateway"), ("Subnets.member.1", "provider-subnet-id")])
        #expect(lb.status == 200)
        #expect(lb.xml.rootElement()?.name == "CreateLoadBalancerResponse")
        #expect(lb.namespace == "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/")
        let lbArn = try #require(try APIFixture.values(lb.xml, "//LoadBalancers/member/LoadBalancerArn").first)
        #expect(lbArn.hasPrefix("arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/gwy/my-load-balancer/"))
        #expect(try APIFixture.values(lb.xml, "//LoadBalancers/member/Type") == ["gateway"])
        #expect(try APIFixture.values(lb.xml, "//ResponseMetadata/RequestId") == ["req-1"])

        let tg = try await api.call("CreateTargetGroup", [("Name", "my-targets"), ("Protocol", "GENEVE"), ("Port", "6081"), ("VpcId", "provider-vpc-id")])
        #expect(tg.status == 200)
        let tgArn = try #require(try APIFixture.values(tg.xml, "//TargetGroups/member/TargetGroupArn").first)
        #expect(try APIFixture.values(tg.xml, "//TargetGroups/member/HealthCheckProtocol") == ["TCP"])
        #expect(try APIFixture.values(tg.xml, "//TargetGroups/member/HealthCheckIntervalSeconds") == ["10"])

        let register = try await api.call("RegisterTargets", [("TargetGroupArn", tgArn), ("Targets.member.1.Id", "198.18.1.11"), ("Targets.member.2.Id", "198.18.1.12")])
        #expect(register.status == 200 && register.xml.rootElement()?.name == "RegisterTargetsResponse")

        let listener = try await api.call("CreateListener", [("LoadBalancerArn", lbArn), ("DefaultActions.member.1.Type", "forward"),
                                                       ("DefaultActions.member.1.TargetGroupArn", tgArn)])
        #expect(listener.status == 200)
        #expect(try APIFixture.values(listener.xml, "//Listeners/member/DefaultActions/member/TargetGroupArn") == [tgArn])

        let health = try await api.call("DescribeTargetHealth", [("TargetGroupArn", tgArn)])
        #expect(try APIFixture.values(health.xml, "//TargetHealthDescriptions/member/Target/Id") == ["198.18.1.11", "198.18.1.12"])
        #expect(try APIFixture.values(health.xml, "//TargetHealthDescriptions/member/TargetHealth/State") == ["initial", "initial"])
        #expect(try APIFixture.values(health.xml, "//TargetHealthDescriptions/member/TargetHealth/Reason") == ["Elb.RegistrationInProgress", "Elb.RegistrationInProgress"])
        #expect(try APIFixture.values(health.xml, "//TargetHealthDescriptions/member/HealthCheckPort") == ["80", "80"])

        let drain = try await api.call("DeregisterTargets", [("TargetGroupArn", tgArn), ("Targets.member.1.Id", "198.18.1.12")])
        #expect(drain.status == 200)
        let after = try await api.call("DescribeTargetHealth", [("TargetGroupArn", tgArn), ("Targets.member.1.Id", "198.18.1.12")])
        #expect(try APIFixture.values(after.xml, "//TargetHealth/State") == ["draining"])
        #expect(try APIFixture.values(after.xml, "//TargetHealth/Reason") == ["Target.DeregistrationInProgress"])
    }

    @Test(arguments: [
        ("NoSuchThing", [], 400, "InvalidAction"),
        ("CreateLoadBalancer", [("Name", "x"), ("Type", "application")], 400, "ValidationError"),
        ("DescribeTargetGroups", [("Names.member.1", "absent")], 400, "TargetGroupNotFound"),
        ("DeleteTargetGroup", [("TargetGroupArn", "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/absent/0123456789abcdef")], 400, "TargetGroupNotFound"),
        ("DescribeTargetGroups", [("TargetGroupArns.member.1", "not-an-arn")], 400, "ValidationError"),
        ("CreateTargetGroup", [("Name", "t"), ("Protocol", "GENEVE"), ("Port", "6081"), ("HealthCheckTimeoutSeconds", "20")], 400, "ValidationError"),
    ] as [(String, [(String, String)], Int, String)])
    func errorsHaveAWSsShape(action: String, parameters: [(String, String)], status: Int, code: String) async throws {
        let api = try APIFixture()
        let result = try await api.call(action, parameters)
        #expect(result.status == status)
        #expect(result.xml.rootElement()?.name == "ErrorResponse" && result.namespace == QueryResponse.namespace)
        #expect(try APIFixture.values(result.xml, "/ErrorResponse/Error/Code") == [code])
        #expect(try APIFixture.values(result.xml, "/ErrorResponse/Error/Type") == ["Sender"])
        #expect(try !APIFixture.values(result.xml, "/ErrorResponse/Error/Message")[0].isEmpty)
        #expect(try APIFixture.values(result.xml, "/ErrorResponse/RequestId") == ["req-1"])
    }

    @Test func malformedBodiesAreRefused() async throws {
        let api = try APIFixture()
        let response = await api.actions.handle("Action=DescribeLoadBalancers&Marker=%G1")
        #expect(response.status == 400 && response.body.contains("<Code>MalformedQueryString</Code>"))
    }

    @Test func paginationWalksEveryItemOnce() async throws {
        let api = try APIFixture()
        for index in 1...5 {
            #expect(try await api.call("CreateTargetGroup", [("Name", "tg-\(index)"), ("Protocol", "GENEVE"), ("Port", "6081")]).status == 200)
        }
        var names: [String] = [], marker: String?
        repeat {
            let page = try await api.call("DescribeTargetGroups", [("PageSize", "2")] + (marker.map { [("Marker", $0)] } ?? []))
            names += try APIFixture.values(page.xml, "//TargetGroups/member/TargetGroupName")
            marker = try APIFixture.values(page.xml, "//NextMarker").first
        } while marker != nil
        #expect(names == (1...5).map { "tg-\($0)" })
        #expect(try await api.call("DescribeTargetGroups", [("PageSize", "401")]).status == 400)
    }

    @Test func attributesAndTagsRoundTrip() async throws {
        let api = try APIFixture()
        let tg = try await api.call("CreateTargetGroup", [("Name", "t"), ("Protocol", "GENEVE"), ("Port", "6081"), ("Tags.member.1.Key", "team"), ("Tags.member.1.Value", "net")])
        let arn = try #require(try APIFixture.values(tg.xml, "//TargetGroupArn").first)
        let modified = try await api.call("ModifyTargetGroupAttributes", [("TargetGroupArn", arn), ("Attributes.member.1.Key", "deregistration_delay.timeout_seconds"),
                                                                    ("Attributes.member.1.Value", "30")])
        #expect(try APIFixture.values(modified.xml, "//Attributes/member[Key='deregistration_delay.timeout_seconds']/Value") == ["30"])
        let mismatched = try await api.call("ModifyTargetGroupAttributes", [("TargetGroupArn", arn), ("Attributes.member.1.Key", "target_failover.on_unhealthy"),
                                                                      ("Attributes.member.1.Value", "rebalance")])
        #expect(try APIFixture.values(mismatched.xml, "//Error/Code") == ["ValidationError"])
        let tags = try await api.call("DescribeTags", [("ResourceArns.member.1", arn)])
        #expect(try APIFixture.values(tags.xml, "//TagDescriptions/member/Tags/member/Key") == ["team"])
    }
}
