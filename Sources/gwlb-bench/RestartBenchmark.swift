import ControlContract
import Foundation
import Lab

/// `gwlb-bench restart`: gwlbd (API form) replaced under load: 200 long-lived TCP connections
/// exchanging a message every 50 ms each, a single-stream iperf3 and a ping every 5 ms. Four runs:
/// no restart at all (what the load alone does: the noise floor), an upgrade (`gwlbd --takeover`:
/// the new process is handed the devices, sockets and flows), a crash (SIGKILL, then started again
/// as systemd's `Restart=always` would) with the shared flow state, and the same crash without it
/// (`--shared-state none`, what every restart did before the flows outlived gwlbd). Reports the
/// connections that carried on, resets, the packets lost (ping, TCP retransmissions, the kernel's
/// drops at the endpoint device and the GENEVE sockets, gwlbd's own), the pings' longest gap and
/// iperf3's dip: the time at full rate its 100 ms intervals fell short by.
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

    enum Mode: CustomStringConvertible {
        case steady, upgrade, crash(sharing: Bool)
        var description: String {
            switch self {
            case .steady: "no restart"
            case .upgrade: "upgrade"
            case .crash(let sharing): sharing ? "crash" : "crash, no shared state"
            }
        }
    }

    struct Outcome {
        var alive = 0, resets = 0, timeouts = 0, mismatches = 0
        var probesSent = 0, probesReceived = 0
        var longestGap = 0.0
        /// The longest ping gap ending in the 3 s after the event (the forwarding stall), and for
        /// a crash, from the new process's start to that gap's end.
        var stall = 0.0, resumedAfterStart = Double.nan
        /// iperf3: the median rate of its 100 ms intervals, and the time at that rate by which the
        /// intervals from 0.5 s before the event to 2.5 s after it fell short of it (the dip).
        var medianGigabits = 0.0, dip = 0.0
        var retransmits = 0
        var stallEnd = 0.0
        /// The router's kernel counters: endpoint-device transmit drops (packets for gwlbd that
        /// found no room in its queue, or no reader) and UDP receive-buffer errors (GENEVE returns).
        var deviceDrops = 0, socketDrops = 0
        /// gwlbd's drops by reason over the run (the old process's before the event, the new one's after).
        var drops: [String: Int] = [:]
        var logLine = ""
    }

    func run() throws {
        let gwlbd = binaries + "/gwlbd", gwlb = binaries + "/gwlb"
        for binary in [gwlbd, gwlb] where !FileManager.default.isExecutableFile(atPath: binary) {
            throw BenchmarkError("restart needs \(binary): swift build -c release")
        }
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/iperf3") else { throw BenchmarkError("restart needs iperf3: apt-get install -y iperf3") }
        let lab = Lab(prefix: "gwlbrst", applianceCount: 2)
        defer { lab.down() }
        try lab.up(executable: executable, workers: 2)
        let state = "\(lab.stateDirectory)/state", socket = "\(lab.stateDirectory)/gwlb.sock", log = "\(lab.stateDirectory)/gwlbd.log"
        let sharedPath = lab.sharedStatePath
        let helper = ForwardBenchmark(seconds: 1, workers: 2, repetitions: 1)
        func startDaemon(sharing: Bool, takeover: Bool = false) throws -> ChildProcess {
            try ChildProcess(["ip", "netns", "exec", lab.router, gwlbd, "--state-dir", state, "--socket", socket,
                              "--geneve-address", Lab.geneveAddress, "--shared-state", sharing ? sharedPath : "none"] + (takeover ? ["--takeover"] : []),
                             output: .file(log), errors: .file(log))
        }
        func call(_ arguments: [String]) throws -> JSONValue {
            let output = try lab.exec(lab.router, [gwlb] + arguments + ["--socket", socket])
            return (try? JSONValue.parse(output)) ?? .object([])
        }
        var daemon = try startDaemon(sharing: true)
        defer { daemon.terminate(); daemon.waitUntilExit() }
        for _ in 0..<50 where (try? call(["describe-load-balancers"])) == nil { usleep(200_000) }
        let lb = try call(["create-load-balancer", "--name", "restart", "--type", "gateway"]).firstString("LoadBalancers", "LoadBalancerArn") ?? ""
        let tg = try call(["create-target-group", "--name", "restart", "--protocol", "GENEVE", "--port", "6081",
                           "--health-check-interval-seconds", "5", "--healthy-threshold-count", "2"]).firstString("TargetGroups", "TargetGroupArn") ?? ""
        _ = try call(["register-targets", "--target-group-arn", tg, "--targets", "Id=\(Lab.applianceAddress(1))", "Id=\(Lab.applianceAddress(2))"])
        _ = try call(["create-listener", "--load-balancer-arn", lb, "--default-actions", "Type=forward,TargetGroupArn=\(tg)"])
        _ = try call(["create-endpoint", "--load-balancer-arn", lb, "--interface", Lab.endpointInterface,
                      "--endpoint-id", Lab.endpointID, "--attachment-id", Lab.attachmentID])
        for _ in 0..<60 {
            let health = try call(["describe-target-health", "--target-group-arn", tg])["TargetHealthDescriptions"]?.arrayValue ?? []
            if health.count == 2, health.allSatisfy({ $0["TargetHealth"]?["State"] == "healthy" }) { break }
            sleep(1)
        }
        let echo = try helper.start(lab.server, ["python3", "-c", LabPrograms.tcpEcho, "5050"])
        defer { echo.terminate() }
        for _ in 0..<50 where !((try? lab.exec(lab.server, ["ss", "-Hlnt", "sport = :5050"])) ?? "").contains("5050") { usleep(100_000) }
        print("gwlb-bench restart: lab \(lab.prefix), 2 appliances, gwlbd with 2 workers; \(connections) TCP connections (a message every 50 ms each), a single-stream iperf3 and a ping every 5 ms for 12 s; at 4 s gwlbd is upgraded (--takeover) or killed with SIGKILL and started again")

        func gwlbdDrops() -> [String: Int] {
            let stats = (try? lab.exec(lab.router, ["curl", "-s", "--max-time", "5", "--unix-socket", socket, "http://localhost/v1/stats"])) ?? ""
            return (try? ContractCoding.decode(StatsReport.self, from: Data(stats.utf8)))?.drops.mapValues { Int($0) } ?? [:]
        }
        func kernelDrops() throws -> (device: Int, socket: Int) {
            (try Self.deviceDrops(lab), try Self.udpReceiveBufferErrors(lab))
        }

        func measure(_ mode: Mode, iperfPort: Int) throws -> Outcome {
            let seconds = 12.0
            let iperfServer = try helper.start(lab.server, ["iperf3", "-s", "-1", "-p", String(iperfPort)])
            defer { iperfServer.terminate() }
            for _ in 0..<50 where !((try? lab.exec(lab.server, ["ss", "-Hlnt", "sport = :\(iperfPort)"])) ?? "").contains("\(iperfPort)") { usleep(100_000) }
            let (deviceBefore, socketBefore) = try kernelDrops()
            let clients = try helper.start(lab.client, ["python3", "-c", Self.tcpClients, Lab.serverAddress, "5050", String(connections), String(seconds)],
                                           capture: true)
            let bulkLaunched = Date().timeIntervalSince1970
            let bulk = try helper.start(lab.client, ["iperf3", "-c", Lab.serverAddress, "-p", String(iperfPort), "-t", String(Int(seconds)),
                                                     "-i", "0.1", "-J"], capture: true)
            // The probe: ping's echoes every 5 ms, each reply stamped with its arrival (-D).
            let probe = try helper.start(lab.client, ["ping", "-n", "-D", "-i", "0.002", "-W", "1", "-w", String(Int(seconds)), Lab.serverAddress],
                                         capture: true)
            // Read as they come: ping's thousands of lines would fill the pipe and stall it.
            let probeReader = Shell.PipeReader(probe.standardOutput!), bulkReader = Shell.PipeReader(bulk.standardOutput!)
            sleep(4)
            var outcome = Outcome()
            let dropsBefore = gwlbdDrops()
            let logBefore = (try? FileManager.default.attributesOfItem(atPath: log)[.size] as? Int) ?? 0
            let event = Date().timeIntervalSince1970
            var started = event
            switch mode {
            case .steady:
                break
            case .upgrade:
                let successor = try startDaemon(sharing: true, takeover: true)
                // The old gwlbd exits once the new one said it runs.
                for _ in 0..<400 where daemon.isRunning && successor.isRunning { usleep(50_000) }
                guard !daemon.isRunning, successor.isRunning else {
                    throw BenchmarkError("the takeover did not complete; gwlbd's log: \(log)")
                }
                daemon.waitUntilExit()
                daemon = successor
            case .crash(let sharing):
                daemon.signal(SIGKILL)
                daemon.waitUntilExit()
                // `ip netns exec` is the process killed; gwlbd itself is its child after exec: the same pid.
                started = Date().timeIntervalSince1970
                daemon = try startDaemon(sharing: sharing)
            }
            let clientText = String(decoding: clients.standardOutput!.readDataToEndOfFile(), as: UTF8.self)
            let probeText = String(decoding: probeReader.wait(), as: UTF8.self)
            // A connection the restart broke leaves iperf3 waiting for its end; interrupted, it
            // reports what it measured.
            for _ in 0..<50 where bulk.isRunning { usleep(100_000) }
            if bulk.isRunning { bulk.signal(SIGINT) }
            let bulkText = String(decoding: bulkReader.wait(), as: UTF8.self)
            for process in [clients, probe, bulk] { process.waitUntilExit() }
            guard let result = try? JSONValue.parse(clientText) else {
                throw BenchmarkError("the TCP clients printed no result: \(clientText)")
            }
            outcome.alive = result["alive"]?.intValue ?? 0
            outcome.resets = result["resets"]?.intValue ?? 0
            outcome.timeouts = result["timeouts"]?.intValue ?? 0
            outcome.mismatches = result["mismatches"]?.intValue ?? 0
            (outcome.medianGigabits, outcome.dip, outcome.retransmits) = Self.bulkDip(bulkText, seconds: seconds, event: event - bulkLaunched)
            Self.readProbe(probeText, event: event, into: &outcome)
            if case .crash = mode { outcome.resumedAfterStart = max(0, outcome.stallEnd - started) }
            let (deviceAfter, socketAfter) = try kernelDrops()
            (outcome.deviceDrops, outcome.socketDrops) = (deviceAfter - deviceBefore, socketAfter - socketBefore)
            // The same process's counters only grow; a new process's start from zero.
            outcome.drops = gwlbdDrops().merging(mode.isRestart ? dropsBefore : [:], uniquingKeysWith: +).filter { $0.value > 0 }
            let logText = String(decoding: (try? Data(contentsOf: URL(fileURLWithPath: log))) ?? Data(), as: UTF8.self)
            outcome.logLine = logText.utf8.dropFirst(logBefore).split(separator: UInt8(ascii: "\n")).map { String(decoding: $0, as: UTF8.self) }
                .filter { $0.contains("shared flow state") || $0.contains("took over") }.joined(separator: "; ")
            // Let the connections of this round end before the next.
            sleep(2)
            return outcome
        }
        // The restart without shared state last: the connections it breaks resend for a while.
        let modes: [Mode] = [.steady, .upgrade, .crash(sharing: true), .crash(sharing: false)]
        let outcomes = try modes.enumerated().map { index, mode in
            let outcome = try measure(mode, iperfPort: 5201 + index)
            print("  \(mode): done")
            return outcome
        }
        Self.printTable(modes: modes, outcomes: outcomes, connections: connections)
        for (mode, outcome) in zip(modes, outcomes) {
            let drops = outcome.drops.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            print("\(mode): gwlbd's drops: \(drops.isEmpty ? "none" : drops); log: \(outcome.logLine)")
        }
    }

    static func printTable(modes: [Mode], outcomes: [Outcome], connections: Int) {
        func pad(_ text: String, _ width: Int) -> String { text + String(repeating: " ", count: max(0, width - text.count)) }
        func ms(_ seconds: Double) -> String { seconds.isNaN ? "-" : "\(Int((seconds * 1000).rounded())) ms" }
        let rows: [(String, (Outcome) -> String)] = [
            ("TCP connections carrying on (of \(connections))", { "\($0.alive)" }),
            ("connections reset / stalled 3 s", { "\($0.resets) / \($0.timeouts)" }),
            ("echoes that came back wrong", { "\($0.mismatches)" }),
            ("iperf3: median rate (100 ms intervals)", { String(format: "%.2f Gbit/s", $0.medianGigabits) }),
            ("iperf3: dip (time at full rate lost)", { ms($0.dip) }),
            ("iperf3: TCP retransmissions", { "\($0.retransmits)" }),
            ("pings lost (before the last answered)", { "\($0.probesSent - $0.probesReceived) of \($0.probesSent)" }),
            ("ping: longest gap in 3 s from the event", { ms($0.stall) }),
            ("ping: longest gap in the run", { ms($0.longestGap) }),
            ("forwarding back after the new gwlbd started", { ms($0.resumedAfterStart) }),
            ("endpoint device: kernel tx drops", { "\($0.deviceDrops)" }),
            ("GENEVE sockets: kernel receive-buffer drops", { "\($0.socketDrops)" }),
            ("gwlbd's drops (but oversize: path MTU)", { "\($0.drops.filter { $0.key != "oversize" }.values.reduce(0, +))" }),
        ]
        print(pad("figure", 46) + modes.map { pad($0.description, 24) }.joined())
        for (name, value) in rows { print(pad(name, 46) + outcomes.map { pad(value($0), 24) }.joined()) }
    }

    /// iperf3's `-i 0.1 -J` report: the median rate of its intervals after the first second (slow
    /// start); the dip, Σ max(0, median − rate) / median × interval over the intervals from 0.5 s
    /// before `event` (seconds from iperf3's start) to 2.5 s after, an interval it never reported
    /// (a stalled or broken connection) counting whole; and the sender's retransmissions.
    static func bulkDip(_ text: String, seconds: Double, event: Double) -> (gigabits: Double, dip: Double, retransmits: Int) {
        guard let json = try? JSONValue.parse(text) else { return (0, .nan, 0) }
        let intervals = (json["intervals"]?.arrayValue ?? []).compactMap { $0["sum"] }
            .compactMap { sum -> (start: Double, length: Double, bits: Double)? in
                guard let start = sum["start"]?.doubleValue, let length = sum["seconds"]?.doubleValue, let bits = sum["bits_per_second"]?.doubleValue,
                      start >= 1, start + length <= seconds - 0.05 else { return nil }
                return (start, length, bits)
            }
        let rates = intervals.map(\.bits).sorted()
        guard !rates.isEmpty else { return (0, .nan, 0) }
        let median = rates[rates.count / 2]
        let window = intervals.filter { $0.start >= event - 0.5 && $0.start < event + 2.5 }
        let missing = max(0, 3 - window.reduce(0) { $0 + $1.length })
        let dip = window.reduce(missing) { $0 + max(0, median - $1.bits) / median * $1.length }
        let retransmits = json["end"]?["sum_sent"]?["retransmits"]?.intValue ?? 0
        return (median / 1e9, dip, retransmits)
    }

    /// Ping's `-D` lines, "[1764770000.123456] 64 bytes from …: icmp_seq=7 …" per echo, then
    /// "N packets transmitted, M received": losses, the longest gap, the longest in 3 s from the event.
    static func readProbe(_ text: String, event: Double, into outcome: inout Outcome) {
        let replies = text.split(separator: "\n").compactMap { line -> Double? in
            guard line.hasPrefix("["), line.contains("icmp_seq="), let close = line.firstIndex(of: "]") else { return nil }
            return Double(line[line.index(after: line.startIndex)..<close])
        }
        // Lost: the requests before the last answered one that got no answer (the one in flight
        // when ping's deadline came is not a loss).
        let answered = Set(text.split(separator: "\n").compactMap { line in
            line.split(separator: " ").first { $0.hasPrefix("icmp_seq=") }.flatMap { Int($0.dropFirst("icmp_seq=".count)) }
        })
        (outcome.probesSent, outcome.probesReceived) = (answered.max() ?? 0, answered.count)
        let gaps = zip(replies, replies.dropFirst()).map { (from: $0, to: $1) }
        outcome.longestGap = gaps.map { $0.to - $0.from }.max() ?? .nan
        let stall = gaps.filter { $0.to > event && $0.to <= event + 3 }.max { $0.to - $0.from < $1.to - $1.from }
        outcome.stall = stall.map { $0.to - $0.from } ?? .nan
        outcome.stallEnd = stall?.to ?? .nan
    }

    /// The endpoint device's transmit drops in the router.
    static func deviceDrops(_ lab: Lab) throws -> Int {
        let output = try lab.exec(lab.router, ["ip", "-s", "-j", "link", "show", Lab.endpointInterface])
        return (try JSONValue.parse(output)).arrayValue?.first?["stats64"]?["tx"]?["dropped"]?.intValue ?? 0
    }

    /// The router's UDP `RcvbufErrors` (/proc/net/snmp is per network namespace).
    static func udpReceiveBufferErrors(_ lab: Lab) throws -> Int {
        let lines = try lab.exec(lab.router, ["cat", "/proc/net/snmp"]).split(separator: "\n").filter { $0.hasPrefix("Udp:") }
        guard lines.count >= 2 else { return 0 }
        let fields = zip(lines[0].split(separator: " "), lines[1].split(separator: " "))
        return fields.first { $0.0 == "RcvbufErrors" }.flatMap { Int($0.1) } ?? 0
    }
}

extension RestartBenchmark.Mode {
    var isRestart: Bool { if case .steady = self { false } else { true } }
}
