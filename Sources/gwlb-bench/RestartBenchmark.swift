import Foundation
import Lab

/// `gwlb-bench restart`: gwlbd (API form) killed with SIGKILL and started again under load, as a
/// crash under systemd's `Restart=always` would: 200 long-lived TCP connections exchanging a
/// message every 50 ms each, and a ping every 5 ms. Measured with the shared flow
/// state (the new gwlbd takes the flows over) against the baseline of the same restart without
/// it (`--shared-state none`, what gwlbd did before: every flow starts anew, mid-connection TCP
/// is dropped). Reports the connections that carried on, resets, the pings' longest gap and their
/// losses, and how long after the new process started forwarding resumed.
struct RestartBenchmark {
    let connections: Int
    let executable = CommandLine.selfExecutable
    var binaries: String { (executable as NSString).deletingLastPathComponent }

    /// In the client: `HOST PORT CONNECTIONS SECONDS`: each connection sends a numbered 100-byte
    /// message every 50 ms and waits for its echo (3 s at most); prints how many carried on to the
    /// end, resets, timeouts and mismatches as JSON.
    static let tcpClients = """
        import json, selectors, socket, sys, time
        host, port, count, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
        sockets = [socket.create_connection((host, port), timeout=10) for _ in range(count)]
        for s in sockets: s.setblocking(False)
        alive, resets, timeouts, mismatches, exchanges = set(range(count)), 0, 0, 0, 0
        end = time.time() + seconds
        round = 0
        while time.time() < end and alive:
            started = time.time()
            expected, received = {}, {}
            for n in list(alive):
                message = ('%05d-%08d-' % (n, round)).encode().ljust(100, b'x')
                try:
                    sockets[n].send(message); expected[n] = message; received[n] = b''
                except ConnectionResetError:
                    resets += 1; alive.discard(n)
            deadline = time.time() + 3
            sel = selectors.DefaultSelector()
            for n in expected: sel.register(sockets[n], selectors.EVENT_READ, n)
            while expected and time.time() < deadline:
                for key, _ in sel.select(max(0, deadline - time.time())):
                    n = key.data
                    try:
                        chunk = sockets[n].recv(100 - len(received[n]))
                    except ConnectionResetError:
                        resets += 1; alive.discard(n); sel.unregister(sockets[n]); expected.pop(n); continue
                    if not chunk:
                        resets += 1; alive.discard(n); sel.unregister(sockets[n]); expected.pop(n); continue
                    received[n] += chunk
                    if len(received[n]) == 100:
                        if received[n] != expected[n]: mismatches += 1
                        exchanges += 1; sel.unregister(sockets[n]); expected.pop(n)
            for n in expected: timeouts += 1; alive.discard(n)
            sel.close()
            round += 1
            time.sleep(max(0, started + 0.05 - time.time()))
        print(json.dumps({'alive': len(alive), 'resets': resets, 'timeouts': timeouts, 'mismatches': mismatches, 'exchanges': exchanges}))
        """

    struct Outcome {
        var alive = 0, resets = 0, timeouts = 0, mismatches = 0
        var probesSent = 0, probesReceived = 0
        var longestGap = 0.0
        /// The gap between echoes the kill fell in.
        var restartGap = 0.0
        /// From the new process's start to the first echo after the restart's gap.
        var resumedAfterStart = 0.0
        var logLine = ""
        /// The new gwlbd's drops by reason.
        var drops = ""
        /// The probe's gaps over 20 ms, from the kill.
        var gaps = ""
    }

