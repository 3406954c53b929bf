import Foundation
import Lab
import Testing
import TestTraits

/// `gwlb deregister-targets --dry-run` against a live gwlbd: the flows it counts on the target are
/// the ones `gwlb flows` lists there, nothing changes, and the real call's audit record keeps the
/// same preview. Real gwlbd, real flows, the gwlb CLI (its `--query` included).
@Suite(.serialized, .blocking) struct DryRunEndToEndTests {
    @Test func aDryRunCountsTheLiveFlowsAndChangesNothing() throws {
        let api = try APIDaemonFixture()
        defer { api.tearDown() }
        let lab = api.lab
        try api.start()
        let (_, tg) = try api.gettingStarted(targets: [1, 2, 3])
        try lab.serve(lab.lab.server, ["python3", "-c", Programs.udpEcho, Lab.serverAddress, "5001"], port: 5001, udp: true)
        try lab.python(lab.lab.client, "import socket\nfor p in range(60):\n s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('', 30000 + p)); s.sendto(b'x', ('\(Lab.serverAddress)', 5001))")
        let target = Lab.applianceAddress(1)
        func flowsOnTarget() throws -> Int { (try api.json(["flows", "--target", target, "--output", "json"])["flows"] as? [[String: Any]])?.count ?? -1 }
        #expect(try APIDaemonFixture.eventually(5) { try flowsOnTarget() > 0 })
        let listed = try flowsOnTarget()

        let dry = try api.json(["deregister-targets", "--target-group-arn", tg, "--targets", "Id=\(target)", "--dry-run"])
        #expect(dry["DryRun"] as? Bool == true)
        let row = try #require(((dry["Preview"] as? [String: Any])?["Targets"] as? [[String: Any]])?.first, "\(dry)")
        #expect(row["ActiveFlows"] as? Int == listed, "the preview counts what gwlb flows lists: \(row)")
        #expect(row["AtDrainEnd"] as? String == "stay")
        let moved = (row["FlowsByMaglevTarget"] as? [[String: Any]] ?? []).compactMap { $0["Flows"] as? Int }.reduce(0, +)
        #expect(moved == listed)
        // Global options first, as `aws --output text --query … elbv2 …` takes them.
        let queried = try LabFixture.execute([LabFixture.binary("gwlb"), "--socket", api.socket, "--output", "text", "--query", "Preview.Targets[0].ActiveFlows",
                                              "elbv2", "deregister-targets", "--target-group-arn", tg, "--targets", "Id=\(target)", "--dry-run"])
        #expect(queried.output.trimmingCharacters(in: .whitespacesAndNewlines) == String(listed), "\(queried.output)")
        #expect(try api.health(tg)[target]?.state != "draining", "a dry run changes nothing")

        _ = try api.gwlb(["deregister-targets", "--target-group-arn", tg, "--targets", "Id=\(target)"])
        #expect(try api.health(tg)[target]?.state == "draining")
        let event = try #require(try api.auditEvents().last { $0["eventName"] as? String == "DeregisterTargets" && ($0["requestParameters"] as? [String: Any])?["dryRun"] == nil })
        let audited = ((event["responseElements"] as? [String: Any])?["deregistrationPreview"] as? [String: Any])?["targets"] as? [[String: Any]]
        #expect(audited?.first?["activeFlows"] as? String == String(listed), "\(event)")
    }
}
