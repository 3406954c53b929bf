import Foundation
import Lab
import Testing

/// The console as operators use it: over a real SSH connection. An OpenSSH server in the lab's
/// router namespace (where gwlbd runs), `ssh -tt` in with `TERM=xterm-256color` and with
/// `TERM=vt100`, the console drawn, a target drained from it, a column sorted by a click, then the
/// connection dropped (the client killed) while the console runs: the console process on the
/// server side is gone.
extension ConsoleEndToEndTests {
    /// A private sshd on 127.0.0.1:2222 inside the lab's router namespace: its own host key, root's login by a key
    /// made here, nothing else. Returns the client's key.
    func startSSHServer(in lab: LabFixture, directory: String) throws -> String {
        guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/sshd"), FileManager.default.isExecutableFile(atPath: "/usr/bin/ssh") else {
            throw LabFixture.Failure("this test needs OpenSSH: apt-get install -y openssh-server openssh-client (as .ci/run does)")
        }
        for key in ["host", "client"] {
            let made = try LabFixture.execute(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", "\(directory)/\(key)"])
            guard made.status == 0 else { throw LabFixture.Failure("ssh-keygen: \(made.output)") }
        }
        try FileManager.default.copyItem(atPath: "\(directory)/client.pub", toPath: "\(directory)/authorized_keys")
        try """
            Port 2222
            ListenAddress 127.0.0.1
            HostKey \(directory)/host
            AuthorizedKeysFile \(directory)/authorized_keys
            PermitRootLogin prohibit-password
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            UsePAM no
            StrictModes no
            PidFile \(directory)/sshd.pid

            """.write(toFile: "\(directory)/sshd_config", atomically: true, encoding: .utf8)
        // sshd insists on its privilege-separation directory.
        try FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true)
        let checked = try LabFixture.execute(["/usr/sbin/sshd", "-t", "-f", "\(directory)/sshd_config"])
        guard checked.status == 0 else { throw LabFixture.Failure("sshd -t: \(checked.output)") }
        // sshd detaches itself (its pid file says where it went). Not through Foundation's Process:
        // sshd closes every descriptor it inherits, which Foundation takes for the child's exit, and
        // its monitor thread then blocks in waitpid for good, hanging every later Process.
        let started = try Shell.launch(["ip", "netns", "exec", lab.lab.router, "/usr/sbin/sshd", "-f", "\(directory)/sshd_config"])
        guard started == 0 else { throw LabFixture.Failure("sshd exited \(started)") }
        try lab.waitUntilListening(lab.lab.router, port: 2222, what: "sshd")
        return "\(directory)/client"
    }

    @Test func consoleOverSSHDrainsAndEndsWithTheConnection() throws {
        try Self.requireTmux()
        let api = try APIDaemonFixture()
        defer { api.tearDown() }
        let lab = api.lab
        try api.start()
        let (_, tg) = try api.gettingStarted(targets: [1, 2])
        let directory = "/tmp/\(lab.lab.prefix)-ssh"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer {
            if let pid = (try? String(contentsOfFile: "\(directory)/sshd.pid", encoding: .utf8)).flatMap({ pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) }) {
                kill(pid, SIGTERM)
                // sshd removes its pid file as it exits: removing the directory meanwhile would stop halfway.
                for _ in 0..<50 where kill(pid, 0) == 0 { usleep(100_000) }
            }
            try? FileManager.default.removeItem(atPath: directory)
        }
        let key = try startSSHServer(in: lab, directory: directory)
        defer { _ = try? tmux(["kill-server"]) }
        // The console's own command line names the socket, so each login's console can be found.
        func login(_ session: String, term: String, lang: String) throws {
            let remote = "LANG=\(lang) \(LabFixture.binary("gwlb")) console --socket \(api.socket)"
            try startSession(session, width: 100, height: 30, "ip netns exec \(lab.lab.router) env TERM=\(term) ssh -tt -i \(key) -p 2222 "
                             + "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR root@127.0.0.1 '\(remote)'")
        }
        func consoles() throws -> [pid_t] {
            // Anchored: the ssh clients' command lines carry the same words.
            try LabFixture.execute(["pgrep", "-f", "^\(LabFixture.binary("gwlb")) console --socket \(api.socket)"]).output
                .split(separator: "\n").compactMap { pid_t($0) }
        }

        // In with xterm-256color: the panes drawn with their line glyphs, live.
        let session = "s\(lab.lab.prefix)"
        try login(session, term: "xterm-256color", lang: "C.UTF-8")
        #expect(try APIDaemonFixture.eventually(20) { try screen(session).contains(" live ") && screen(session).contains("Targets (2)") },
                "\((try? screen(session)) ?? "")")
        #expect(try screen(session).contains("─ Flow table"), "UTF-8 line glyphs over SSH: \((try? screen(session)) ?? "")")

        // d, Tab to Drain, Enter: the first target drains, through the API, from the SSH session.
        _ = try tmux(["send-keys", "-t", session, "d"])
        #expect(try APIDaemonFixture.eventually(5) { try screen(session).contains("Drain 198.18.1.11?") }, "\((try? screen(session)) ?? "")")
        _ = try tmux(["send-keys", "-t", session, "Tab", "Enter"])
        #expect(try APIDaemonFixture.eventually(5) { try api.health(tg)[Lab.applianceAddress(1)]?.state == "draining" })
        #expect(try APIDaemonFixture.eventually(5) { try screen(session).contains("drain 198.18.1.11: confirmed (draining)") }, "\((try? screen(session)) ?? "")")

        // A click on the FLOWS title, as xterm reports it (SGR mouse mode, 1-based): sorted by flows.
        let lines = try screen(session).split(separator: "\n", omittingEmptySubsequences: false)
        let titleRow = try #require(lines.firstIndex { $0.hasPrefix(" TARGET ") }, "\(lines)")
        let flowsColumn = try #require(lines[titleRow].range(of: "FLOWS")).lowerBound.utf16Offset(in: lines[titleRow])
        _ = try tmux(["send-keys", "-t", session, "-l", "\u{1B}[<0;\(flowsColumn + 2);\(titleRow + 1)M\u{1B}[<0;\(flowsColumn + 2);\(titleRow + 1)m"])
        #expect(try APIDaemonFixture.eventually(5) { try screen(session).contains("sort: flows") }, "\((try? screen(session)) ?? "")")

        // A second login with vt100: ASCII only.
        let ascii = "v\(lab.lab.prefix)"
        try login(ascii, term: "vt100", lang: "C")
        #expect(try APIDaemonFixture.eventually(20) { try screen(ascii).contains("Targets (2)") }, "\((try? screen(ascii)) ?? "")")
        let text = try screen(ascii)
        #expect(text.unicodeScalars.allSatisfy { $0.isASCII } && text.contains("- Flow table"), "\(text)")
        #expect(try APIDaemonFixture.eventually(5) { try consoles().count == 2 }, "one console per login: \((try? consoles()) ?? [])")

        // The connection drops (the first client killed, as a network cut would end it): its console
        // ends on the server; the other login's stays.
        let before = Set(try consoles())
        let client = try #require(pid_t(tmux(["display-message", "-p", "-t", session, "#{pane_pid}"]).trimmingCharacters(in: .whitespacesAndNewlines)))
        kill(client, SIGKILL)
        #expect(try APIDaemonFixture.eventually(10) { try consoles().count == 1 }, "the dropped login's console is gone: \(before) → \((try? consoles()) ?? [])")
        let survivor = try #require(try consoles().first)
        #expect(before.contains(survivor) && Self.running(survivor))
        #expect(try screen(ascii).contains("Targets (2)"), "the other login still draws")
    }
}
