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
