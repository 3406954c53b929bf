import Foundation
import Lab
import Testing

/// `gwlb lab`: idempotent, and `down` removes everything, even after a crash.
@Suite(.serialized) struct LabTests {
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
}
