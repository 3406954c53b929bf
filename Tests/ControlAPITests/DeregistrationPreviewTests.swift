import DataPlane
import Flows
import Foundation
import PacketIO
import Testing
import Wire
@testable import ControlAPI

/// gwlb's DryRun on DeregisterTargets: a preview from the live flow tables (here a stand-in for
/// them), nothing changed; the real call answers as AWS does and keeps the preview in the audit.
@Suite struct DeregistrationPreviewTests {
    static let targets = ["198.18.1.11", "198.18.1.12", "198.18.1.13"]

    /// A served load balancer with three targets (health unchecked: new flows fail open to all);
    /// appliance .11 holds 5 TCP and 3 UDP flows.
    func fixture() async throws -> (APIFixture, tg: String) {
        let api = try APIFixture(audited: true)
        let lb = try #require(try APIFixture.values(try await api.call("CreateLoadBalancer", [("Name", "lb"), ("Type", "gateway")]).xml,
                                                    "//LoadBalancerArn").first)
        let tg = try #require(try APIFixture.values(try await api.call("CreateTargetGroup", [("Name", "tg"), ("Protocol", "GENEVE"), ("Port", "6081")]).xml,
                                                    "//TargetGroupArn").first)
        _ = try await api.call("RegisterTargets", [("TargetGroupArn", tg)] + Self.targets.enumerated().map { ("Targets.member.\($0.offset + 1).Id", $0.element) })
        _ = try await api.call("CreateListener", [("LoadBalancerArn", lb), ("DefaultActions.member.1.Type", "forward"), ("DefaultActions.member.1.TargetGroupArn", tg)])
        // An endpoint makes the load balancer the one the data plane serves (no device here: the service attaches nothing).
        #expect(try await api.call("CreateEndpoint", [("LoadBalancerArn", lb), ("Interface", "gwlbe0")]).status == 200)
        // The service gives the targets slots 0, 1, 2 in registration order.
        api.actions.flows = { query in
            guard query.target == TargetSlot(0) else { return [] }
            return (0..<8).map { n in
                let key = FlowKey(lowAddress: IPv6Address(mapping: IPv4Address(198, 18, 10, UInt8(n + 2))), highAddress: IPv6Address(mapping: IPv4Address(198, 18, 20, 2)),
                                  lowPort: UInt16(40000 + n), highPort: 80, protocol: n < 5 ? .tcp : .udp)
                return FlowRecord(key: key, target: TargetSlot(0), cookie: UInt32(n), ageSeconds: 1, idleSeconds: 0, confirmed: true, worker: 0)
            }
        }
        return (api, tg)
    }

    @Test func aDryRunPreviewsAndChangesNothing() async throws {
        let (api, tg) = try await fixture()
        let dry = try await api.call("DeregisterTargets", [("TargetGroupArn", tg), ("Targets.member.1.Id", "198.18.1.11"), ("DryRun", "true")])
        #expect(dry.status == 200)
        #expect(try APIFixture.values(dry.xml, "//DryRun") == ["true"])
        #expect(try APIFixture.values(dry.xml, "//Preview/Targets/member/ActiveFlows") == ["8"])
        #expect(try APIFixture.values(dry.xml, "//Preview/Targets/member/ActiveTCPFlows") == ["5"])
        #expect(try APIFixture.values(dry.xml, "//Preview/Targets/member/AtDrainEnd") == ["stay"], "AWS's default, no_rebalance")
        // Maglev over the two targets left places every flow on one of them.
        let destinations = try APIFixture.values(dry.xml, "//FlowsByMaglevTarget/member/Target")
        let counts = try APIFixture.values(dry.xml, "//FlowsByMaglevTarget/member/Flows").compactMap(Int.init)
        #expect(Set(destinations).isSubset(of: ["198.18.1.12", "198.18.1.13"]) && counts.reduce(0, +) == 8, "\(destinations) \(counts)")
        let health = try await api.call("DescribeTargetHealth", [("TargetGroupArn", tg), ("Targets.member.1.Id", "198.18.1.11")])
        #expect(try APIFixture.values(health.xml, "//TargetHealth/State") != ["draining"], "a dry run changes nothing")
        // With rebalance the flows move at the drain's end; an unknown target is AWS's error, as for the real call.
        _ = try await api.call("ModifyTargetGroupAttributes", [("TargetGroupArn", tg),
                                                         ("Attributes.member.1.Key", "target_failover.on_deregistration"), ("Attributes.member.1.Value", "rebalance"),
                                                         ("Attributes.member.2.Key", "target_failover.on_unhealthy"), ("Attributes.member.2.Value", "rebalance")])
        let moving = try await api.call("DeregisterTargets", [("TargetGroupArn", tg), ("Targets.member.1.Id", "198.18.1.11"), ("DryRun", "true")])
        #expect(try APIFixture.values(moving.xml, "//AtDrainEnd") == ["move"])
        let unknown = try await api.call("DeregisterTargets", [("TargetGroupArn", tg), ("Targets.member.1.Id", "198.18.9.9"), ("DryRun", "true")])
        #expect(unknown.status == 400)
    }

    @Test func theRealCallAnswersAsAWSAndAuditsThePreview() async throws {
        let (api, tg) = try await fixture()
        let real = try await api.call("DeregisterTargets", [("TargetGroupArn", tg), ("Targets.member.1.Id", "198.18.1.11")])
        #expect(real.status == 200)
        #expect(try APIFixture.values(real.xml, "//DeregisterTargetsResult/*").isEmpty, "AWS's answer has an empty result")
        let events = try String(contentsOfFile: api.auditPath, encoding: .utf8).split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        let deregister = try #require(events.last { $0["eventName"] as? String == "DeregisterTargets" })
        let preview = try #require((deregister["responseElements"] as? [String: Any])?["deregistrationPreview"] as? [String: Any])
        let rows = try #require(preview["targets"] as? [[String: Any]])
        #expect(rows.first?["activeFlows"] as? String == "8" && rows.first?["address"] as? String == "198.18.1.11")
    }
}
