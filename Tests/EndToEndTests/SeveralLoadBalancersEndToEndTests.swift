import Foundation
import Lab
import Testing
import TestTraits

/// Two load balancers in one gwlbd, as AWS accounts run an east-west and an egress one: "east"
/// owns the lab's endpoint gwlbe0 and appliances 1 and 2; "west" owns an endpoint gwlbd creates,
/// gwlbe1, and appliances 2 and 3 (appliance 2 serves both, checked by each group's own health
/// check). The router sends the client's second address, 198.18.10.3, through gwlbe1 both ways.
/// Each load balancer's traffic reaches only its own appliances; deleting west leaves east's
/// running traffic, health and series untouched.
@Suite(.serialized, .blocking) struct SeveralLoadBalancersEndToEndTests {
    static let westClient = "198.18.10.3"

    @Test func twoLoadBalancersKeepTheirTrafficApart() throws {
        let api = try APIDaemonFixture()
        defer { api.tearDown() }
        let lab = api.lab
        try api.start(extra: ["--metrics-listen", "127.0.0.1:9108"])
        let (_, eastGroup) = try api.gettingStarted(targets: [1, 2])
        let west = try APIDaemonFixture.first(api.json(["create-load-balancer", "--name", "west", "--type", "gateway"]), "LoadBalancers", "LoadBalancerArn")
        let westGroup = try APIDaemonFixture.first(api.json(["create-target-group", "--name", "west-targets", "--protocol", "GENEVE", "--port", "6081"]),
                                                   "TargetGroups", "TargetGroupArn")
        try api.register(westGroup, [2, 3])
        let listener = try APIDaemonFixture.first(api.json(["create-listener", "--load-balancer-arn", west,
                                                            "--default-actions", "Type=forward,TargetGroupArn=\(westGroup)"]), "Listeners", "ListenerArn")
        let endpoint = try APIDaemonFixture.first(api.json(["create-endpoint", "--load-balancer-arn", west, "--interface", "gwlbe1"]),
                                                  "Endpoints", "EndpointId")
        // The router's route tables for west: the client's second address in through gwlbe1, its returns too.
        for command in [["rule", "add", "from", Self.westClient, "iif", "uplink", "lookup", "110", "priority", "99"],
                        ["route", "add", "198.18.20.0/24", "dev", "gwlbe1", "table", "110"],
                        ["route", "add", "\(Self.westClient)/32", "dev", "gwlbe1", "table", "101"]] {
            let result = try lab.run(lab.lab.router, ["ip"] + command)
            try #require(result.status == 0, "ip \(command.joined(separator: " ")): \(result.output)")
        }
        _ = try lab.run(lab.lab.client, ["ip", "address", "add", "\(Self.westClient)/24", "dev", "eth0"])
        let balancers = try api.json(["describe-load-balancers"])["LoadBalancers"] as? [[String: Any]] ?? []
        #expect(balancers.compactMap { $0["LoadBalancerName"] as? String }.sorted() == ["my-load-balancer", "west"])

        // Each group checks appliance 2 its own way: east over TCP (it answers), west over HTTP on
        // a path appliance 2 fails. Appliance 2 is healthy in east and unhealthy in west.
        _ = try lab.run(lab.lab.router, ["curl", "-s", "-X", "POST", "http://\(Lab.applianceAddress(2)):\(Lab.applianceHealthPort)/health/fail"])
        let quick = ["--health-check-interval-seconds", "5", "--health-check-timeout-seconds", "2", "--healthy-threshold-count", "2",
                     "--unhealthy-threshold-count", "2"]
        _ = try api.json(["modify-target-group", "--target-group-arn", eastGroup] + quick)
        _ = try api.json(["modify-target-group", "--target-group-arn", westGroup, "--health-check-protocol", "HTTP", "--health-check-path", "/health"] + quick)
        func states(_ group: String) throws -> [String] { try api.health(group).sorted { $0.key < $1.key }.map(\.value.state) }
        #expect(try APIDaemonFixture.eventually(40) { try states(eastGroup) == ["healthy", "healthy"] && states(westGroup) == ["unhealthy", "healthy"] },
                "east \((try? states(eastGroup)) ?? []), west \((try? states(westGroup)) ?? [])")

