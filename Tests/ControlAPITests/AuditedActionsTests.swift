import Foundation
import Telemetry
import Testing
@testable import ControlAPI

/// Every call goes to the audit trail with its parameters (nested as CloudTrail's) and outcome.
@Suite struct AuditedActionsTests {
    func events(_ api: APIFixture) throws -> [[String: Any]] {
        try String(contentsOfFile: api.auditPath, encoding: .utf8).split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }

    @Test func callsAndFailuresAreRecordedWithTheirParameters() async throws {
        let api = try APIFixture(audited: true)
        let (_, created, _) = try await api.call("CreateTargetGroup", [("Name", "tg"), ("Protocol", "GENEVE"), ("Port", "6081")])
        let arn = try #require(try APIFixture.values(created, "//TargetGroupArn").first)
        _ = try await api.call("RegisterTargets", [("TargetGroupArn", arn), ("Targets.member.1.Id", "198.18.1.11"),
                                             ("Targets.member.2.Id", "198.18.1.12"), ("Targets.member.2.Port", "6081")])
        _ = try await api.call("DescribeTargetGroups", [("Names.member.1", "nope")])
        _ = try await api.call("NoSuchAction")
        let events = try events(api)
        #expect(events.map { $0["eventName"] as? String } == ["CreateTargetGroup", "RegisterTargets", "DescribeTargetGroups", "NoSuchAction"])

        let register = events[1]
        let parameters = try #require(register["requestParameters"] as? [String: Any])
        #expect(parameters["targetGroupArn"] as? String == arn)
        let targets = try #require(parameters["targets"] as? [[String: Any]])
        #expect(targets.map { $0["id"] as? String } == ["198.18.1.11", "198.18.1.12"])
        #expect(targets[1]["port"] as? String == "6081")
        #expect(register["readOnly"] as? Bool == false)
        #expect(register["errorCode"] == nil)

        let created0 = try #require(events[0]["responseElements"] as? [String: Any])
        #expect(((created0["targetGroups"] as? [[String: Any]])?.first?["targetGroupArn"] as? String) == arn)

        #expect(events[2]["errorCode"] as? String == "TargetGroupNotFound")
        #expect(events[2]["readOnly"] as? Bool == true)
        #expect((events[2]["requestParameters"] as? [String: Any])?["names"] as? [String] == ["nope"])
        #expect(events[3]["errorCode"] as? String == "InvalidAction")
        #expect(Set(events.compactMap { $0["requestID"] as? String }).count == 1, "the fixture gives every call the request id req-1")
    }

    @Test func lowerCamelCaseAsCloudTrailWritesIt() {
        #expect(AuditRecording.lowerCamel("TargetGroupArn") == "targetGroupArn")
        #expect(AuditRecording.lowerCamel("VPCId") == "vpcId")
        #expect(AuditRecording.lowerCamel("Id") == "id")
        #expect(AuditRecording.lowerCamel("IpAddressType") == "ipAddressType")
    }
}
