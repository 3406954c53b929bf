import Foundation
import Lab
import Testing
import TestTraits

/// Registering, deregistering, draining, rebalance and TCP resets, in the lab with the real `gwlb`
/// CLI: where new and existing flows go, as the appliances' own counters see it.
@Suite(.serialized, .blocking) struct DrainingEndToEndTests {
    /// UDP datagrams from the client to the server's port 7000, one flow per source port.
    func send(_ lab: LabFixture, from ports: [Int]) throws {
        try lab.python(lab.lab.client, """
            import socket
            for p in \(ports):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind(('', p)); s.sendto(b'x', ('\(Lab.serverAddress)', 7000)); s.close()
            """)
        usleep(300_000)
    }

    /// Source port → packets, for the UDP flows to port 7000 that appliance `number` saw.
    func flows(_ lab: LabFixture, _ number: Int) throws -> [Int: Int] {
        var result: [Int: Int] = [:]
        for flow in try lab.applianceFlows(number) where flow["protocol"] as? String == "udp" {
            let ports = [flow["portA"] as? Int ?? 0, flow["portB"] as? Int ?? 0]
            guard ports.contains(7000), let source = ports.first(where: { $0 != 7000 }) else { continue }
            result[source] = flow["packets"] as? Int ?? 0
        }
        return result
    }

    /// The appliance (1-based) gwlbd says the flow from `port` is pinned to, by GET /v1/flows.
    func pinned(_ api: APIDaemonFixture, port: Int) throws -> Int? {
        let rows = try api.observe("/v1/flows?port=\(port)")["flows"] as? [[String: Any]] ?? []
        guard let target = rows.first?["target"] as? String else { return nil }
        return (1...3).first { Lab.applianceAddress($0) == target }
    }

    @Test func registerAndDeregisterSteerNewFlowsWhileDrainingKeepsOldOnes() throws {
        let api = try APIDaemonFixture()
        defer { api.tearDown() }
        let lab = api.lab
        try api.start()
        let (_, tg) = try api.gettingStarted(targets: [1])
        try send(lab, from: Array(20000..<20020))
        #expect(try flows(lab, 1).keys.filter { $0 < 20100 }.count == 20, "one target: every flow on it")

        // Registered targets take new flows (initial everywhere: fail-open spreads them over all three).
        try api.register(tg, [2, 3])
        try send(lab, from: Array(20100..<20190))
        for number in 2...3 { #expect(try flows(lab, number).keys.contains { (20100..<20190).contains($0) }, "appliance \(number) got new flows") }

        // Deregistered: draining for the delay (300 s by default), no new flows, old flows stay.
        try api.deregister(tg, [1])
        let health = try api.health(tg)
        #expect(health[Lab.applianceAddress(1)]?.state == "draining")
        #expect(health[Lab.applianceAddress(1)]?.reason == "Target.DeregistrationInProgress")
        try send(lab, from: Array(20200..<20240))
        #expect(try flows(lab, 1).keys.filter { (20200..<20240).contains($0) }.isEmpty, "a new flow went to the draining target")
        #expect(try (2...3).map { try flows(lab, $0).keys.filter { (20200..<20240).contains($0) }.count }.reduce(0, +) == 40)
        try send(lab, from: [20000])
        #expect(try flows(lab, 1)[20000] == 2, "an existing flow keeps its draining target")
        // gwlbd's own answer to "where does this flow go" is what the appliance saw.
        #expect(try pinned(api, port: 20000) == 1)
        let stats = try api.observe("/v1/stats")
        #expect(((stats["snapshot"] as? [String: Any])?["version"] as? Int ?? 0) > 1)
    }

    @Test func drainingEndsAfterTheDelayAndRebalanceMovesTheFlow() throws {
        let api = try APIDaemonFixture()
        defer { api.tearDown() }
        let lab = api.lab
        try api.start()
        let (_, tg) = try api.gettingStarted(targets: [1, 2], attributes: [
            "Key=deregistration_delay.timeout_seconds,Value=3", "Key=target_failover.on_deregistration,Value=rebalance",
            "Key=target_failover.on_unhealthy,Value=rebalance",
        ])
        // Rebalance moves flows to healthy targets: make them healthy quickly.
        _ = try api.json(["modify-target-group", "--target-group-arn", tg, "--health-check-interval-seconds", "5",
                          "--health-check-timeout-seconds", "2", "--healthy-threshold-count", "2"])
        #expect(try APIDaemonFixture.eventually(30) { try api.health(tg).values.allSatisfy { $0.state == "healthy" } })
        try send(lab, from: [21000])
        let first = try #require(try pinned(api, port: 21000))
        let other = first == 1 ? 2 : 1
        try api.deregister(tg, [first])
        #expect(try api.health(tg)[Lab.applianceAddress(first)]?.state == "draining")
        try send(lab, from: [21000])
        #expect(try flows(lab, first)[21000] == 2, "during the delay the flow stays")
        // After the delay the target leaves the group: unused, and the flow moves to the other one.
        #expect(try APIDaemonFixture.eventually(10) { try api.health(tg, asking: [first])[Lab.applianceAddress(first)]?.state == "unused" })
        #expect(try api.health(tg, asking: [first])[Lab.applianceAddress(first)]?.reason == "Target.NotRegistered")
        #expect(try api.health(tg).keys.sorted() == [Lab.applianceAddress(other)])
        try send(lab, from: [21000])
        #expect(try flows(lab, other)[21000] == 1, "rebalanced to the healthy target")
        #expect(try flows(lab, first)[21000] == 2)
        #expect(try pinned(api, port: 21000) == other)
    }

    @Test func resetOnDeregistrationResetsTheClientsConnection() throws {
        let api = try APIDaemonFixture()
        defer { api.tearDown() }
        let lab = api.lab
        try api.start()
        let (_, tg) = try api.gettingStarted(targets: [1, 2], attributes: [
            "Key=deregistration_delay.timeout_seconds,Value=1", "Key=send_tcp_reset.on_deregistration.enabled,Value=true",
        ])
        let output = "/tmp/\(lab.lab.prefix)-tcp.out"
        defer { try? FileManager.default.removeItem(atPath: output) }
        try lab.serve(lab.lab.server, ["python3", "-c", """
            import socket
            s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('', 7100)); s.listen()
            while True:
                c, _ = s.accept()
                while (d := c.recv(100)): c.sendall(d)
            """], port: 7100)
        try lab.background(lab.lab.client, ["python3", "-c", """
            import socket, time
            out = open('\(output)', 'w')
            c = socket.create_connection(('\(Lab.serverAddress)', 7100), timeout=5)
            c.sendall(b'a'); out.write('connected ' + c.recv(10).decode() + '\\n'); out.flush()
            time.sleep(6)
            try:
                c.sendall(b'b'); out.write('answered ' + repr(c.recv(10)) + '\\n')
            except ConnectionResetError:
                out.write('reset\\n')
            out.close()
            """])
        func lines() -> [Substring] { ((try? String(contentsOfFile: output, encoding: .utf8)) ?? "").split(separator: "\n") }
        #expect(APIDaemonFixture.eventually(5) { lines().first == "connected a" })
        let target = try #require(try pinned(api, port: 7100))
        try api.deregister(tg, [target])
        #expect(APIDaemonFixture.eventually(10) { lines().count == 2 })
        #expect(lines().last == "reset", "\(lines())")
        #expect(try APIDaemonFixture.eventually(3) { (try api.observe("/v1/stats")["resetsSent"] as? Int ?? 0) >= 1 })
    }
}
