import Foundation
import Lab
import Testing
import TestTraits

/// gwlbd's telemetry in the lab, after real traffic: Prometheus metrics that promtool accepts and
/// whose per-target counts are what the appliances counted themselves, and an audit trail with
/// every call of a scripted run.
@Suite(.serialized, .blocking) struct TelemetryEndToEndTests {
    /// A metric's value: the line that starts with `name{` and has every one of `labels`.
    static func value(_ text: String, _ name: String, _ labels: [String] = []) -> Double? {
        text.split(separator: "\n").first { line in
            line.hasPrefix(name + "{") && labels.allSatisfy { line.contains($0) }
        }.flatMap { Double($0.split(separator: " ").last!) }
    }

    @Test func metricsMatchTheAppliancesAndPassPromtool() throws {
        guard (try? LabFixture.execute(["promtool", "--version"]).status) == 0 else {
            throw LabFixture.Failure("this test needs promtool: apt-get install -y prometheus (as .ci/run does)")
        }
        let api = try APIDaemonFixture()
        defer { api.tearDown() }
        let lab = api.lab
        try api.start(extra: ["--metrics-listen", "127.0.0.1:9108"])
        let (_, tg) = try api.gettingStarted(targets: [1, 2, 3])
        _ = try api.json(["modify-target-group", "--target-group-arn", tg, "--health-check-interval-seconds", "5",
                          "--health-check-timeout-seconds", "2", "--healthy-threshold-count", "2"])
        #expect(try APIDaemonFixture.eventually(20) { try api.health(tg).values.allSatisfy { $0.state == "healthy" } })
        try lab.serve(lab.lab.server, ["python3", "-c", Programs.udpEcho, "0.0.0.0", "5002"], port: 5002, udp: true)
        let answered = try lab.python(lab.lab.client, Programs.udpClients, arguments: [Lab.serverAddress, "5002", "60", "2"])
        #expect(answered.output.trimmingCharacters(in: .whitespacesAndNewlines) == "120")
        let tooBig = try lab.run(lab.lab.client, ["ping", "-c", "1", "-W", "1", "-M", "do", "-s", "8473", Lab.serverAddress])
        #expect(tooBig.output.contains("0 received"))

        func scrape() throws -> String {
            try lab.run(lab.lab.router, ["curl", "-sf", "--max-time", "3", "http://127.0.0.1:9108/metrics"]).output
        }
        // Per target, what gwlbd sent and took back is what the appliance received and returned.
        func matchesTheAppliances() throws -> Bool {
            let text = try scrape()
            return try (1...3).allSatisfy { number in
                let appliance = try lab.applianceStatistics(number)
                let target = "target=\"\(Lab.applianceAddress(number))\""
                return Self.value(text, "gwlb_target_packets_total", [target, "to_target"]) == appliance["received"] as? Double
                    && Self.value(text, "gwlb_target_packets_total", [target, "from_target"]) == appliance["returned"] as? Double
            }
        }
        #expect(try APIDaemonFixture.eventually(5) { try matchesTheAppliances() }, "\((try? scrape()) ?? "")")
        let text = try scrape()
        let received = try (1...3).map { try lab.applianceStatistics($0)["received"] as? Int ?? 0 }
        #expect(received.allSatisfy { $0 > 0 }, "every appliance got traffic: \(received)")
        #expect(Self.value(text, "gwlb_new_flow_count_total") ?? 0 >= 60)
        #expect(Self.value(text, "gwlb_target_new_flows_total").map { _ in true } == true)
        #expect(Self.value(text, "gwlb_processed_packets_total") ?? 0 >= 241, "60 flows × 4 packets and the oversize one")
        #expect(Self.value(text, "gwlb_dropped_packets_total", ["reason=\"oversize\""]) == 1)
        #expect(Self.value(text, "gwlb_healthy_hosts") == 3)
        #expect(Self.value(text, "gwlb_unhealthy_hosts") == 0)
        #expect(Self.value(text, "gwlb_peak_packets_per_second") != nil)
        #expect(text.contains("load_balancer=\"gwy/my-load-balancer/"), "CloudWatch's LoadBalancer dimension")

        let check = try Shell.execute(["promtool", "check", "metrics"], input: text)
        #expect(check.status == 0, "promtool: \(check.output)\(check.errors)")
        // The same on the Unix socket.
        let local = try LabFixture.execute(["curl", "-sf", "--max-time", "3", "--unix-socket", api.socket, "http://localhost/metrics"]).output
        #expect(Self.value(local, "gwlb_healthy_hosts") == 3)

        // gwlb flows: each flow's target is the appliance that saw it.
        var applianceOf: [Int: String] = [:]
        for number in 1...3 {
            for flow in try lab.applianceFlows(number) where flow["protocol"] as? String == "udp" {
                let port = (flow["portA"] as? Int == 5002 ? flow["portB"] : flow["portA"]) as? Int ?? 0
                applianceOf[port] = Lab.applianceAddress(number)
            }
        }
        let listed = try api.gwlb(["flows", "--address", Lab.clientAddress, "--output", "json"])
        let flows = try #require(try JSONSerialization.jsonObject(with: Data(listed.output.utf8)) as? [String: Any])["flows"] as? [[String: Any]] ?? []
        let udp = flows.filter { $0["protocol"] as? String == "udp" }
        #expect(udp.count == 60, "\(listed.output.prefix(500))")
        for flow in udp {
            let port = (flow["portA"] as? Int == 5002 ? flow["portB"] : flow["portA"]) as? Int ?? 0
            #expect(flow["target"] as? String == applianceOf[port], "flow from port \(port)")
            #expect(flow["packets"] as? Int == 4 && flow["bytes"] as? Int == 240, "\(flow)")
        }
        let table = try api.gwlb(["flows", "--port", "5002"])
        #expect(table.status == 0 && table.output.hasPrefix("PROTO") && table.output.contains("60 flows"), "\(table.output)")
        let drops = try api.gwlb(["drops"])
        #expect(drops.output.split(separator: "\n").contains { $0.hasPrefix("oversize") && $0.hasSuffix(" 1") }, "\(drops.output)")
        #expect(drops.output.contains("recent drops") && drops.output.contains("\(Lab.clientAddress)"), "\(drops.output)")
        let bad = try api.gwlb(["flows", "--address", "not-an-address"])
        #expect(bad.status == 1 && bad.output.contains("is not an IPv4 or IPv6 address"), "\(bad.output)")
    }

