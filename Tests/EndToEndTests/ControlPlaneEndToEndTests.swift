import Foundation
import Lab
import Testing
import TestTraits

/// gwlbd in the API form (`--state-dir`, no configuration file): AWS's getting-started calls with
/// the real `gwlb` CLI configure what the data plane does, health checks steer new flows, and a
/// SIGKILLed gwlbd comes back with everything it acknowledged.
///
///   lab (client ─ router[gwlbd + API socket] ─ server, appliances 198.18.1.11-.13)
@Suite(.serialized, .blocking) struct ControlPlaneEndToEndTests {
    @Test func apiConfiguresForwardingAndSurvivesSIGKILL() throws {
        let api = try APIDaemonFixture()
        defer { api.tearDown() }
        let lab = api.lab
        try api.start()
        let attributes = try FileManager.default.attributesOfItem(atPath: api.socket)
        #expect((attributes[.posixPermissions] as? Int) == 0o660, "socket mode 0660")
        // Before any configuration there is no endpoint: the lab's routes lead nowhere.
        #expect(try lab.run(lab.lab.client, ["ping", "-c", "1", "-W", "1", Lab.serverAddress]).status != 0)

        let (lb, tg) = try api.gettingStarted(targets: [1, 2])
        let health = try api.health(tg)
        #expect(health.keys.sorted() == [Lab.applianceAddress(1), Lab.applianceAddress(2)])
        #expect(health.values.allSatisfy { $0.state == "initial" }, "\(health)")
        let endpoints = try api.json(["describe-endpoints"])["Endpoints"] as? [[String: Any]]
        #expect(endpoints?.first?["Interface"] as? String == Lab.endpointInterface)

        // While the targets are initial (nothing healthy yet), gwlb fails open to them.
        let ping = try lab.run(lab.lab.client, ["ping", "-c", "3", "-i", "0.2", "-W", "2", Lab.serverAddress])
        #expect(ping.output.contains("3 received"), "\(ping.output)")
        let seen = try (1...2).map { try lab.applianceStatistics($0)["returned"] as? Int ?? 0 }.reduce(0, +)
        let third = try lab.applianceStatistics(3)["returned"] as? Int
        #expect(seen >= 6 && third == 0, "only registered targets get traffic")

        // Real health checks (TCP to port 80, where the appliances answer), shortened: both healthy.
        _ = try api.json(["modify-target-group", "--target-group-arn", tg, "--health-check-interval-seconds", "5",
                          "--health-check-timeout-seconds", "2", "--healthy-threshold-count", "2", "--unhealthy-threshold-count", "2"])
        func states() throws -> [String] { try api.health(tg).sorted { $0.key < $1.key }.map(\.value.state) }
        #expect(try APIDaemonFixture.eventually(30) { try states() == ["healthy", "healthy"] }, "\((try? states()) ?? [])")
        // Appliance 1 fails its HTTP checks: unhealthy, and new flows go to appliance 2 only.
        _ = try lab.run(lab.lab.router, ["curl", "-s", "-X", "POST", "http://\(Lab.applianceAddress(1)):\(Lab.applianceHealthPort)/health/fail"])
        _ = try api.json(["modify-target-group", "--target-group-arn", tg, "--health-check-protocol", "HTTP", "--health-check-path", "/health"])
        #expect(try APIDaemonFixture.eventually(30) { try states() == ["unhealthy", "healthy"] }, "\((try? states()) ?? [])")
        #expect(try api.health(tg)[Lab.applianceAddress(1)]?.reason == "Target.ResponseCodeMismatch")
        try lab.sendNewUDPFlows()
        // (The server's ICMP port-unreachable answers belong to the earlier ping's flow and stay on its appliance.)
        #expect(try lab.newUDPFlows(on: 1) == 0, "a new flow went to the unhealthy appliance")
        #expect(try lab.newUDPFlows(on: 2) == 40)

        // SIGKILL mid-traffic (a ping every 0.1 s crosses it), restart: the configuration is back
        // (endpoint included), and so is forwarding, for the running ping as for new flows.
        let pinger = try ChildProcess(["ip", "netns", "exec", lab.lab.client, "ping", "-n", "-c", "150", "-i", "0.1", "-W", "1", Lab.serverAddress],
                                      output: .pipe)
        usleep(1_500_000)
        api.kill()
        try api.start()
        let pingOutput = String(decoding: pinger.standardOutput!.readDataToEndOfFile(), as: UTF8.self)
        pinger.waitUntilExit()
        let answered = pingOutput.split(separator: "\n").compactMap { line in
            line.split(separator: " ").first { $0.hasPrefix("icmp_seq=") }.flatMap { Int($0.dropFirst("icmp_seq=".count)) }
        }
        #expect(answered.contains { $0 <= 10 } && answered.contains { $0 > 120 }, "answered before the kill and after the restart: \(answered)")
        let described = try api.json(["describe-target-groups", "--load-balancer-arn", lb])
        #expect(try APIDaemonFixture.first(described, "TargetGroups", "TargetGroupArn") == tg)
        let again = try lab.run(lab.lab.client, ["ping", "-c", "2", "-i", "0.2", "-W", "2", Lab.serverAddress])
        #expect(again.output.contains("2 received"), "\(again.output)")
        // A second gwlbd on the same socket (with a GENEVE port of its own) refuses to start.
        let second = "/tmp/\(lab.lab.prefix)-second.json"
        defer { try? FileManager.default.removeItem(atPath: second) }
        try #"{"geneveAddress": "\#(Lab.geneveAddress)", "genevePort": 6082}"#.write(toFile: second, atomically: true, encoding: .utf8)
        let refused = try lab.run(lab.lab.router, [LabFixture.binary("gwlbd"), "--config", second, "--state-dir", api.state + "2", "--socket", api.socket])
        #expect(refused.status == 1 && refused.output.contains("another gwlbd is running on \(api.socket)"), "\(refused.output)")
        try? FileManager.default.removeItem(atPath: api.state + "2")
        // Deleting the endpoint detaches gwlbd from the lab's device (made with `ip tuntap`, so it
        // stays); the lab's routes lead nowhere again.
        _ = try api.json(["delete-endpoint", "--endpoint-id", Lab.endpointID])
        #expect(try lab.run(lab.lab.client, ["ping", "-c", "1", "-W", "1", Lab.serverAddress]).status != 0)
        #expect(try lab.run(lab.lab.router, ["ip", "link", "show", Lab.endpointInterface]).status == 0, "the operator's device stays")
        // A device gwlbd made for an endpoint is persistent, marked, and goes with the endpoint.
        let made = try APIDaemonFixture.first(try api.json(["create-endpoint", "--load-balancer-arn", lb, "--interface", "gwlbmade0"]),
                                              "Endpoints", "EndpointId")
        #expect(try lab.run(lab.lab.router, ["ip", "link", "show", "gwlbmade0"]).output.contains("alias gwlbd endpoint"))
        _ = try api.json(["delete-endpoint", "--endpoint-id", made])
        #expect(try APIDaemonFixture.eventually(5) { try lab.run(lab.lab.router, ["ip", "link", "show", "gwlbmade0"]).status != 0 },
                "delete-endpoint left the device gwlbd made")
    }
}
