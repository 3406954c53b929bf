import Foundation
import Lab
import Wire

/// `gwlb-bench forward`: packets/s and CPU per packet through the whole path
/// client → gwlbd → appliance → gwlbd → server, in a lab it builds (one appliance), at 64 and
/// 1,400 bytes, next to two baselines from the same run: the same namespaces with plain kernel
/// routing (no gwlb), and a bare loop with gwlbd's TUN and UDP I/O but no logic.
struct ForwardBenchmark {
    let seconds: Double
    let workers: Int
    let repetitions: Int
    let executable = CommandLine.selfExecutable

    func run() throws {
        let lab = Lab(prefix: "gwlbbench", applianceCount: 1)
        defer { lab.down() }
        try lab.up(executable: executable, workers: workers)
        print("gwlb-bench forward: lab \(lab.prefix), 1 appliance, \(workers) workers, \(ForwardTraffic.flows) UDP flows, \(seconds) s per run, medians of \(repetitions) interleaved runs, \(ProcessInfo.processInfo.activeProcessorCount) cores shared by everything")
        var report = Report()
        let bareLoop = ["bare", "--interface", Lab.endpointInterface, "--local", Lab.geneveAddress,
                        "--appliance", Lab.applianceAddress(1), "--workers", String(workers)]
        for size in [64, 1400] {
            // Interleaved repetitions, medians: the host's load moves single runs by tens of percent.
            var kernelRuns: [Result] = [], bareRuns: [Result] = [], gwlbdRuns: [Result] = []
            for _ in 0..<repetitions {
                try setPolicyRouting(lab, enabled: false)
                kernelRuns.append(try measure(lab, size: size, path: nil))
                try setPolicyRouting(lab, enabled: true)
                bareRuns.append(try measure(lab, size: size, path: bareLoop))
                gwlbdRuns.append(try measure(lab, size: size, path: ["daemon", "--config", lab.daemonConfigurationPath]))
            }
            let kernel = Result.median(kernelRuns), bare = Result.median(bareRuns), gwlbd = Result.median(gwlbdRuns)
            report.add("\(size) B: gwlbd path, delivered", gwlbd.packetsPerSecond, "pkt/s", baseline: ("bare loop", bare.packetsPerSecond), goal: ">= 0.8x bare loop")
            report.add("\(size) B: gwlbd path, delivered", gwlbd.packetsPerSecond, "pkt/s", baseline: ("kernel routing", kernel.packetsPerSecond),
                       goal: ">= 0.5x kernel")
            report.add("\(size) B: kernel routing, delivered", kernel.packetsPerSecond, "pkt/s", baseline: ("bare loop", bare.packetsPerSecond))
            report.add("\(size) B: gwlbd path, CPU per packet", gwlbd.cpuPerPacket, "us", baseline: ("bare loop", bare.cpuPerPacket))
            report.add("\(size) B: gwlbd process CPU per packet", gwlbd.processCPUPerPacket, "us", baseline: ("bare loop process", bare.processCPUPerPacket))
            report.add("\(size) B: kernel routing, CPU per packet", kernel.cpuPerPacket, "us", baseline: ("bare loop", bare.cpuPerPacket))
        }
        report.print()
        print("CPU per packet: all CPU time on the machine (every process and the kernel) / packets delivered to the server.")
    }

    struct Result {
        var packetsPerSecond: Double
        var cpuPerPacket: Double
        var processCPUPerPacket: Double

        /// Each figure's median over the runs.
        static func median(_ runs: [Result]) -> Result {
            func middle(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
            return Result(packetsPerSecond: middle(runs.map(\.packetsPerSecond)), cpuPerPacket: middle(runs.map(\.cpuPerPacket)),
                          processCPUPerPacket: middle(runs.map(\.processCPUPerPacket)))
        }
    }

    /// One run: sink in the server, sender in the client, and `path` (gwlb-bench arguments) in the
    /// router, or plain routing when nil.
    func measure(_ lab: Lab, size: Int, path: [String]?) throws -> Result {
        var forwarder: ChildProcess?
        if let path {
            let process = try start(lab.router, [executable] + path)
            forwarder = process
            usleep(1_000_000)
            guard process.isRunning else { throw BenchmarkError("forwarder \(path[0]) did not start") }
        }
        defer { forwarder?.terminate(); forwarder?.waitUntilExit() }
        let sink = try start(lab.server, [executable, "forward-sink"], capture: true)
        usleep(300_000)
        let cpuBefore = Self.busyCPUSeconds()
        let processBefore = forwarder.map { Self.processCPUSeconds($0.processIdentifier) } ?? 0
        let start = ForwardTraffic.monotonicSeconds()
        let sender = try self.start(lab.client, [executable, "forward-send", "--to", Lab.serverAddress, "--size", String(size),
                                                 "--seconds", String(seconds)], capture: true)
        sender.waitUntilExit()
        sink.waitUntilExit()
        let elapsed = ForwardTraffic.monotonicSeconds() - start - 1  // the sink waits one idle second
        let cpu = Self.busyCPUSeconds() - cpuBefore
        let processCPU = (forwarder.map { Self.processCPUSeconds($0.processIdentifier) } ?? 0) - processBefore
        let delivered = Double(String(decoding: sink.standardOutput!.readDataToEndOfFile(), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        guard delivered > 0 else { throw BenchmarkError("nothing arrived at the server (\(path?.first ?? "kernel routing"), \(size) B)") }
        return Result(packetsPerSecond: delivered / max(elapsed, seconds), cpuPerPacket: cpu / delivered * 1e6,
                      processCPUPerPacket: path == nil ? .nan : processCPU / delivered * 1e6)
    }

    /// Starts a process in a namespace. With `capture`, its output can be read from its
    /// `standardOutput` and its errors show on ours; without, both go nowhere.
    func start(_ namespace: String, _ arguments: [String], capture: Bool = false) throws -> ChildProcess {
        try ChildProcess(["ip", "netns", "exec", namespace] + arguments, output: capture ? .pipe : .null, errors: capture ? .inherit : .null)
    }

    /// Kernel routing: without the router's policy rules, packets go straight from uplink to app.
    func setPolicyRouting(_ lab: Lab, enabled: Bool) throws {
        for family in ["-4", "-6"] {
            for (interface, table) in [("uplink", "100"), ("app", "101")] {
                _ = try? lab.exec(lab.router, ["ip", family, "rule", "del", "iif", interface, "lookup", table])
                if enabled { try lab.exec(lab.router, ["ip", family, "rule", "add", "iif", interface, "lookup", table, "priority", table]) }
            }
        }
    }

    /// CPU seconds spent by all processors outside idle since boot (all namespaces share the kernel).
    static func busyCPUSeconds() -> Double {
        let line = (try? String(contentsOfFile: "/proc/stat", encoding: .utf8))?.split(separator: "\n").first ?? ""
        let fields = line.split(separator: " ").dropFirst().compactMap { Double($0) }
        guard fields.count >= 5 else { return 0 }
        let total = fields.reduce(0, +), idle = fields[3] + fields[4]
        return (total - idle) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    static func processCPUSeconds(_ pid: Int32) -> Double {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return 0 }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // After the command: state is field 3; utime and stime are fields 14 and 15.
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}

struct BenchmarkError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
