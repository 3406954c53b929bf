import Foundation
import Lab
import Testing
import TestTraits

/// `gwlb console` in tmux against a live gwlbd in the lab with traffic: the panes fill, `d` drains
/// and `r` registers through the API, a killed and restarted gwlbd shows "disconnected" and then
/// live data without restarting the console, and `TERM=vt100 LANG=C` draws ASCII only.
@Suite(.serialized, .blocking) struct ConsoleEndToEndTests {
    /// A tmux server of this test's own, so killing it touches no other session.
    let server = "gwlb-console-\(getpid())-\(UUID().uuidString.prefix(8))"

    func tmux(_ arguments: [String]) throws -> String {
        try LabFixture.execute(["tmux", "-L", server] + arguments).output
    }

    func screen(_ session: String) throws -> String { try tmux(["capture-pane", "-p", "-t", session]) }

    /// Starts a detached tmux session (and with the first, the server, which stays).
    func startSession(_ name: String, width: Int, height: Int, _ command: String) throws {
        let status = try Shell.launch(["tmux", "-L", server, "new-session", "-d", "-s", name, "-x", String(width), "-y", String(height),
                                       "-c", NSTemporaryDirectory(), command])
        guard status == 0 else { throw LabFixture.Failure("tmux new-session exited \(status)") }
    }

    static func requireTmux() throws {
        guard (try? LabFixture.execute(["tmux", "-V"]).status) == 0 else {
            throw LabFixture.Failure("this test needs tmux: apt-get install -y tmux (as .ci/run does)")
        }
    }

    /// Whether `pid` is a live process (a zombie waiting for its parent to reap it has ended).
    static func running(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let afterName = stat.range(of: ") ", options: .backwards) else { return false }
        return !stat[afterName.upperBound...].hasPrefix("Z")
    }