        // New flows: east's from 198.18.10.2 on appliances 1 and 2, west's from .3 on appliance 3 only.
        try sendUDPFlows(lab, from: Lab.clientAddress, firstPort: 7000)
        try sendUDPFlows(lab, from: Self.westClient, firstPort: 7100)
        let east = try (1...3).map { try lab.newUDPFlows(on: $0, firstPort: 7000) }
        let westFlows = try (1...3).map { try lab.newUDPFlows(on: $0, firstPort: 7100) }
        #expect(east[2] == 0 && east[0] + east[1] == 40 && east[0] > 0 && east[1] > 0, "east's flows: \(east)")
        #expect(westFlows == [0, 0, 40], "west's flows, its appliance 2 unhealthy: \(westFlows)")
        // gwlbd's own table agrees: west's flows entered by west's endpoint (slot 1).
        let listed = try api.observe("/v1/flows?address=\(Self.westClient)")["flows"] as? [[String: Any]] ?? []
        #expect(listed.count { $0["protocol"] as? String == "udp" } == 40 && listed.allSatisfy { $0["endpoint"] as? Int == 1 },
                "\(listed.count) flows: \(listed.prefix(3))")

        // The stream names both, each target row once per load balancer; the metrics carry each one's dimensions.
        let stream = try LabFixture.execute(["curl", "-sN", "--max-time", "2", "--unix-socket", api.socket, "http://localhost/v1/stream"]).output
        #expect(stream.contains("\"key\":\"west\\/\(Lab.applianceAddress(2))\"") || stream.contains("\"key\":\"west/\(Lab.applianceAddress(2))\""),
                "\(stream.prefix(1500))")
        #expect(stream.contains("\"key\":\"my-load-balancer\\/\(Lab.applianceAddress(2))\"") || stream.contains("\"key\":\"my-load-balancer/\(Lab.applianceAddress(2))\""))
        func healthyHosts() throws -> [String: Double] {
            let text = try lab.run(lab.lab.router, ["curl", "-sf", "--max-time", "3", "http://127.0.0.1:9108/metrics"]).output
            var result: [String: Double] = [:]
            for line in text.split(separator: "\n") where line.hasPrefix("gwlb_healthy_hosts{") {
                guard let name = line.split(separator: "\"").dropFirst().first?.split(separator: "/").dropFirst().first else { continue }
                result[String(name)] = line.split(separator: " ").last.flatMap { Double($0) }
            }
            return result
        }
        #expect(try APIDaemonFixture.eventually(5) { try healthyHosts() == ["my-load-balancer": 2, "west": 1] }, "\((try? healthyHosts()) ?? [:])")

        // West goes away while a ping crosses east: not one echo lost, east's health unchanged.
        let pinger = try ChildProcess(["ip", "netns", "exec", lab.lab.client, "ping", "-n", "-c", "40", "-i", "0.1", "-W", "1", Lab.serverAddress],
                                      output: .pipe)
        usleep(1_000_000)
        _ = try api.json(["delete-endpoint", "--endpoint-id", endpoint])
        _ = try api.json(["delete-listener", "--listener-arn", listener])
        _ = try api.json(["delete-load-balancer", "--load-balancer-arn", west])
        _ = try api.json(["delete-target-group", "--target-group-arn", westGroup])
        let output = String(decoding: pinger.standardOutput!.readDataToEndOfFile(), as: UTF8.self)
        pinger.waitUntilExit()
        #expect(output.contains("40 received"), "\(output)")
        #expect(try states(eastGroup) == ["healthy", "healthy"])
        #expect(try lab.run(lab.lab.router, ["ip", "link", "show", "gwlbe1"]).status != 0, "west's endpoint device is gone")
        try sendUDPFlows(lab, from: Lab.clientAddress, firstPort: 7200)
        #expect(try (1...2).map { try lab.newUDPFlows(on: $0, firstPort: 7200) }.reduce(0, +) == 40, "east takes new flows as before")
        #expect(try APIDaemonFixture.eventually(5) { try healthyHosts() == ["my-load-balancer": 2] }, "west's series left with it")
    }

    /// One UDP datagram from `source` to each of 40 server ports from `firstPort` on.
    func sendUDPFlows(_ lab: LabFixture, from source: String, firstPort: Int) throws {
        let program = "import socket\nfor p in range(40):\n s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('\(source)', 0)); s.sendto(b'x', ('\(Lab.serverAddress)', \(firstPort) + p))"
        _ = try lab.python(lab.lab.client, program)
        usleep(500_000)
    }
}