    @Test func everyCallOfAScriptedRunIsInTheAuditTrail() throws {
        let api = try APIDaemonFixture(appliances: 3)
        defer { api.tearDown() }
        try api.start()
        let before = try api.auditEvents().count
        let (lb, tg) = try api.gettingStarted(targets: [1, 2])
        _ = try api.health(tg)
        let missing = try api.gwlb(["describe-target-groups", "--names", "nope"])
        #expect(missing.status != 0)
        let bad = try api.gwlb(["modify-target-group-attributes", "--target-group-arn", tg, "--attributes",
                                "Key=deregistration_delay.timeout_seconds,Value=99999"])
        #expect(bad.status != 0)
        try api.deregister(tg, [2])

        let events = Array(try api.auditEvents().dropFirst(before))
        #expect(events.map { $0["eventName"] as? String } == [
            "CreateLoadBalancer", "CreateTargetGroup", "RegisterTargets", "CreateListener", "CreateEndpoint",
            "DescribeTargetHealth", "DescribeTargetGroups", "ModifyTargetGroupAttributes", "DeregisterTargets",
        ])
        #expect(events.allSatisfy { $0["eventSource"] as? String == "elasticloadbalancing.amazonaws.com" && $0["userAgent"] as? String == "gwlb-cli" })
        let parameters = events.map { $0["requestParameters"] as? [String: Any] ?? [:] }
        #expect(parameters[0]["name"] as? String == "my-load-balancer")
        #expect((parameters[2]["targets"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [Lab.applianceAddress(1), Lab.applianceAddress(2)])
        #expect(parameters[3]["loadBalancerArn"] as? String == lb)
        #expect((parameters[8]["targets"] as? [[String: Any]])?.first?["id"] as? String == Lab.applianceAddress(2))
        #expect(events[6]["errorCode"] as? String == "TargetGroupNotFound")
        #expect(events[7]["errorCode"] as? String == "ValidationError", "\(events[7])")
        #expect(events.enumerated().allSatisfy { index, event in [6, 7].contains(index) || event["errorCode"] == nil })
        #expect((events[1]["responseElements"] as? [String: Any]).map { _ in true } == true, "a change carries its response")
    }

    @Test func theFlowLogHoldsTheLabsFlowsAndDrops() throws {
        let api = try APIDaemonFixture(appliances: 2)
        defer { api.tearDown() }
        let lab = api.lab
        let path = "/tmp/\(lab.lab.prefix)-flow.log"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try api.start(extra: ["--flow-log", path])
        _ = try api.gettingStarted(targets: [1, 2])  // initial targets: fail-open forwards meanwhile
        try lab.serve(lab.lab.server, ["python3", "-c", Programs.udpEcho, "0.0.0.0", "5002"], port: 5002, udp: true)
        let answered = try lab.python(lab.lab.client, Programs.udpClients, arguments: [Lab.serverAddress, "5002", "10", "2"])
        #expect(answered.output.trimmingCharacters(in: .whitespacesAndNewlines) == "20")
        _ = try lab.run(lab.lab.client, ["ping", "-c", "1", "-W", "1", "-M", "do", "-s", "8473", Lab.serverAddress])
        api.stop()  // gwlbd writes the open interval as it stops

        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.first == Substring(
            "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"))
        let records = lines.dropFirst().map { $0.split(separator: " ").map(String.init) }
        #expect(records.allSatisfy { $0.count == 14 && $0[0] == "2" && $0[1] == "123456789012" && $0[13] == "OK" }, "\(lines)")
        #expect(records.allSatisfy { $0[2] == Lab.endpointID })
        // Each UDP flow: two 60-byte datagrams each way, ACCEPT.
        let outbound = records.filter { $0[3] == Lab.clientAddress && $0[4] == Lab.serverAddress && $0[6] == "5002" && $0[7] == "17" }
        let inbound = records.filter { $0[3] == Lab.serverAddress && $0[4] == Lab.clientAddress && $0[5] == "5002" && $0[7] == "17" }
        #expect(outbound.count == 10 && inbound.count == 10, "\(lines)")
        #expect(Set(outbound.map { $0[5] }) == Set(inbound.map { $0[6] }), "both directions of the same ten flows")
        #expect((outbound + inbound).allSatisfy { $0[8] == "2" && $0[9] == "120" && $0[12] == "ACCEPT" && Int($0[10])! <= Int($0[11])! })
        // The oversize ping: REJECT.
        let rejected = records.filter { $0[12] == "REJECT" }
        #expect(rejected.map { Array($0[3...9]) } == [[Lab.clientAddress, Lab.serverAddress, "0", "0", "1", "1", "8501"]], "\(lines)")
    }

    /// Starts `gwlb capture ARGUMENTS --socket S` in the background; returns once gwlbd runs it.
    func startCapture(_ api: APIDaemonFixture, _ arguments: [String], log: String) throws -> ChildProcess {
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let process = try ChildProcess([LabFixture.binary("gwlb"), "capture"] + arguments + ["--socket", api.socket],
                                       output: .file(log), errors: .file(log))
        let running = APIDaemonFixture.eventually(5) { ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("capturing to") }
        guard running else { throw LabFixture.Failure("gwlb capture did not start: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")") }
        return process
    }

    func waitForExit(_ process: ChildProcess, seconds: Double) -> Bool {
        APIDaemonFixture.eventually(seconds) { !process.isRunning }
    }

    @Test func dropCapturesCarryTheirReasonAndFlowCapturesTheirTarget() throws {
        guard (try? LabFixture.execute(["tshark", "--version"]).status) == 0 else {
            throw LabFixture.Failure("this test needs tshark: apt-get install -y tshark (as .ci/run does)")
        }
        let api = try APIDaemonFixture(appliances: 2)
        defer { api.tearDown() }
        let lab = api.lab
        let (drops, flow, log) = ("/tmp/\(lab.lab.prefix)-drops.pcapng", "/tmp/\(lab.lab.prefix)-flow.pcapng", "/tmp/\(lab.lab.prefix)-capture.log")
        defer { for path in [drops, flow, log] { try? FileManager.default.removeItem(atPath: path) } }
        try api.start()
        _ = try api.gettingStarted(targets: [1, 2])

        // Drops: two oversize packets from the client, a 4-byte "GENEVE" datagram from an appliance.
        let dropCapture = try startCapture(api, ["--drops", "-w", drops, "--count", "3", "--duration", "20"], log: log)
        // gwlbd's ICMP teaches the client the path MTU after the first: forget it before the second.
        for _ in 0..<2 {
            _ = try lab.run(lab.lab.client, ["ping", "-c", "1", "-W", "1", "-M", "do", "-s", "8473", Lab.serverAddress])
            _ = try lab.run(lab.lab.client, ["ip", "route", "flush", "cache"])
        }
        _ = try lab.python(lab.lab.appliance(1), "import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'junk', ('\(Lab.geneveAddress)', 6081))")
        #expect(waitForExit(dropCapture, seconds: 10), "the capture ends after 3 packets")
        #expect(try String(contentsOfFile: log, encoding: .utf8).contains("3 packets captured to \(drops)"))
        let fields = try Shell.execute(["tshark", "-r", drops, "-T", "fields", "-E", "separator=|", "-e", "frame.comment", "-e", "ip.src",
                                             "-e", "udp.dstport", "-e", "frame.len"])
        let rows = fields.output.split(separator: "\n").map { $0.split(separator: "|", omittingEmptySubsequences: false).map(String.init) }
        #expect(rows.count == 3, "\(fields.output)")
        #expect(rows.filter { $0.first == "drop: oversize" && $0[1] == Lab.clientAddress && $0[3] == "8501" }.count == 2, "\(fields.output)")
        #expect(rows.contains { $0.first == "drop: bad_geneve (truncated), from appliance \(Lab.applianceAddress(1))"
                                && $0[1].hasPrefix(Lab.applianceAddress(1)) && $0[2] == "6081" }, "\(fields.output)")

        // A flow: one UDP datagram and its echo, each seen going to its target and coming back.
        try lab.serve(lab.lab.server, ["python3", "-c", Programs.udpEcho, "0.0.0.0", "5002"], port: 5002, udp: true)
        let flowCapture = try startCapture(api, ["--address", Lab.clientAddress, "--port", "5002", "-w", flow, "--count", "4"], log: log)
        let answered = try lab.python(lab.lab.client, Programs.udpClients, arguments: [Lab.serverAddress, "5002", "1", "1"])
        #expect(answered.output.trimmingCharacters(in: .whitespacesAndNewlines) == "1")
        #expect(waitForExit(flowCapture, seconds: 10))
        let packets = try Shell.execute(["tshark", "-r", flow, "-T", "fields", "-E", "separator=|", "-e", "frame.comment", "-e", "ip.src",
                                              "-e", "udp.srcport"]).output.split(separator: "\n").map(String.init)
        #expect(packets.count == 4, "\(packets)")
        // Which appliance the flow went to is the hash's choice; all four name the same one.
        let target = try #require(packets.first?.split(separator: "|").first.map { $0.replacingOccurrences(of: "to target ", with: "") })
        #expect([Lab.applianceAddress(1), Lab.applianceAddress(2)].contains(target), "\(packets)")
        #expect(packets == ["to target \(target)|\(Lab.clientAddress)|\(packets[0].split(separator: "|").last ?? "")",
                            "from target \(target)|\(Lab.clientAddress)|\(packets[0].split(separator: "|").last ?? "")",
                            "to target \(target)|\(Lab.serverAddress)|5002", "from target \(target)|\(Lab.serverAddress)|5002"], "\(packets)")
    }
}
