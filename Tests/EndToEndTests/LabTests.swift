import Daemon
import Foundation
import Lab
import Testing
import TestTraits

/// `gwlb lab`: idempotent, and `down` removes everything, even after a crash.
@Suite(.serialized, .blocking) struct LabTests {
    func namespaces(_ prefix: String) throws -> [String] {
        try LabFixture.execute(["ip", "netns", "list"]).output.split(separator: "\n")
            .compactMap { $0.split(separator: " ").first.map(String.init) }.filter { $0.hasPrefix("\(prefix)-") }
    }

    @Test func upTwiceThenDownAfterACrash() throws {
        let lab = try LabFixture(appliances: 2, startDaemon: false)
        defer { lab.tearDown() }
        let prefix = lab.lab.prefix
        let gwlb = LabFixture.binary("gwlb")
        // Up again over a running lab: rebuilt, not doubled.
        let again = try LabFixture.execute([gwlb, "lab", "up", "--prefix", prefix, "--appliances", "2"])
        #expect(again.status == 0, "\(again.output)")
        #expect(try namespaces(prefix).sorted() == ["\(prefix)-app1", "\(prefix)-app2", "\(prefix)-client", "\(prefix)-router", "\(prefix)-server"])
        let status = try LabFixture.execute([gwlb, "lab", "status", "--prefix", prefix, "--appliances", "2"]).output
        #expect(status.contains("\(prefix)-app1: up (gwlb)"), "\(status)")
        // Crash: every process in the lab killed, state left behind; down still cleans up.
        try lab.start()
        for namespace in try namespaces(prefix) {
            for pid in try LabFixture.execute(["ip", "netns", "pids", namespace]).output.split(separator: "\n") { kill(pid_t(pid)!, SIGKILL) }
        }
        let down = try LabFixture.execute([gwlb, "lab", "down", "--prefix", prefix])
        #expect(down.status == 0)
        #expect(try namespaces(prefix).isEmpty)
        #expect(!FileManager.default.fileExists(atPath: lab.lab.stateDirectory))
        #expect(try LabFixture.execute([gwlb, "lab", "down", "--prefix", prefix]).status == 0, "down twice is fine")
    }

    /// `gwlb lab up --routing api` prints the seed's walkthrough for a lab without routing: run as
    /// printed (with `gwlb` on PATH), gwlbd builds the routing and a ping crosses the appliance.
    @Test func theAPIWalkthroughItPrintsWorks() throws {
        let prefix = "e\(getpid() % 10000)w"
        let gwlb = LabFixture.binary("gwlb")
        let state = "/var/lib/gwlb-\(prefix)", socket = "/run/gwlb/\(prefix).sock", log = "/tmp/\(prefix)-gwlbd.log"
        var daemon: ChildProcess?
        defer {
            daemon?.terminate()
            daemon?.waitUntilExit()
            Lab(prefix: prefix).down()
            for path in [state, socket, log, Daemon.defaultSharedStatePath(stateDirectory: state)] { try? FileManager.default.removeItem(atPath: path) }
        }
        let up = try LabFixture.execute([gwlb, "lab", "up", "--prefix", prefix, "--appliances", "1", "--routing", "api"])
        #expect(up.status == 0, "\(up.output)")
        let lines = up.output.split(separator: "\n").map(String.init)
        let start = try #require(lines.first { $0.hasPrefix("start gwlbd:") }, "\(up.output)")
        let command = start.dropFirst("start gwlbd:".count).trimmingCharacters(in: .whitespaces)
        #expect(command.hasSuffix("&"))
        daemon = try ChildProcess(["sh", "-c", String(command.dropLast())], output: .file(log), errors: .file(log))
        #expect(APIDaemonFixture.eventually(10) { (try? LabFixture.execute([gwlb, "describe-load-balancers", "--socket", socket]).status) == 0 })
        let walkthrough = lines.filter { $0.hasPrefix("  ") }.joined(separator: "\n")
        let directory = URL(fileURLWithPath: gwlb).deletingLastPathComponent().path
        let ran = try LabFixture.execute(["bash", "-c", "set -e\nexport PATH=\(directory):$PATH\n" + walkthrough])
        #expect(ran.status == 0, "\(walkthrough)\n\(ran.output)")
        let rules = try LabFixture.execute(["ip", "-n", "\(prefix)-router", "rule"]).output
        #expect(rules.contains("iif uplink lookup") && rules.contains("iif app lookup"), "\(rules)")
        let ping = try LabFixture.execute(["ip", "netns", "exec", "\(prefix)-client", "ping", "-c", "3", "-i", "0.2", "-W", "2", Lab.serverAddress])
        #expect(ping.status == 0, "\(ping.output)")
        // Both ways of 3 pings through the appliance (the workers publish their counters each second).
        func packetsToTarget() -> Int {
            let stats = (try? LabFixture.execute(["curl", "-s", "--unix-socket", socket, "http://localhost/v1/stats"]).output) ?? ""
            let targets = ((try? JSONSerialization.jsonObject(with: Data(stats.utf8))) as? [String: Any])?["targets"] as? [[String: Any]] ?? []
            return targets.first?["packetsToTarget"] as? Int ?? 0
        }
        #expect(APIDaemonFixture.eventually(3) { packetsToTarget() >= 6 }, "\(packetsToTarget()) packets to the appliance")
    }

    @Test func badOptionsAreRefused() throws {
        let result = try LabFixture.execute([LabFixture.binary("gwlb"), "lab", "up", "--appliances", "0"])
        #expect(result.status != 0 && result.output.contains("--appliances must be 1-50"))
    }

    /// `down` removes /run/gwlb-lab/<prefix>: a prefix that climbs out of it is refused, and what
    /// it points at stays (before the check, this removed the directory below).
    @Test func prefixesThatClimbOutAreRefused() throws {
        let target = "/tmp/gwlb-prefix-\(getpid())"
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: target) }
        try Data("keep".utf8).write(to: URL(fileURLWithPath: target + "/marker"))
        for command in [["lab", "down"], ["lab", "up"], ["demo", "--no-console"]] {
            let result = try LabFixture.execute([LabFixture.binary("gwlb")] + command + ["--prefix", "../..\(target)"])
            #expect(result.status != 0 && result.output.contains("a-z, 0-9 and -"), "\(command): \(result.output)")
        }
        Lab(prefix: "../..\(target)").down()
        #expect(FileManager.default.fileExists(atPath: target + "/marker"))
        #expect(Lab.problem(withPrefix: "e123x4") == nil && Lab.problem(withPrefix: "Gwlb") != nil && Lab.problem(withPrefix: "") != nil)
    }
}
