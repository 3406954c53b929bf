import Foundation
import Lab
import Testing
import TestTraits

/// gwlbd under systemd (`Type=notify`, `NotifyAccess=all`, `ExecReload=gwlbd … --takeover --detach`),
/// with the test playing systemd's side of the notify protocol on a datagram socket of its own:
/// gwlbd says `READY=1` with its pid once it forwards and answers; an upgrade's
/// `gwlbd --takeover --detach` returns 0 once the new gwlbd runs, which has said `MAINPID=` its own
/// pid before the old one exits (so systemd follows the new main process), and keeps forwarding.
/// A detached takeover that is refused returns 1 with why, and the running gwlbd carries on.
@Suite(.serialized, .blocking) struct SystemdUpgradeEndToEndTests {
    /// A bound `SOCK_DGRAM` socket standing in for systemd's notify socket.
    final class NotifySocket {
        let path: String
        let descriptor: Int32

        init(path: String) throws {
            self.path = path
            unlink(path)
            descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            guard bound == 0 else { throw LabFixture.Failure("cannot bind \(path): \(String(cString: strerror(errno)))") }
        }

        deinit {
            close(descriptor)
            unlink(path)
        }

        /// The next message's fields (`KEY=VALUE` lines), or nil after `seconds` without one.
        func next(within seconds: Int32) -> [String: String]? {
            var ready = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            guard poll(&ready, 1, seconds * 1000) == 1 else { return nil }
            var buffer = [UInt8](repeating: 0, count: 4096)
            let count = recv(descriptor, &buffer, buffer.count, 0)
            guard count > 0 else { return nil }
            return Dictionary(String(decoding: buffer[..<count], as: UTF8.self).split(separator: "\n").map { line in
                let parts = line.split(separator: "=", maxSplits: 1)
                return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
            }) { _, last in last }
        }
    }

    @Test func anUpgradeUnderSystemdMovesTheMainPidAndReturnsOnceTheNewGwlbdRuns() throws {
        let api = try APIDaemonFixture()
        defer { api.tearDown() }
        let lab = api.lab
        let notify = try NotifySocket(path: "/tmp/\(lab.lab.prefix)-notify.sock")
        let environment = ["env", "NOTIFY_SOCKET=\(notify.path)"]
        try api.start(launcher: environment)
        let oldPid = try #require(api.daemon?.processIdentifier)
        let first = notify.next(within: 10)
        #expect(first?["READY"] == "1" && first?["MAINPID"] == String(oldPid), "the first gwlbd says it is ready: \(first ?? [:])")
        _ = try api.gettingStarted(targets: [1])

        // ExecReload: the command ends once the new gwlbd runs, and leaves it running.
        let output = "/tmp/\(lab.lab.prefix)-detach.out"
        defer { unlink(output) }
        let reload = try ChildProcess(environment + api.command(["--takeover", "--detach"]), output: .file(output), errors: .file(output))
        let reloadStatus = reload.waitUntilExit()
        let reloadText = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        #expect(reloadStatus == 0, "\(reloadText)")
        let said = notify.next(within: 10)
        let newPid = Int32(said?["MAINPID"] ?? "") ?? 0
        defer {
            // The detached gwlbd is nobody's child here: stop it as systemd would.
            if newPid > 0, kill(newPid, SIGTERM) == 0 {
                for _ in 0..<100 where kill(newPid, 0) == 0 { usleep(100_000) }
            }
        }
        #expect(said?["READY"] == "1" && newPid > 0 && newPid != oldPid, "the new gwlbd names itself the main process: \(said ?? [:])")
        #expect(reloadText.contains("running as pid \(newPid)"), "\(reloadText)")
        #expect(try APIDaemonFixture.eventually(15) { api.daemon?.isRunning == false }, "the old gwlbd exits once it handed over")
        #expect(api.daemon?.waitUntilExit() == 0)
        #expect(kill(newPid, 0) == 0, "the new gwlbd runs on")
        let hello = try api.hello()
        #expect((hello?["upgradedFrom"] as? [String: Any])?["pid"] as? Int == Int(oldPid), "\(hello ?? [:])")
        let ping = try lab.run(lab.lab.client, ["ping", "-c", "3", "-i", "0.2", "-W", "2", Lab.serverAddress])
        #expect(ping.output.contains("3 received"), "it forwards: \(ping.output)")

        // A reload the running gwlbd refuses fails, says why, and changes nothing.
        let other = "/tmp/\(lab.lab.prefix)-one-worker.json"
        defer { unlink(other) }
        try #"{"geneveAddress": "\#(Lab.geneveAddress)", "workers": 1}"#.write(toFile: other, atomically: true, encoding: .utf8)
        let refused = try LabFixture.execute(environment + api.command(["--takeover", "--detach", "--config", other]))
        #expect(refused.status == 1 && refused.output.contains("refused the takeover") && refused.output.contains("ended before it ran"),
                "\(refused.output)")
        #expect(kill(newPid, 0) == 0 && notify.next(within: 1) == nil, "the running gwlbd carries on, still the main process")
    }
}
