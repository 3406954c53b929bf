import Foundation
import Lab
import Store
import TestPostgres
import Testing
import TestTraits

/// `gwlb demo` as a newcomer runs it: with the console in tmux, and without it for scripts; what
/// it builds carries traffic through every appliance, and nothing is left once it ends.
@Suite(.serialized, .blocking) struct DemoEndToEndTests {
    let prefix = "d\(String(UUID().uuidString.prefix(6)).lowercased())"
    var socket: String { "/tmp/\(prefix)-demo.sock" }

    func gwlb(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try LabFixture.execute([LabFixture.binary("gwlb")] + arguments + ["--socket", socket])
    }

    func stats() throws -> [String: Any] {
        let output = try LabFixture.execute(["curl", "-s", "--max-time", "3", "--unix-socket", socket, "http://localhost/v1/stats"]).output
        return try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any] ?? [:]
    }

    /// Target address → (new flows, packets to it), from /v1/stats.
    func perTarget() throws -> [String: (flows: Int, packets: Int)] {
        var result: [String: (flows: Int, packets: Int)] = [:]
        for row in try stats()["targets"] as? [[String: Any]] ?? [] {
            result[row["address"] as? String ?? ""] = (row["newFlows"] as? Int ?? 0, row["packetsToTarget"] as? Int ?? 0)
        }
        return result
    }

    func targetGroup() throws -> String {
        try gwlb(["describe-target-groups", "--query", "TargetGroups[0].TargetGroupArn", "--output", "text"]).output
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func health() throws -> [String] {
        let output = try gwlb(["describe-target-health", "--target-group-arn", targetGroup(), "--query",
                               "TargetHealthDescriptions[].TargetHealth.State", "--output", "text"]).output
        return output.split(whereSeparator: { $0 == "\t" || $0 == "\n" }).map(String.init)
    }

    /// Nothing of the demo is left: namespaces, processes (gwlbd, appliances, traffic), socket, state.
    func expectNothingLeft() throws {
        let namespaces = try LabFixture.execute(["ip", "netns", "list"]).output
        #expect(!namespaces.contains("\(prefix)-"), "namespaces left: \(namespaces)")
        // (The test's own tmux server, which ran the demo, is not the demo's.)
        let processes = try LabFixture.execute(["ps", "-eo", "args"]).output.split(separator: "\n").filter {
            ($0.contains(socket) || $0.contains("\(prefix)-")) && !$0.hasPrefix("tmux")
        }
        #expect(processes.isEmpty, "processes left: \(processes)")
        #expect(!FileManager.default.fileExists(atPath: socket), "socket left")
        #expect(!FileManager.default.fileExists(atPath: Lab(prefix: prefix).stateDirectory), "state left")
    }

    @Test func withoutTheConsoleTrafficCrossesEveryApplianceAndNothingIsLeft() throws {
        defer { Lab(prefix: prefix).down() }
        let output = Pipe()
        let process = try ChildProcess([LabFixture.binary("gwlb"), "demo", "--no-console", "--duration", "20", "--prefix", prefix, "--socket", socket],
                                       output: .descriptor(output.fileHandleForWriting.fileDescriptor),
                                       errors: .descriptor(output.fileHandleForWriting.fileDescriptor))
        try output.fileHandleForWriting.close()
        let collected = Shell.PipeReader(output.fileHandleForReading)
        // Targets turn healthy after two 5-second checks; traffic reaches every appliance.
        #expect(APIDaemonFixture.eventually(18) { ((try? health()) ?? []) == ["healthy", "healthy", "healthy"] }, "\((try? health()) ?? [])")
        #expect(APIDaemonFixture.eventually(5) { ((try? perTarget()) ?? [:]).count == 3 && ((try? perTarget()) ?? [:]).values.allSatisfy { $0.packets > 0 } },
                "\((try? perTarget()) ?? [:])")
        // The routing that steers the traffic is the seed's, made through the EC2 API.
        let routes = try gwlb(["ec2", "describe-route-tables", "--query", "RouteTables[].Routes[].[DestinationCidrBlock || DestinationIpv6CidrBlock, State]",
                               "--output", "text"])
        #expect(routes.output == "\(Lab.applicationSubnet)\tactive\n\(Lab.applicationSubnet6)\tactive\n0.0.0.0/0\tactive\n::/0\tactive\n", "\(routes.output)")
        #expect(APIDaemonFixture.eventually(30) { !process.isRunning }, "the demo did not end after its duration")
        #expect(process.terminationStatus == 0)
        let text = String(decoding: collected.wait(), as: UTF8.self)
        #expect(text.contains("198.18.1.13    healthy") && text.contains("(drops tcp:23)") && text.contains("removing the demo"), "\(text)")
        try expectNothingLeft()
    }

    /// `gwlb demo --nodes 2`: two gwlbd nodes behind the router's multipath routes, sharing a
    /// database the demo makes; traffic through both, every appliance healthy on both, and nothing
    /// left afterwards, the database included.
    @Test func theClusterDemoRunsTwoNodesAndLeavesNothing() throws {
        defer { Lab(prefix: prefix).down() }
        let server = TestDatabase.server
        // The nodes' namespaces reach PostgreSQL by its Unix socket.
        let url = "postgres://\(server.user):\(server.password ?? "")@%2Fvar%2Frun%2Fpostgresql/postgres"
        let output = Pipe()
        let process = try ChildProcess([LabFixture.binary("gwlb"), "demo", "--nodes", "2", "--no-console", "--duration", "12", "--prefix", prefix,
                                        "--database", url],
                                       output: .descriptor(output.fileHandleForWriting.fileDescriptor),
                                       errors: .descriptor(output.fileHandleForWriting.fileDescriptor))
        try output.fileHandleForWriting.close()
        let collected = Shell.PipeReader(output.fileHandleForReading)
        #expect(APIDaemonFixture.eventually(90) { !process.isRunning }, "the demo did not end")
        let text = String(decoding: collected.wait(), as: UTF8.self)
        #expect(process.terminationStatus == 0, "\(text)")
        for appliance in 1...3 { #expect(text.contains("\(Lab.applianceAddress(appliance))    healthy"), "\(text)") }
        #expect(text.contains("cluster of 2 nodes (2 alive)"), "\(text)")
        // Each node carried flows of the traffic (the router spreads them).
        let flows = text.split(separator: "\n").filter { $0.hasPrefix("n1 ") || $0.hasPrefix("n2 ") }.map { line in
            Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst(line.contains(" * ") ? 8 : 7).first ?? "") ?? 0
        }
        #expect(flows.count == 2 && flows.allSatisfy { $0 > 0 }, "flows per node: \(flows)\n\(text)")
        try expectNothingLeft()
        let name = "gwlb_demo_" + prefix
        let left = try PostgresSession(address: server).query("SELECT count(*) FROM pg_database WHERE datname = '\(name)'").first?.first
        #expect(left == .integer(0), "the demo's database \(name) was left")
    }

    @Test func inTmuxTheConsoleShowsLiveCountsAndDrainingMovesTheTraffic() throws {
        guard (try? LabFixture.execute(["tmux", "-V"]).status) == 0 else {
            throw LabFixture.Failure("this test needs tmux: apt-get install -y tmux (as .ci/run does)")
        }
        let server = "gwlb-demo-\(prefix)"
        func tmux(_ arguments: [String]) throws -> String { try LabFixture.execute(["tmux", "-L", server] + arguments).output }
        func screen() throws -> String { try tmux(["capture-pane", "-p", "-t", "demo"]) }
        defer {
            _ = try? tmux(["kill-server"])
            Lab(prefix: prefix).down()
        }
        let command = "env LANG=C.UTF-8 TERM=xterm-256color \(LabFixture.binary("gwlb")) demo --prefix \(prefix) --socket \(socket); sleep 60"
        guard try Shell.launch(["tmux", "-L", server, "new-session", "-d", "-s", "demo", "-x", "120", "-y", "40", command]) == 0 else {
            throw LabFixture.Failure("tmux new-session failed")
        }
        // Live, with packets to each of the three appliances.
        func everyApplianceCarries() throws -> Bool {
            // The targets pane's rows (the health pane names targets too, further right).
            let rows = try screen().split(separator: "\n").filter { $0.dropFirst().hasPrefix("198.18.1.1") && $0.contains("healthy") }
            return rows.count == 3 && rows.allSatisfy { row in
                let fields = row.split(separator: " ")
                return fields.count > 5 && fields[5] != "0" && fields[5] != "-"
            }
        }
        #expect(APIDaemonFixture.eventually(60) { (try? screen().contains(" live ")) == true && (try? everyApplianceCarries()) == true },
                "\((try? screen()) ?? "")")

        // d, Tab to Drain, Enter: the selected first row, 198.18.1.11, drains; its new flows stop.
        _ = try tmux(["send-keys", "-t", "demo", "d"])
        #expect(APIDaemonFixture.eventually(3) { (try? screen().contains("Drain 198.18.1.11?")) == true })
        _ = try tmux(["send-keys", "-t", "demo", "Tab", "Enter"])
        #expect(APIDaemonFixture.eventually(5) { (try? health().first) == "draining" }, "\((try? health()) ?? [])")
        usleep(1_000_000)
        let before = try perTarget()
        usleep(6_000_000)
        let after = try perTarget()
        let drained = Lab.applianceAddress(1)
        #expect(after[drained]?.flows == before[drained]?.flows, "new flows went to the draining appliance: \(before) → \(after)")
        let others = [Lab.applianceAddress(2), Lab.applianceAddress(3)]
        #expect(others.reduce(0) { $0 + (after[$1]?.flows ?? 0) - (before[$1]?.flows ?? 0) } > 5, "new flows went to the others: \(before) → \(after)")
        #expect(try screen().contains("draining"))

        // q: the demo removes everything.
        _ = try tmux(["send-keys", "-t", "demo", "q"])
        #expect(APIDaemonFixture.eventually(20) { (try? screen().contains("removing the demo")) == true && !((try? LabFixture.execute(["ip", "netns", "list"]).output.contains("\(prefix)-")) ?? true) })
        usleep(2_000_000)
        try expectNothingLeft()
    }
}
