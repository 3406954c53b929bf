import Foundation
import Synchronization
import Testing
@testable import Telemetry
import TestTraits

@Suite(.blocking) struct AuditTrailTests {
    @Test func eachEventIsOneCloudTrailShapedLine() throws {
        let path = NSTemporaryDirectory() + "gwlb-audit-\(UUID().uuidString.prefix(8))/audit.log"
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        let trail = try AuditTrail(path: path)
        let caller = AuditCaller(type: "IAMUser", principalId: "AKIDEXAMPLE", accessKeyId: "AKIDEXAMPLE", sourceIPAddress: "198.18.0.9",
                                 userAgent: "aws-cli/1.45")
        #expect(nil == trail.record(AuditEvent(eventName: "RegisterTargets", caller: caller, region: "eu-west-1", account: "111122223333",
                                        requestParameters: ["targetGroupArn": "arn:tg", "targets": [["id": "198.18.1.11"]]],
                                        responseElements: [:], requestID: "r-1", readOnly: false)))
        #expect(nil == trail.record(AuditEvent(eventName: "DescribeTargetHealth", caller: caller, region: "eu-west-1", account: "111122223333",
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

    static func refusal(_ caller: AuditCaller) -> AuditEvent {
        AuditEvent(eventName: "Unknown", caller: caller, region: "eu-west-1", account: "111122223333", requestParameters: nil,
                   responseElements: nil, requestID: "r", readOnly: false, errorCode: "SignatureDoesNotMatch", errorMessage: "no")
    }

    static func lines(_ path: String) -> [[String: Any]] {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    /// A flood of refused signatures leaves a few lines, and the next one says how many were left out.
    @Test func refusalsAreRateLimitedAndCounted() throws {
        let path = NSTemporaryDirectory() + "gwlb-audit-\(UUID().uuidString)"
        defer { for suffix in ["", ".1"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let trail = try AuditTrail(path: path)
        let caller = AuditCaller(type: "IAMUser", principalId: "anonymous", sourceIPAddress: "198.18.10.2", userAgent: "flood")
        let written = (0..<1000).filter { _ in trail.recordRefusal(Self.refusal(caller)) }.count
        #expect(written >= AuditTrail.refusalsPerSecond * 2 && written < AuditTrail.refusalsPerSecond * 2 + 10, "\(written) of 1000")
        usleep(300_000)
        #expect(trail.recordRefusal(Self.refusal(caller)))
        let lines = Self.lines(path)
        #expect(lines.count == written + 1)
        #expect((lines.last?["additionalEventData"] as? [String: Int])?["suppressedRefusals"] == 1000 - written)
        // Calls that were answered are never left out.
        for _ in 0..<50 { #expect(trail.record(Self.refusal(caller)) == nil) }
        #expect(Self.lines(path).count == written + 51)
    }

    /// The trail is bounded like the flow log: FILE, FILE.1 … FILE.keep, each at most maxBytes.
    @Test func theTrailRotates() throws {
        let path = NSTemporaryDirectory() + "gwlb-audit-\(UUID().uuidString)"
        defer { for suffix in ["", ".1", ".2", ".3"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let trail = try AuditTrail(path: path, maxBytes: 4000, keep: 2)
        let caller = AuditCaller(type: "LocalUser", principalId: "uid:0", sourceIPAddress: "unix:/run/gwlb/gwlb.sock", userAgent: "gwlb-cli")
        for _ in 0..<100 { #expect(trail.record(Self.refusal(caller)) == nil) }
        for suffix in ["", ".1", ".2"] {
            let size = (try FileManager.default.attributesOfItem(atPath: path + suffix)[.size] as? Int) ?? -1
            #expect(size > 0 && size <= 4000, "\(suffix): \(size)")
            #expect(Self.lines(path + suffix).allSatisfy { $0["errorCode"] as? String == "SignatureDoesNotMatch" })
        }
        #expect(!FileManager.default.fileExists(atPath: path + ".3"))
        let mode = (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) ?? 0
        #expect(mode == 0o600)
    }

    /// A node of a cluster: each answered call goes to the shared trail as the same JSON as its
    /// line; refused signatures do not; a shared trail that refuses it is reported, not hidden.
    @Test func aClusterNodeSharesTheCallsItAnswered() throws {
        let path = NSTemporaryDirectory() + "gwlb-audit-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let shared = Mutex<[String]>([]), down = Atomic<Bool>(false)
        struct Away: Error, CustomStringConvertible { var description: String { "connection refused" } }
        let trail = try AuditTrail(path: path) { record in
            if down.load(ordering: .relaxed) { throw Away() }
            shared.withLock { $0.append(record) }
        }
        let caller = AuditCaller(type: "LocalUser", principalId: "uid:0", sourceIPAddress: "unix:/run/gwlb/gwlb.sock", userAgent: "gwlb-cli")
        let event = AuditEvent(eventName: "RegisterTargets", caller: caller, region: "eu-west-1", account: "111122223333",
                               requestParameters: ["targetGroupArn": "arn:tg"], responseElements: [:], requestID: "r-1", readOnly: false)
        #expect(trail.record(event) == nil)
        #expect(trail.recordRefusal(Self.refusal(caller)))
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(lines.count == 2 && shared.withLock { $0 } == [lines[0]], "the answered call, as its line; not the refusal")
        down.store(true, ordering: .relaxed)
        #expect(trail.record(event) == "the cluster's shared audit trail: connection refused")
    }
}

@Suite(.blocking) struct AuditTrailLinkTests {
    /// Whoever can write the trail's directory cannot point it elsewhere with a link.
    @Test func aLinkAtThePathIsRefused() throws {
        let directory = NSTemporaryDirectory() + "gwlb-audit-link-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let target = directory + "/elsewhere"
        try Data().write(to: URL(fileURLWithPath: target))
        try FileManager.default.createSymbolicLink(atPath: directory + "/audit.log", withDestinationPath: target)
        #expect(throws: TelemetryFileError.self) { _ = try AuditTrail(path: directory + "/audit.log") }
    }
}
