import Foundation
import Testing
@testable import Telemetry

@Suite struct AuditTrailTests {
    @Test func eachEventIsOneCloudTrailShapedLine() throws {
        let path = NSTemporaryDirectory() + "gwlb-audit-\(UUID().uuidString.prefix(8))/audit.log"
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        let trail = try AuditTrail(path: path)
        let caller = AuditCaller(type: "IAMUser", principalId: "AKIDEXAMPLE", accessKeyId: "AKIDEXAMPLE", sourceIPAddress: "198.18.0.9",
                                 userAgent: "aws-cli/1.45")
        #expect(trail.record(AuditEvent(eventName: "RegisterTargets", caller: caller, region: "eu-west-1", account: "111122223333",
                                        requestParameters: ["targetGroupArn": "arn:tg", "targets": [["id": "198.18.1.11"]]],
                                        responseElements: [:], requestID: "r-1", readOnly: false)))
        #expect(trail.record(AuditEvent(eventName: "DescribeTargetHealth", caller: caller, region: "eu-west-1", account: "111122223333",
                                        requestParameters: ["targetGroupArn": "arn:none"], responseElements: nil, requestID: "r-2",
                                        readOnly: true, errorCode: "TargetGroupNotFound", errorMessage: "not found")))
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 2)
        let first = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        for field in ["eventVersion", "userIdentity", "eventTime", "eventSource", "eventName", "awsRegion", "sourceIPAddress", "userAgent",
                      "requestParameters", "responseElements", "requestID", "eventID", "eventType", "apiVersion"] {
            #expect(first[field] != nil, "\(field) missing")
        }
        #expect(first["eventSource"] as? String == "elasticloadbalancing.amazonaws.com")
        #expect(first["eventType"] as? String == "AwsApiCall")
        #expect((first["userIdentity"] as? [String: Any])?["accessKeyId"] as? String == "AKIDEXAMPLE")
        #expect(first["errorCode"] == nil)
        let second = try #require(try JSONSerialization.jsonObject(with: Data(lines[1].utf8)) as? [String: Any])
        #expect(second["errorCode"] as? String == "TargetGroupNotFound")
        #expect(second["responseElements"] is NSNull)
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600, "the trail names who did what: owner only")
    }

    @Test func anUnwritablePathIsRefusedAtStart() {
        #expect(throws: TelemetryFileError.self) { try AuditTrail(path: "/proc/gwlb-cannot/audit.log") }
    }
}
