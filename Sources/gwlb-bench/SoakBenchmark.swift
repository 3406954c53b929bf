import ControlContract
import Foundation
import Lab

/// `gwlb-bench soak --minutes N`: gwlbd (API form) in a lab with two reference appliances, under
/// everything at once for N minutes: short UDP flows arriving and ending at about 1,000 a second,
/// 20 long-lived flows that must lose nothing, targets registered and deregistered every 3 seconds
/// over more than 1,024 distinct addresses (so target slots are retired and reused), a second
/// endpoint created and deleted every 10 seconds, a drop capture and the console (in tmux) attached
/// throughout. Samples gwlbd's RSS, descriptors and threads every
/// second; reports their growth from the minute after a warm-up (the first fifth) to the last
/// minute (means over whole minutes, so the endpoint that comes and goes weighs the same in both).
struct SoakBenchmark {
    let minutes: Int
    let executable = CommandLine.selfExecutable
    var binaries: String { (executable as NSString).deletingLastPathComponent }

    /// In the client: `longFlows HOST PORT FLOWS SECONDS`: FLOWS sockets each send 10 datagrams a
    /// second; at the end prints "sent echoed" per flow.
    static let longFlows = """
        import select, socket, sys, time
        host, port, flows, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
        sockets = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(flows)]
        for s in sockets:
            s.setblocking(False)
        sent, echoed = [0] * flows, [0] * flows
        def collect(until):
            while time.time() < until:
                ready, _, _ = select.select(sockets, [], [], max(0, until - time.time()))
                for s in ready:
                    try:
                        while True:
                            s.recv(100)
                            echoed[sockets.index(s)] += 1
                    except BlockingIOError:
                        pass
        due, end = time.time(), time.time() + seconds
        while due < end:
            for index, s in enumerate(sockets):
                s.sendto(b'soak' * 8, (host, port))
                sent[index] += 1
            due += 0.1
            collect(due)
        collect(time.time() + 2)
        for index in range(flows):
            print(sent[index], echoed[index])
        """

    /// In the client: `shortFlows HOST PORT RATE SECONDS`: RATE new flows a second, one datagram
    /// each from a fresh socket to a port of its own (PORT and up: a fresh five-tuple each, while
    /// source ports are reused); prints how many were sent.
    static let shortFlows = """
        import socket, sys, time
        host, port, rate, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
        count, due, end = 0, time.time(), time.time() + seconds
        while due < end:
            for _ in range(rate // 100):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                s.sendto(b'short', (host, port + count % 40000))
                s.close()
                count += 1
            due += 0.01
            time.sleep(max(0, due - time.time()))
        print(count)
        """

    /// In the server: `udpEcho ADDRESS PORT`: answers every datagram with itself.
    static let udpEcho = """
        import socket, sys
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        s.bind((sys.argv[1], int(sys.argv[2])))
        while True:
            data, peer = s.recvfrom(65535)
            s.sendto(data, peer)
        """

    struct Sample {
        var rss: Int, descriptors: Int, threads: Int
    }