    func run() throws {
        let gwlbd = binaries + "/gwlbd", gwlb = binaries + "/gwlb"
        for binary in [gwlbd, gwlb] where !FileManager.default.isExecutableFile(atPath: binary) {
            throw BenchmarkError("restart needs \(binary): swift build -c release")
        }
        let lab = Lab(prefix: "gwlbrst", applianceCount: 2)
        defer { lab.down() }
        try lab.up(executable: executable, workers: 2)
        let state = "\(lab.stateDirectory)/state", socket = "\(lab.stateDirectory)/gwlb.sock", log = "\(lab.stateDirectory)/gwlbd.log"
        let sharedPath = lab.sharedStatePath
        let helper = ForwardBenchmark(seconds: 1, workers: 2, repetitions: 1)
        func startDaemon(sharing: Bool) throws -> ChildProcess {
            try ChildProcess(["ip", "netns", "exec", lab.router, gwlbd, "--state-dir", state, "--socket", socket,
                              "--geneve-address", Lab.geneveAddress, "--shared-state", sharing ? sharedPath : "none"],
                             output: .file(log), errors: .file(log))
        }
        func call(_ arguments: [String]) throws -> [String: Any] {
            let output = try lab.exec(lab.router, [gwlb] + arguments + ["--socket", socket])
            return (try? JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any]) ?? [:]
        }
        var daemon = try startDaemon(sharing: true)
        defer { daemon.terminate(); daemon.waitUntilExit() }
        for _ in 0..<50 where (try? call(["describe-load-balancers"])) == nil { usleep(200_000) }
        let lb = ((try call(["create-load-balancer", "--name", "restart", "--type", "gateway"])["LoadBalancers"]
            as? [[String: Any]])?.first?["LoadBalancerArn"] as? String) ?? ""
        let tg = ((try call(["create-target-group", "--name", "restart", "--protocol", "GENEVE", "--port", "6081",
                             "--health-check-interval-seconds", "5", "--healthy-threshold-count", "2"])["TargetGroups"]
            as? [[String: Any]])?.first?["TargetGroupArn"] as? String) ?? ""
        _ = try call(["register-targets", "--target-group-arn", tg, "--targets", "Id=\(Lab.applianceAddress(1))", "Id=\(Lab.applianceAddress(2))"])
        _ = try call(["create-listener", "--load-balancer-arn", lb, "--default-actions", "Type=forward,TargetGroupArn=\(tg)"])
        _ = try call(["create-endpoint", "--load-balancer-arn", lb, "--interface", Lab.endpointInterface,
                      "--endpoint-id", Lab.endpointID, "--attachment-id", Lab.attachmentID])
        for _ in 0..<60 {
            let health = (try call(["describe-target-health", "--target-group-arn", tg])["TargetHealthDescriptions"] as? [[String: Any]]) ?? []
            if health.count == 2, health.allSatisfy({ ($0["TargetHealth"] as? [String: Any])?["State"] as? String == "healthy" }) { break }
            sleep(1)
        }
        let echo = try helper.start(lab.server, ["python3", "-c", LabPrograms.tcpEcho, "5050"])
        defer { echo.terminate() }
        for _ in 0..<50 where !((try? lab.exec(lab.server, ["ss", "-Hlnt", "sport = :5050"])) ?? "").contains("5050") { usleep(100_000) }
        print("gwlb-bench restart: lab \(lab.prefix), 2 appliances, gwlbd with 2 workers; \(connections) TCP connections (a message every 50 ms each) and a ping every 5 ms; gwlbd killed with SIGKILL and started again")

