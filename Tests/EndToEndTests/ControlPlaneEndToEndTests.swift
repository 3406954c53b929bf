import Foundation
import Lab
import Testing

/// gwlbd with `--state-dir`: AWS's getting-started calls over the Unix socket configure what the
/// data plane does, and a SIGKILLed gwlbd comes back with everything it acknowledged.
///
///   lab (client ─ router[gwlbd + API socket] ─ server, appliances 198.18.1.11-.13)
@Suite(.serialized) struct ControlPlaneEndToEndTests {
    @Test func apiConfiguresForwardingAndSurvivesSIGKILL() throws {
        let lab = try LabFixture(startDaemon: false)
        defer { lab.tearDown() }
        let prefix = lab.lab.prefix
        let state = "/tmp/\(prefix)-state", socket = "/tmp/\(prefix).sock", configuration = "/tmp/\(prefix)-api.json"
        defer { for path in [state, socket, configuration] { try? FileManager.default.removeItem(atPath: path) } }
        try """
            {"geneveAddress": "\(Lab.geneveAddress)", "loadBalancerName": "my-load-balancer", "workers": 2, "flowsPerWorker": 65536,
             "endpoints": [{"interface": "\(Lab.endpointInterface)", "endpointId": "\(Lab.endpointID)", "attachmentId": "\(Lab.attachmentID)"}]}
            """.write(toFile: configuration, atomically: true, encoding: .utf8)

        func startDaemon() throws -> Process {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["ip", "netns", "exec", lab.lab.router, LabFixture.binary("gwlbd"), "--config", configuration,
                                 "--state-dir", state, "--socket", socket]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            // Up when the API answers (a socket file alone may be a killed predecessor's).
            for _ in 0..<100 {
                let answer = try LabFixture.execute(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--unix-socket", socket,
                                                     "http://localhost/", "-d", "Action=DescribeLoadBalancers&Version=2015-12-01"]).output
                if answer == "200" { break }
                usleep(100_000)
            }
            return process
        }
        func call(_ body: String) throws -> String {
            try LabFixture.execute(["curl", "-s", "--max-time", "5", "--unix-socket", socket, "http://localhost/", "-d", "Version=2015-12-01&" + body]).output
        }
        func value(_ element: String, in xml: String) -> String? {
            guard let start = xml.range(of: "<\(element)>"), let end = xml.range(of: "</\(element)>", range: start.upperBound..<xml.endIndex) else { return nil }
            return String(xml[start.upperBound..<end.lowerBound])
        }

        var daemon = try startDaemon()
        let attributes = try FileManager.default.attributesOfItem(atPath: socket)
        #expect((attributes[.posixPermissions] as? Int) == 0o660, "socket mode 0660")
        // Before any configuration, new flows have nowhere to go.
        #expect(try lab.run(lab.lab.client, ["ping", "-c", "1", "-W", "1", Lab.serverAddress]).status != 0)

        let lb = try #require(value("LoadBalancerArn", in: try call("Action=CreateLoadBalancer&Name=my-load-balancer&Type=gateway&Subnets.member.1=provider-subnet-id")))
        let tg = try #require(value("TargetGroupArn", in: try call("Action=CreateTargetGroup&Name=my-targets&Protocol=GENEVE&Port=6081&VpcId=provider-vpc-id")))
        _ = try call("Action=RegisterTargets&TargetGroupArn=\(tg)&Targets.member.1.Id=\(Lab.applianceAddress(1))&Targets.member.2.Id=\(Lab.applianceAddress(2))")
        #expect(value("ListenerArn", in: try call("Action=CreateListener&LoadBalancerArn=\(lb)&DefaultActions.member.1.Type=forward&DefaultActions.member.1.TargetGroupArn=\(tg)")) != nil)
        let health = try call("Action=DescribeTargetHealth&TargetGroupArn=\(tg)")
        #expect(health.components(separatedBy: "<State>initial</State>").count == 3, "\(health)")