    func run() throws {
        let gwlbd = binaries + "/gwlbd", gwlb = binaries + "/gwlb"
        for binary in [gwlbd, gwlb] where !FileManager.default.isExecutableFile(atPath: binary) {
            throw BenchmarkError("soak needs \(binary): swift build -c release")
        }
        let lab = Lab(prefix: "gwlbsoak", applianceCount: 2)
        defer { lab.down() }
        try lab.up(executable: executable, workers: 2)
        let state = "\(lab.stateDirectory)/state", socket = "\(lab.stateDirectory)/gwlb.sock"
        let forward = ForwardBenchmark(seconds: 1, workers: 2, repetitions: 1)
        let daemon = try forward.start(lab.router, [gwlbd, "--state-dir", state, "--socket", socket, "--geneve-address", Lab.geneveAddress,
                                                        "--shared-state", lab.sharedStatePath])
        defer { daemon.terminate(); daemon.waitUntilExit() }
        func call(_ arguments: [String]) throws -> JSONValue {
            let output = try lab.exec(lab.router, [gwlb] + arguments + ["--socket", socket])
            return (try? JSONValue.parse(output)) ?? .object([])
        }
        for _ in 0..<50 where (try? call(["describe-load-balancers"])) == nil { usleep(200_000) }
        let lb = try call(["create-load-balancer", "--name", "soak", "--type", "gateway", "--subnets", "subnet-1"])
            .firstString("LoadBalancers", "LoadBalancerArn") ?? ""
        let tg = try call(["create-target-group", "--name", "soak", "--protocol", "GENEVE", "--port", "6081", "--vpc-id", "vpc-1"])
            .firstString("TargetGroups", "TargetGroupArn") ?? ""
        _ = try call(["modify-target-group-attributes", "--target-group-arn", tg, "--attributes", "Key=deregistration_delay.timeout_seconds,Value=0"])
        _ = try call(["register-targets", "--target-group-arn", tg, "--targets", "Id=\(Lab.applianceAddress(1))", "Id=\(Lab.applianceAddress(2))"])
        _ = try call(["create-listener", "--load-balancer-arn", lb, "--default-actions", "Type=forward,TargetGroupArn=\(tg)"])
        _ = try call(["create-endpoint", "--load-balancer-arn", lb, "--interface", Lab.endpointInterface,
                      "--endpoint-id", Lab.endpointID, "--attachment-id", Lab.attachmentID])
        for _ in 0..<60 {
            let health = try call(["describe-target-health", "--target-group-arn", tg])["TargetHealthDescriptions"]?.arrayValue ?? []
            if health.count == 2, health.allSatisfy({ $0["TargetHealth"]?["State"] == "healthy" }) { break }
            sleep(1)
        }
        let seconds = minutes * 60
        let echo = try forward.start(lab.server, ["python3", "-c", Self.udpEcho, Lab.serverAddress, "5001"])
        defer { echo.terminate() }
        // The flows start once the echo server listens: a datagram before that is the kernel's
        // port unreachable (NoPorts), a loss of the harness's, not gwlbd's.
        for _ in 0..<50 where !((try? lab.exec(lab.server, ["ss", "-Hlun", "sport = :5001"])) ?? "").contains("5001") { usleep(100_000) }
        let long = try forward.start(lab.client, ["python3", "-c", Self.longFlows, Lab.serverAddress, "5001", "20", String(seconds)], capture: true)
        let short = try forward.start(lab.client, ["python3", "-c", Self.shortFlows, Lab.serverAddress, "20000", "1000", String(seconds)], capture: true)
        // The real console, in a tmux server of the soak's own (120×40), for the whole run.
        let tmux = ["tmux", "-L", "\(lab.prefix)-soak"]
        guard try Shell.launch(tmux + ["new-session", "-d", "-s", "console", "-x", "120", "-y", "40", "\(gwlb) console --socket \(socket)"]) == 0 else {
            throw BenchmarkError("cannot start the console in tmux (apt-get install -y tmux)")
        }
        defer { _ = try? Shell.execute(tmux + ["kill-server"]) }
        let consolePID = try Self.processID(matching: "\(gwlb) console --socket \(socket)", named: "gwlb")
        let capture = try forward.start(lab.router, [gwlb, "capture", "--drops", "-w", "\(lab.stateDirectory)/drops.pcapng", "--socket", socket])
        defer { capture.terminate() }

        let pid = try Self.processID(matching: "gwlbd --state-dir \(state)", named: "gwlbd")
        print("gwlb-bench soak: \(minutes) min, lab \(lab.prefix), 2 appliances, gwlbd pid \(pid) with 2 workers; 1,000 short flows/s, 20 long flows, targets churned every 3 s, an endpoint every 10 s, a capture and the console attached")
        var samples: [Sample] = [], consoleSamples: [Sample] = []
        var registered: [String] = []
        var nextAddress = 0
        var endpointID: String?
        let start = Date()
        for second in 0..<seconds {
            if second % 3 == 0 {
                // 8 new addresses (never reachable: they turn unhealthy and get no flows), the last 8 leave.
                let fresh = (0..<8).map { _ -> String in
                    nextAddress += 1
                    return "198.18.\(2 + nextAddress / 250).\(1 + nextAddress % 250)"
                }
                if !registered.isEmpty {
                    _ = try? call(["deregister-targets", "--target-group-arn", tg, "--targets"] + registered.map { "Id=\($0)" })
                }
                _ = try? call(["register-targets", "--target-group-arn", tg, "--targets"] + fresh.map { "Id=\($0)" })
                registered = fresh
            }
            if second % 10 == 5 {
                if let id = endpointID {
                    _ = try? call(["delete-endpoint", "--endpoint-id", id])
                    endpointID = nil
                } else {
                    endpointID = (try? call(["create-endpoint", "--load-balancer-arn", lb, "--interface", "gwlbsoak1"]))?
                        .firstString("Endpoints", "EndpointId")
                }
            }
            samples.append(try Self.sample(pid))
            guard let console = try? Self.sample(consolePID) else { throw BenchmarkError("the console died after \(second) s") }
            consoleSamples.append(console)
            let next = start.addingTimeInterval(Double(second + 1))
            if next > Date() { usleep(UInt32(next.timeIntervalSinceNow * 1_000_000)) }
        }
        long.waitUntilExit()
        short.waitUntilExit()
        let flows = String(decoding: long.standardOutput!.readDataToEndOfFile(), as: UTF8.self).split(separator: "\n")
            .map { $0.split(separator: " ").compactMap { Int($0) } }.filter { $0.count == 2 }
        let shortCount = String(decoding: short.standardOutput!.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        let statistics = try ContractCoding.decode(StatsReport.self,
                                                   from: Data(try lab.exec(lab.router, ["curl", "-s", "--unix-socket", socket, "http://localhost/v1/stats"]).utf8))

        let screen = (try? Shell.execute(tmux + ["capture-pane", "-p", "-t", "console"]).output) ?? ""
        let warm = samples.count / 5
        func growth(_ value: (Sample) -> Int, of samples: [Sample] = samples) -> String {
            let first = samples[warm..<min(samples.count, warm + 60)], last = samples.suffix(60)
            func mean(_ slice: ArraySlice<Sample>) -> Double { Double(slice.map(value).reduce(0, +)) / Double(max(slice.count, 1)) }
            let (start, end) = (mean(first), mean(last))
            return String(format: "%.1f → %.1f (%+.2f %%)", start, end, (end - start) / start * 100)
        }
        let kernelDrops = ["rx_dropped", "tx_dropped"].map { name in
            "\(name) \(((try? lab.exec(lab.router, ["cat", "/sys/class/net/\(Lab.endpointInterface)/statistics/\(name)"])) ?? "?").trimmingCharacters(in: .whitespacesAndNewlines))"
        }
        print("| figure | mean of the minute after warm-up (\(warm) s) → mean of the last minute | goal |")
        print("|---|---|---|")
        print("| RSS (KiB) | \(growth(\.rss)) | ≤ +1 % |")
        print("| descriptors | \(growth(\.descriptors)) | ≤ +1 % |")
        print("| threads | \(growth(\.threads)) | |")
        print("| the console's RSS (KiB) | \(growth(\.rss, of: consoleSamples)) | ≤ +1 % |")
        print("| the console's descriptors | \(growth(\.descriptors, of: consoleSamples)) | ≤ +1 % |")
        let lost = flows.map { $0[0] - $0[1] }
        print("long-lived flows (both appliances healthy throughout): \(flows.count) flows, \(flows.map { $0[0] }.reduce(0, +)) datagrams sent, \(lost.reduce(0, +)) not echoed (goal 0)")
        let drops = statistics.drops.filter { $0.value > 0 }.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
        print("short flows sent: \(shortCount); new flows counted by gwlbd: \(statistics.flows.new); distinct target addresses registered: \(nextAddress + 2); drops: \(drops.isEmpty ? "none" : drops.joined(separator: ", "))")
        if let slots = statistics.targetSlots { print("target slots at the end: \(slots)") }
        // Minute by minute: a plateau and a steady climb look alike in two means.
        func perMinute(_ samples: [Sample]) -> String {
            stride(from: 59, to: samples.count, by: 60).map { String(samples[$0].rss / 1024) }.joined(separator: " ")
        }
        print("RSS each minute (MiB): gwlbd \(perMinute(samples)); console \(perMinute(consoleSamples))")
        // Where a datagram could be lost outside gwlbd's own counters: every namespace's UDP receive errors.
        let udpErrors = ([lab.client, lab.router, lab.server] + (1...2).map(lab.appliance)).map { namespace in
            let snmp = (try? lab.exec(namespace, ["cat", "/proc/net/snmp"])) ?? ""
            let lines = snmp.split(separator: "\n").filter { $0.hasPrefix("Udp:") }.map { $0.split(separator: " ") }
            guard lines.count == 2 else { return "\(namespace) ?" }
            let fields = Dictionary(zip(lines[0].map(String.init), lines[1].map(String.init)), uniquingKeysWith: { a, _ in a })
            return "\(namespace) InErrors \(fields["InErrors"] ?? "?") RcvbufErrors \(fields["RcvbufErrors"] ?? "?") NoPorts \(fields["NoPorts"] ?? "?")"
        }
        print("UDP receive errors by namespace (the kernel's; NoPorts counts datagrams to a port nobody listens on): \(udpErrors.joined(separator: "; "))")
        print("the console's screen at the end, line 1: \(screen.split(separator: "\n").first ?? "(empty)")")
        print("the endpoint device's own drops (the kernel's, before gwlbd reads): \(kernelDrops.joined(separator: ", "))")
    }

    /// The process whose command line contains `command` and whose name is `name` (not the
    /// `ip netns exec` or shell that started it).
    static func processID(matching command: String, named name: String) throws -> Int32 {
        for _ in 0..<20 {
            let found = (try? Shell.execute(["pgrep", "-f", command]).output) ?? ""
            if let pid = found.split(separator: "\n").compactMap({ Int32($0) }).first(where: {
                (try? String(contentsOfFile: "/proc/\($0)/comm", encoding: .utf8))?.hasPrefix(name) == true
            }) { return pid }
            usleep(100_000)
        }
        throw BenchmarkError("\(name) is not running (\(command))")
    }

    static func sample(_ pid: Int32) throws -> Sample {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        func field(_ name: String) -> Int {
            status.split(separator: "\n").first { $0.hasPrefix(name + ":") }.flatMap { line in
                line.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first.flatMap { Int($0) }
            } ?? 0
        }
        let descriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? 0
        return Sample(rss: field("VmRSS"), descriptors: descriptors, threads: field("Threads"))
    }
}