    @Test func consoleDrainsRegistersAndSurvivesARestart() throws {
        try Self.requireTmux()
        let api = try APIDaemonFixture()
        defer { api.tearDown() }
        let lab = api.lab
        try api.start()
        let (_, tg) = try api.gettingStarted(targets: [1, 2, 3])
        try lab.background(lab.lab.client, ["ping", "-i", "0.05", Lab.serverAddress])
        let session = "c\(lab.lab.prefix)", ascii = "a\(lab.lab.prefix)"
        defer { _ = try? tmux(["kill-server"]) }
        let console = "env LANG=C.UTF-8 TERM=xterm-256color \(LabFixture.binary("gwlb")) console --socket \(api.socket)"
        try startSession(session, width: 120, height: 30, console)

        // Live data: per-target packets and flow occupancy.
        func packetsToAnAppliance() throws -> Bool {
            try screen(session).split(separator: "\n").contains { line in
                let fields = line.split(separator: " ")
                return line.contains("198.18.1.1") && fields.count > 5 && fields[5] != "0" && fields[5] != "-"
            }
        }
        #expect(try APIDaemonFixture.eventually(20) { try screen(session).contains(" live ") && packetsToAnAppliance() }, "\((try? screen(session)) ?? "")")
        #expect(try screen(session).contains("active ") && !screen(session).contains("active 0 /"))
        // Wide enough for the health check's latency: the first probes run at registration.
        #expect(try APIDaemonFixture.eventually(10) {
            try screen(session).split(separator: "\n").contains { $0.contains("198.18.1.12") && $0.contains("ms ") }
        }, "\((try? screen(session)) ?? "")")
        #expect(try screen(session).contains("tcp ") && screen(session).contains(" CHECK "))

        // d, Tab to Drain, Enter: the first row (198.18.1.11) drains.
        _ = try tmux(["send-keys", "-t", session, "d"])
        #expect(try APIDaemonFixture.eventually(3) { try screen(session).contains("Drain 198.18.1.11?") })
        _ = try tmux(["send-keys", "-t", session, "Tab", "Enter"])
        #expect(try APIDaemonFixture.eventually(5) { try api.health(tg)[Lab.applianceAddress(1)]?.state == "draining" })
        #expect(try APIDaemonFixture.eventually(5) { try screen(session).contains("drain 198.18.1.11: confirmed (draining)") }, "\((try? screen(session)) ?? "")")

        // The console's calls are in the audit trail under its own name.
        #expect(try api.auditEvents().contains { $0["eventName"] as? String == "DeregisterTargets" && $0["userAgent"] as? String == "gwlb-console" })

        // c captures drops until c again: an oversize ping lands in the file with its reason.
        _ = try tmux(["send-keys", "-t", session, "c"])
        #expect(try APIDaemonFixture.eventually(3) { try screen(session).contains("capture: drops") }, "\((try? screen(session)) ?? "")")
        // The console says "capture" when it asks; gwlbd's capture starts a moment later (on a
        // loaded machine, later than a fixed pause): an oversize ping every half second, three.
        for _ in 0..<3 {
            usleep(500_000)
            _ = try lab.run(lab.lab.client, ["ping", "-c", "1", "-W", "1", "-M", "do", "-s", "8473", Lab.serverAddress])
        }
        _ = try tmux(["send-keys", "-t", session, "c"])
        #expect(try APIDaemonFixture.eventually(5) {
            try screen(session).split(separator: "\n").contains { $0.contains("capture: ") && $0.contains(" dropped packet") && !$0.contains("capture: 0 ") }
        }, "\((try? screen(session)) ?? "")")
        let captures = try FileManager.default.contentsOfDirectory(atPath: NSTemporaryDirectory()).filter { $0.hasPrefix("gwlb-drops-") }
        defer { for file in captures { try? FileManager.default.removeItem(atPath: NSTemporaryDirectory() + file) } }
        let comments = try captures.map { try Shell.execute(["tshark", "-r", NSTemporaryDirectory() + $0, "-T", "fields", "-e", "frame.comment"]).output }
        #expect(comments.contains("drop: oversize\n"), "\(captures) \(comments)")

        // Enter on the ping's target: its live flows; c captures the selected one (Esc, then c in
        // the main screen, stops the capture).
        let pinged = try #require((try api.json(["flows", "--output", "json"])["flows"] as? [[String: Any]])?
            .first { $0["protocol"] as? String == "icmp" }?["target"] as? String, "the ping's flow")
        let position = try #require(["198.18.1.11", "198.18.1.12", "198.18.1.13"].firstIndex(of: pinged))
        for _ in 0..<position { _ = try tmux(["send-keys", "-t", session, "j"]) }
        _ = try tmux(["send-keys", "-t", session, "Enter"])
        // The ping's flow in the drill-down (its state column says `active`; the drops pane has no state).
        #expect(try APIDaemonFixture.eventually(6) {
            try screen(session).contains("Flows on \(pinged) (") && screen(session).split(separator: "\n").contains { $0.contains("icmp") && $0.contains(" active ") }
        }, "\((try? screen(session)) ?? "")")
        _ = try tmux(["send-keys", "-t", session, "c"])
        usleep(2_000_000)
        _ = try tmux(["send-keys", "-t", session, "Escape"])
        usleep(300_000)
        _ = try tmux(["send-keys", "-t", session, "c"])
        #expect(try APIDaemonFixture.eventually(5) { try screen(session).contains(" packets in ") }, "\((try? screen(session)) ?? "")")
        let flowCaptures = try FileManager.default.contentsOfDirectory(atPath: NSTemporaryDirectory()).filter { $0.hasPrefix("gwlb-flow-") }
        defer { for file in flowCaptures { try? FileManager.default.removeItem(atPath: NSTemporaryDirectory() + file) } }
        let echoes = try flowCaptures.map { try Shell.execute(["tshark", "-r", NSTemporaryDirectory() + $0, "-Y", "icmp", "-T", "fields", "-e", "icmp.type"]).output }
        #expect(echoes.joined().split(separator: "\n").count >= 10, "the ping's packets, both ways: \(flowCaptures) \(echoes)")
        for _ in 0..<position { _ = try tmux(["send-keys", "-t", session, "k"]) }

        // r, an address, Enter: registered.
        _ = try tmux(["send-keys", "-t", session, "r"])
        _ = try tmux(["send-keys", "-t", session, "-l", "198.18.1.14"])
        _ = try tmux(["send-keys", "-t", session, "Enter"])
        #expect(try APIDaemonFixture.eventually(5) { try api.health(tg)["198.18.1.14"] != nil })

        // gwlbd killed: disconnected, data kept; restarted: live again, same console.
        api.kill()
        #expect(try APIDaemonFixture.eventually(8) { try screen(session).contains("disconnected, retrying") })
        #expect(try screen(session).contains("198.18.1.12"), "the last data stays on screen")
        try api.start()
        #expect(try APIDaemonFixture.eventually(15) { try screen(session).contains(" live ") }, "\((try? screen(session)) ?? "")")

        // A steady screen costs little: bytes written to the terminal over 10 s (reported).
        let bytes = "/tmp/\(lab.lab.prefix)-console.bytes"
        defer { try? FileManager.default.removeItem(atPath: bytes) }
        _ = try tmux(["pipe-pane", "-t", session, "-o", "cat > \(bytes) 2>/dev/null"])
        usleep(10_000_000)
        _ = try tmux(["pipe-pane", "-t", session])
        let written = (try? FileManager.default.attributesOfItem(atPath: bytes)[.size] as? Int) ?? -1
        print("gwlb console at 120x30 with traffic: \(written / 10) bytes/s to the terminal")
        #expect(written > 0, "the console redraws what changes")

        // TERM=vt100 LANG=C: ASCII only.
        try startSession(ascii, width: 80, height: 24, "env LANG=C LC_ALL=C TERM=vt100 \(LabFixture.binary("gwlb")) console --socket \(api.socket)")
        #expect(try APIDaemonFixture.eventually(10) { try screen(ascii).contains("Targets (4)") }, "\((try? screen(ascii)) ?? "")")
        let text = try screen(ascii)
        #expect(text.unicodeScalars.allSatisfy { $0.isASCII }, "\(text)")

        // The terminal goes away (an SSH connection dropped; here the tmux server killed): the console ends.
        let consolePid = try #require(pid_t(tmux(["display-message", "-p", "-t", session, "#{pane_pid}"]).trimmingCharacters(in: .whitespacesAndNewlines)))
        let serverPid = try #require(pid_t(tmux(["display-message", "-p", "#{pid}"]).trimmingCharacters(in: .whitespacesAndNewlines)))
        kill(serverPid, SIGKILL)
        #expect(try APIDaemonFixture.eventually(5) { !Self.running(consolePid) }, "gwlb console outlived its terminal")
    }
}