        func measure(sharing: Bool) throws -> Outcome {
            let seconds = 12.0
            let clients = try helper.start(lab.client, ["python3", "-c", Self.tcpClients, Lab.serverAddress, "5050", String(connections), String(seconds)],
                                           capture: true)
            // The probe: ping's echoes every 5 ms, each reply stamped with its arrival (-D).
            let probe = try helper.start(lab.client, ["ping", "-n", "-D", "-i", "0.005", "-W", "1", "-w", String(Int(seconds)), Lab.serverAddress],
                                         capture: true)
            // Read as it comes: ping's thousands of lines would fill the pipe and stall it.
            let probeReader = Shell.PipeReader(probe.standardOutput!)
            sleep(4)
            let killed = Date().timeIntervalSince1970
            daemon.signal(SIGKILL)
            daemon.waitUntilExit()
            // `ip netns exec` is the process killed; gwlbd itself is its child after exec: the same pid.
            let started = Date().timeIntervalSince1970
            daemon = try startDaemon(sharing: sharing)
            print("  killed, new gwlbd started \(Int((started - killed) * 1000)) ms after the kill")
            let clientText = String(decoding: clients.standardOutput!.readDataToEndOfFile(), as: UTF8.self)
            let probeText = String(decoding: probeReader.wait(), as: UTF8.self)
            for process in [clients, probe] { process.waitUntilExit() }
            var outcome = Outcome()
            if let result = try? JSONSerialization.jsonObject(with: Data(clientText.utf8)) as? [String: Any] {
                outcome.alive = result["alive"] as? Int ?? 0
                outcome.resets = result["resets"] as? Int ?? 0
                outcome.timeouts = result["timeouts"] as? Int ?? 0
                outcome.mismatches = result["mismatches"] as? Int ?? 0
            } else {
                throw BenchmarkError("the TCP clients printed no result: \(clientText)")
            }
            // "[1764770000.123456] 64 bytes from …: icmp_seq=7 …" per echo, then "N packets transmitted, M received".
            let replies = probeText.split(separator: "\n").compactMap { line -> Double? in
                guard line.hasPrefix("["), line.contains("icmp_seq="), let close = line.firstIndex(of: "]") else { return nil }
                return Double(line[line.index(after: line.startIndex)..<close])
            }
            if let summary = probeText.split(separator: "\n").first(where: { $0.contains("packets transmitted") }) {
                let numbers = summary.split(separator: " ").compactMap { Int($0) }
                if numbers.count >= 2 { (outcome.probesSent, outcome.probesReceived) = (numbers[0], numbers[1]) }
            }
            let gaps = zip(replies, replies.dropFirst()).filter { $1 - $0 > 0.02 }
            let longest = gaps.max { $0.1 - $0.0 < $1.1 - $1.0 } ?? (started, started)
            outcome.longestGap = longest.1 - longest.0
            // The gap the kill falls in: its end is when forwarding came back.
            let across = gaps.first { $0.0 <= killed && $0.1 > killed } ?? (killed, killed)
            outcome.restartGap = across.1 - across.0
            outcome.resumedAfterStart = max(0, across.1 - started)
            outcome.gaps = gaps.map { String(format: "%.0f–%.0f ms", ($0.0 - killed) * 1000, ($0.1 - killed) * 1000) }.joined(separator: ", ")
            outcome.logLine = ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n")
                .first { $0.contains("shared flow state") }.map(String.init) ?? "(no shared flow state)"
            let stats = (try? lab.exec(lab.router, ["curl", "-s", "--unix-socket", socket, "http://localhost/v1/stats"])) ?? ""
            let drops = ((try? JSONSerialization.jsonObject(with: Data(stats.utf8)) as? [String: Any])?["drops"] as? [String: Int]) ?? [:]
            outcome.drops = drops.filter { $0.value > 0 }.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            // Let the connections of this round end before the next.
            sleep(2)
            return outcome
        }
        let shared = try measure(sharing: true)
        let baseline = try measure(sharing: false)
        var report = Report()
        let without = "restart without it"
        report.add("TCP connections carrying on to the end", Double(shared.alive), "conn", baseline: (without, Double(baseline.alive)))
        report.add("connections reset", Double(shared.resets), "conn", baseline: (without, Double(baseline.resets)))
        report.add("connections stalled (3 s without an echo)", Double(shared.timeouts), "conn", baseline: (without, Double(baseline.timeouts)))
        report.add("echoes that came back wrong", Double(shared.mismatches), "msg", baseline: (without, Double(baseline.mismatches)))
        report.add("ping: gap across the restart", shared.restartGap * 1000, "ms", baseline: (without, baseline.restartGap * 1000))
        report.add("ping: longest gap in the whole run", shared.longestGap * 1000, "ms", baseline: (without, baseline.longestGap * 1000))
        report.add("forwarding back, after the new gwlbd started", shared.resumedAfterStart * 1000, "ms",
                   baseline: (without, baseline.resumedAfterStart * 1000), goal: "<= 1000 ms")
        report.add("pings lost (of \(shared.probesSent), \(baseline.probesSent))", Double(shared.probesSent - shared.probesReceived), "pkt",
                   baseline: (without, Double(baseline.probesSent - baseline.probesReceived)))
        report.print()
        print("new gwlbd, with it: \(shared.logLine); drops: \(shared.drops.isEmpty ? "none" : shared.drops); probe gaps from the kill: \(shared.gaps)")
        print("new gwlbd, without: \(baseline.logLine); drops: \(baseline.drops.isEmpty ? "none" : baseline.drops); probe gaps from the kill: \(baseline.gaps)")
    }
}