        // While the targets are initial (nothing healthy yet), gwlb fails open to them.
        let ping = try lab.run(lab.lab.client, ["ping", "-c", "3", "-i", "0.2", "-W", "2", Lab.serverAddress])
        #expect(ping.output.contains("3 received"), "\(ping.output)")
        let seen = try (1...2).map { try lab.applianceStatistics($0)["returned"] as? Int ?? 0 }.reduce(0, +)
        let third = try lab.applianceStatistics(3)["returned"] as? Int
        #expect(seen >= 6 && third == 0, "only registered targets get traffic")

        // Real health checks (TCP to port 80, where the appliances answer), shortened: both healthy.
        _ = try call("Action=ModifyTargetGroup&TargetGroupArn=\(tg)&HealthCheckIntervalSeconds=5&HealthCheckTimeoutSeconds=2&HealthyThresholdCount=2&UnhealthyThresholdCount=2")
        func states() throws -> [String] {
            try call("Action=DescribeTargetHealth&TargetGroupArn=\(tg)").components(separatedBy: "<State>").dropFirst()
                .map { String($0.prefix { $0 != "<" }) }
        }
        /// The states once they are `expected`, or the last seen after 30 s.
        func waitFor(_ expected: [String]) throws -> [String] {
            var seen: [String] = []
            for _ in 0..<60 {
                seen = try states()
                if seen == expected { break }
                usleep(500_000)
            }
            return seen
        }
        #expect(try waitFor(["healthy", "healthy"]) == ["healthy", "healthy"])
        // Appliance 1 fails its checks (its TCP port closes): unhealthy, and new flows go to appliance 2 only.
        _ = try lab.run(lab.lab.router, ["curl", "-s", "-X", "POST", "http://\(Lab.applianceAddress(1)):\(Lab.applianceHealthPort)/health/fail"])
        _ = try call("Action=ModifyTargetGroup&TargetGroupArn=\(tg)&HealthCheckProtocol=HTTP&HealthCheckPath=/health")
        #expect(try waitFor(["unhealthy", "healthy"]) == ["unhealthy", "healthy"])
        try lab.python(lab.lab.client, "import socket\nfor p in range(40):\n s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b'x', ('\(Lab.serverAddress)', 7000 + p))")
        usleep(500_000)
        // (The server's ICMP port-unreachable answers belong to the earlier ping's flow and stay on its appliance.)
        func newFlows(_ number: Int) throws -> Int {
            try lab.applianceFlows(number).filter { flow in
                flow["protocol"] as? String == "udp" && [flow["portA"], flow["portB"]].contains { (7000..<7040).contains($0 as? Int ?? 0) }
            }.count
        }
        #expect(try newFlows(1) == 0, "a new flow went to the unhealthy appliance")
        #expect(try newFlows(2) == 40)

        // SIGKILL, restart: the configuration is back, and so is forwarding.
        kill(daemon.processIdentifier, SIGKILL)
        daemon.waitUntilExit()
        daemon = try startDaemon()
        defer { daemon.terminate(); daemon.waitUntilExit() }
        let described = try call("Action=DescribeTargetGroups&LoadBalancerArn=\(lb)")
        #expect(value("TargetGroupArn", in: described) == tg, "\(described)")
        let again = try lab.run(lab.lab.client, ["ping", "-c", "2", "-i", "0.2", "-W", "2", Lab.serverAddress])
        #expect(again.output.contains("2 received"), "\(again.output)")
        // A second gwlbd on the same socket (with a GENEVE port of its own) refuses to start.
        let second = "/tmp/\(prefix)-second.json"
        defer { try? FileManager.default.removeItem(atPath: second) }
        try """
            {"geneveAddress": "\(Lab.geneveAddress)", "genevePort": 6082, "loadBalancerName": "other",
             "endpoints": [{"interface": "gwlbe9", "endpointId": "0x9", "attachmentId": "0x9"}]}
            """.write(toFile: second, atomically: true, encoding: .utf8)
        let refused = try lab.run(lab.lab.router, [LabFixture.binary("gwlbd"), "--config", second, "--state-dir", state + "2", "--socket", socket])
        #expect(refused.status == 1 && refused.output.contains("another gwlbd is running on \(socket)"), "\(refused.output)")
        try? FileManager.default.removeItem(atPath: state + "2")
    }
}
