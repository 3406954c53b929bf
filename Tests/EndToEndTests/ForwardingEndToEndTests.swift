import Foundation
import Lab
import Testing
import TestTraits

/// gwlbd on real TUN devices and sockets, with the reference appliances, in network namespaces.
/// Each test builds its own lab (LabFixture) and removes it, also on failure.
@Suite(.serialized, .blocking) struct ForwardingEndToEndTests {
    @Test func pingTCPAndUDPCrossTheAppliancesInBothFamilies() throws {
        let lab = try LabFixture()
        defer { lab.tearDown() }
        let client = lab.lab.client, server = lab.lab.server
        for address in [Lab.serverAddress, Lab.serverAddress6] {
            let ping = try lab.run(client, ["ping", "-c", "3", "-i", "0.2", "-W", "2", address])
            #expect(ping.status == 0 && ping.output.contains("3 received"), "ping \(address): \(ping.output)")
        }
        try lab.serve(server, ["python3", "-m", "http.server", "80", "--bind", "::"], port: 80)
        try lab.serve(server, ["python3", "-c", Programs.udpEcho, "::", "5001"], port: 5001, udp: true)
        for address in [Lab.serverAddress, "[\(Lab.serverAddress6)]"] {
            let curl = try lab.run(client, ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5", "--retry", "2",
                                            "http://\(address):80/"])
            #expect(curl.output == "200", "TCP via \(address): \(curl.output)")
        }
        for address in [Lab.serverAddress, Lab.serverAddress6] {
            let udp = try lab.python(client, Programs.udpClients, arguments: [address, "5001", "5", "2"])
            #expect(udp.output.trimmingCharacters(in: .whitespacesAndNewlines) == "10", "UDP via \(address): \(udp.output)")
        }
        // It went through gwlbd and the appliances, not around them. (gwlbd's counters reach its
        // statistics file within a second or two: read until they settle.)
        let seen = try (1...3).map { try lab.applianceStatistics($0)["returned"] as? Int ?? 0 }.reduce(0, +)
        var statistics: [String: Any] = [:]
        var returned = 0
        for _ in 0..<5 where returned != seen {
            statistics = try lab.statistics()
            returned = (statistics["targets"] as? [[String: Any]] ?? []).map { $0["packetsFromTarget"] as? Int ?? 0 }.reduce(0, +)
        }
        #expect(returned >= 2 * (6 + 20), "packets back from appliances: \(returned)")
        #expect(seen == returned, "what the appliances returned is what gwlbd accepted")
        #expect((statistics["drops"] as? [String: Int] ?? [:]).values.reduce(0, +) == 0)
    }

    /// Every packet of a flow, both directions, reaches exactly one appliance; 300 flows spread
    /// over three with none above 45 %.
    @Test func everyFlowStaysOnOneApplianceAndFlowsSpread() throws {
        let lab = try LabFixture()
        defer { lab.tearDown() }
        try lab.serve(lab.lab.server, ["python3", "-c", Programs.udpEcho, "0.0.0.0", "5002"], port: 5002, udp: true)
        let answered = try lab.python(lab.lab.client, Programs.udpClients, arguments: [Lab.serverAddress, "5002", "300", "2"])
        #expect(answered.output.trimmingCharacters(in: .whitespacesAndNewlines) == "600")
        var appliancesByFlow: [Int: [Int]] = [:]
        var packetsByFlow: [Int: Int] = [:]
        var flowsPerAppliance: [Int] = []
        for number in 1...3 {
            let flows = try lab.applianceFlows(number).filter { $0["protocol"] as? String == "udp" && ($0["portA"] as? Int == 5002 || $0["portB"] as? Int == 5002) }
            flowsPerAppliance.append(flows.count)
            for flow in flows {
                let clientPort = (flow["portA"] as? Int == 5002 ? flow["portB"] : flow["portA"]) as? Int ?? 0
                appliancesByFlow[clientPort, default: []].append(number)
                packetsByFlow[clientPort, default: 0] += flow["packets"] as? Int ?? 0
            }
        }
        #expect(appliancesByFlow.count == 300)
        #expect(appliancesByFlow.values.allSatisfy { $0.count == 1 }, "a flow seen by two appliances")
        #expect(packetsByFlow.values.allSatisfy { $0 == 4 }, "2 datagrams and 2 echoes per flow, all on its appliance")
        for count in flowsPerAppliance { #expect(Double(count) / 300 <= 0.45, "spread \(flowsPerAppliance)") }
    }

    /// 8,500 bytes pass; 8,501 are dropped as oversize, and gwlbd (not the router's kernel)
    /// answers with ICMP "fragmentation needed" naming 8,500. (Turning that off, AWS's silent
    /// drop, is `OffloadEndToEndTests.pathMTUDiscoveryCanBeTurnedOff`.)
    @Test func innerPacketsAbove8500BytesAreDroppedWithFragmentationNeeded() throws {
        let lab = try LabFixture()
        defer { lab.tearDown() }
        let unreachablesBefore = try icmpOutDestinationUnreachables(lab)
        // ping -s N sends N + 8 (ICMP) + 20 (IPv4) bytes.
        let fits = try lab.run(lab.lab.client, ["ping", "-c", "1", "-W", "2", "-M", "do", "-s", "8472", Lab.serverAddress])
        #expect(fits.output.contains("1 received"), "\(fits.output)")
        let tooBig = try lab.run(lab.lab.client, ["ping", "-c", "1", "-W", "2", "-M", "do", "-s", "8473", Lab.serverAddress])
        #expect(tooBig.output.contains("0 received"), "\(tooBig.output)")
        #expect(tooBig.output.contains("Frag needed and DF set (mtu = 8500)"), "\(tooBig.output)")
        #expect(try lab.drops("oversize", settlingAt: 1) == 1)
        #expect(try icmpOutDestinationUnreachables(lab) == unreachablesBefore, "the router's kernel sent ICMP")
        #expect(try lab.statistics()["packetTooBigSent"] as? Int == 1)
        let drop = try #require((try lab.statistics()["recentDrops"] as? [[String: Any]])?.last)
        #expect(drop["reason"] as? String == "oversize" && drop["size"] as? Int == 8501)
    }

    func icmpOutDestinationUnreachables(_ lab: LabFixture) throws -> Int {
        let snmp = try lab.run(lab.lab.router, ["cat", "/proc/net/snmp"]).output.split(separator: "\n").filter { $0.hasPrefix("Icmp:") }
        let names = snmp[0].split(separator: " "), values = snmp[1].split(separator: " ")
        return Int(values[names.firstIndex(of: "OutDestUnreachs")!])!
    }

    /// An appliance rule (drop TCP 23) blocks that traffic and nothing else.
    @Test func applianceRuleBlocksOnlyItsTraffic() throws {
        let lab = try LabFixture(rules: ["tcp:23"])
        defer { lab.tearDown() }
        try lab.serve(lab.lab.server, ["python3", "-m", "http.server", "80"], port: 80)
        try lab.serve(lab.lab.server, ["python3", "-m", "http.server", "23"], port: 23)
        let allowed = try lab.run(lab.lab.client, ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5", "http://\(Lab.serverAddress):80/"])
        #expect(allowed.output == "200")
        let blocked = try lab.run(lab.lab.client, ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "3", "http://\(Lab.serverAddress):23/"])
        #expect(blocked.output == "000", "port 23 got through: \(blocked.output)")
        let droppedByRule = try (1...3).map { try lab.applianceStatistics($0)["droppedByRule"] as? Int ?? 0 }.reduce(0, +)
        #expect(droppedByRule >= 1)
        #expect(try lab.run(lab.lab.client, ["ping", "-c", "1", "-W", "2", Lab.serverAddress]).status == 0)
    }

    /// Return packets with a changed cookie, a wrong endpoint id, or from an address that is not
    /// the flow's target are dropped with their reasons, and forwarding goes on.
    @Test func forgedReturnsAreDroppedAndForwardingGoesOn() throws {
        let lab = try LabFixture()
        defer { lab.tearDown() }
        #expect(try lab.run(lab.lab.client, ["ping", "-c", "1", "-W", "2", Lab.serverAddress]).status == 0)
        let owner = try #require(try (1...3).first { number in try lab.applianceFlows(number).contains { $0["protocol"] as? String == "icmp" } })
        let other = owner % 3 + 1
        let last = try lab.run(lab.lab.router, ["curl", "-sf", "http://\(Lab.applianceAddress(owner)):\(Lab.applianceHealthPort)/last"])
        let genuine = last.output.trimmingCharacters(in: .whitespacesAndNewlines)
        try #require(genuine.count > 80, "no GENEVE datagram captured: \(last.output)")
        func flipped(byte offset: Int) -> String {
            var bytes = Array(genuine)
            let index = offset * 2
            bytes[index] = bytes[index] == "0" ? "1" : "0"
            return String(bytes)
        }
        try lab.python(lab.lab.appliance(owner), Programs.sendDatagram, arguments: [flipped(byte: 39)])   // cookie
        try lab.python(lab.lab.appliance(owner), Programs.sendDatagram, arguments: [flipped(byte: 19)])   // endpoint id
        try lab.python(lab.lab.appliance(other), Programs.sendDatagram, arguments: [genuine])              // not the target
        usleep(300_000)
        #expect(try lab.drops("unknown_flow", settlingAt: 1) == 1)
        #expect(try lab.drops("unknown_endpoint", settlingAt: 1) == 1)
        #expect(try lab.drops("return_from_non_target", settlingAt: 1) == 1)
        let ping = try lab.run(lab.lab.client, ["ping", "-c", "2", "-i", "0.2", "-W", "2", Lab.serverAddress])
        #expect(ping.output.contains("2 received"), "forwarding stopped: \(ping.output)")
    }

    /// A frame gwlbd sends, decoded by tshark's GENEVE dissector (a parser we did not write).
    @Test func tsharkDecodesTheFramesAsAWSGeneve() throws {
        let lab = try LabFixture(appliances: 1)
        defer { lab.tearDown() }
        let capture = "/tmp/\(lab.lab.prefix).pcapng"
        defer { try? FileManager.default.removeItem(atPath: capture) }
        let tshark = try lab.captureGeneve(count: 1, seconds: 15, to: capture)
        for _ in 0..<10 where tshark.isRunning {
            _ = try lab.run(lab.lab.client, ["ping", "-c", "1", "-W", "1", "-s", "100", Lab.serverAddress])
        }
        tshark.waitUntilExit()
        let decoded = try LabFixture.execute(["tshark", "-r", capture, "-V", "-d", "udp.port==6081,geneve"]).output
        let lines = decoded.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(lines.contains("Version: 0"), "\(decoded)")
        #expect(lines.contains("Length: 32 bytes"), "option length 8 words")
        let classes = lines.filter { $0 == "Class: Amazon.com, Inc. (0x0108)" }
        #expect(classes.count == 3)
        let types = lines.filter { $0.hasPrefix("Type: 0x0") }
        #expect(types == ["Type: 0x01 (Non-critical)", "Type: 0x02 (Non-critical)", "Type: 0x03 (Non-critical)"])
        let totals = lines.filter { $0.hasPrefix("Total Length: ") }.compactMap { Int($0.dropFirst("Total Length: ".count)) }
        try #require(totals.count == 2, "outer and inner IPv4 headers: \(totals)")
        #expect(totals[0] == totals[1] + 68)
    }
}
