import ControlAPI
import ControlClient
import ControlPlane
import DataPlane
import Foundation
import Lab
import PacketIO
import Store
import Wire

/// `gwlb-bench console`: what `gwlb console` costs while it watches a busy gwlbd: its CPU and the
/// bytes it writes to the terminal per second, at 1 Hz, in tmux (120×40 unless told). Real parts: the API
/// server on a Unix socket over a SQLite store with N targets registered, and the `gwlb` binary in
/// a real terminal; the data plane is simulated so that every target's counters change every
/// second (the stream's worst case: each delta carries every row). The baseline is the same console
/// watching 3 targets.
struct ConsoleBenchmark {
    let targets: Int
    let seconds: Int
    var width = 120
    var height = 40

    func run() throws {
        guard (try? Shell.execute(["tmux", "-V"]).status) == 0 else { throw Failure("console needs tmux (apt-get install -y tmux)") }
        let gwlb = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("gwlb").path
        guard FileManager.default.isExecutableFile(atPath: gwlb) else { throw Failure("build gwlb first: swift build -c release") }
        print("gwlb-bench console: gwlb console at 1 Hz in tmux \(width)x\(height), every target's counters changing each second, \(seconds) s each")
        let busy = try measure(targets: targets, gwlb: gwlb)
        let small = try measure(targets: 3, gwlb: gwlb)
        var report = Report()
        report.add("console CPU, \(targets) targets", busy.cpu, "%", baseline: ("3 targets", small.cpu), goal: "≤ 2 %")
        report.add("bytes to the terminal, \(targets) targets", busy.bytes, "B/s", baseline: ("3 targets", small.bytes), goal: "≤ 2 KB/s at 80×24")
        if width != 120 || height != 40 { print("(at \(width)x\(height))") }
        report.print()
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    private func measure(targets count: Int, gwlb: String) throws -> (cpu: Double, bytes: Double) {
        let directory = NSTemporaryDirectory() + "gwlb-bench-console-\(getpid())-\(count)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let socketPath = directory + "/gwlb.sock"
        let service = try ControlPlaneService(store: CatalogStore(directory: directory), region: "us-east-1", account: "123456789012",
                                              ) { _ in }
        let addresses = (0..<count).map { "198.18.\(1 + $0 / 250).\(1 + $0 % 250)" }
        let slots = addresses.map { UDPPeer(address: IPv4Address($0)!, port: 6081) }
        let start = Date()
        // Every target gains 1,000 packets/s (times its number), so every row changes each second.
        let observatory = Observatory(statistics: {
            let elapsed = UInt64(Date().timeIntervalSince(start) * 1000)
            var statistics = DataPlaneStatistics(targetSlots: count)
            for slot in 0..<count {
                statistics.targets[slot].packetsToTarget = elapsed * UInt64(slot + 1)
                statistics.targets[slot].bytesToTarget = elapsed * UInt64(slot + 1) * 700
                statistics.targets[slot].packetsFromTarget = elapsed * UInt64(slot + 1)
                statistics.targets[slot].bytesFromTarget = elapsed * UInt64(slot + 1) * 700
                statistics.targets[slot].activeFlows = Int64(slot)
            }
            statistics.endpointPackets = elapsed * UInt64(count)
            statistics.newFlows = elapsed / 10
            return statistics
        }, recentDrops: { [] }, slots: { slots }, flows: { _ in [] }, flowCapacity: 1 << 21)
        let server = Task.detached { try await APIServer.run(socketPath: socketPath, actions: ELBActions(service: service), observatory: observatory) }
        defer { server.cancel() }
        let client = try SnapshotBenchmark.waitForAPI(socketPath)
        let lb = try SnapshotBenchmark.value(client.call("CreateLoadBalancer", [("Name", "bench"), ("Type", "gateway")]), "LoadBalancers", "LoadBalancerArn")
        let tg = try SnapshotBenchmark.value(client.call("CreateTargetGroup", [("Name", "bench"), ("Protocol", "GENEVE"), ("Port", "6081")]),
                                             "TargetGroups", "TargetGroupArn")
        for batch in stride(from: 0, to: count, by: 50) {
            let members = addresses[batch..<min(count, batch + 50)].enumerated().map { ("Targets.member.\($0.offset + 1).Id", $0.element) }
            _ = try client.call("RegisterTargets", [("TargetGroupArn", tg)] + members)
        }
        _ = try client.call("CreateListener", [("LoadBalancerArn", lb), ("DefaultActions.member.1.Type", "forward"),
                                               ("DefaultActions.member.1.TargetGroupArn", tg)])
        _ = try client.call("CreateEndpoint", [("LoadBalancerArn", lb), ("Interface", "benchtun")])

        let tmux = "gwlb-bench-\(getpid())-\(count)"
        defer { _ = try? Shell.execute(["tmux", "-L", tmux, "kill-server"]) }
        guard try Shell.launch(["tmux", "-L", tmux, "new-session", "-d", "-s", "console", "-x", String(width), "-y", String(height),
                                "env LANG=C.UTF-8 TERM=xterm-256color \(gwlb) console --socket \(socketPath)"]) == 0 else {
            throw Failure("tmux new-session failed")
        }
        sleep(5)  // connected, first frames drawn
        guard let pid = Int32(try Shell.execute(["tmux", "-L", tmux, "display-message", "-p", "-t", "console", "#{pane_pid}"])
            .output.trimmingCharacters(in: .whitespacesAndNewlines)) else { throw Failure("no console process") }
        let bytesFile = directory + "/terminal.bytes"
        _ = try Shell.execute(["tmux", "-L", tmux, "pipe-pane", "-t", "console", "-o", "cat > \(bytesFile)"])
        let (ticksBefore, timeBefore) = (try Self.cpuTicks(pid), Date())
        sleep(UInt32(seconds))
        let (ticksAfter, timeAfter) = (try Self.cpuTicks(pid), Date())
        _ = try Shell.execute(["tmux", "-L", tmux, "pipe-pane", "-t", "console"])
        let written = (try? FileManager.default.attributesOfItem(atPath: bytesFile)[.size] as? Int) ?? 0
        let elapsed = timeAfter.timeIntervalSince(timeBefore)
        let cpu = Double(ticksAfter - ticksBefore) / Double(sysconf(Int32(_SC_CLK_TCK))) / elapsed * 100
        return (cpu, Double(written) / elapsed)
    }

    /// utime + stime of `pid`, in clock ticks.
    static func cpuTicks(_ pid: Int32) throws -> Int {
        let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
        guard let close = stat.range(of: ") ", options: .backwards) else { throw Failure("cannot read /proc/\(pid)/stat") }
        let fields = stat[close.upperBound...].split(separator: " ")
        return (Int(fields[11]) ?? 0) + (Int(fields[12]) ?? 0)
    }
}
