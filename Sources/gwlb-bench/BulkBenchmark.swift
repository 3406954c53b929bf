import ControlContract
import Foundation
import Lab

/// `gwlb-bench bulk`: bulk TCP (iperf3, Debian's) from the lab's client to its server through
/// gwlbd and one reference appliance, next to kernel routing on the same namespaces (the router's
/// policy rules off) in the same run: 1 and 4 streams, MSS 1400, 8400 and the default (links are
/// MTU 9001, so path MTU discovery must bring it under gwlb's 8,500 bytes), IPv4 and IPv6. Medians
/// of interleaved runs; CPU per Gbit/s of gwlbd and of the whole machine; TCP retransmits;
/// gwlbd's drops by reason and hand-offs over all its runs.
struct BulkBenchmark {
    let seconds: Int
    let repetitions: Int
    let executable = CommandLine.selfExecutable

    struct Case: CustomStringConvertible {
        var streams: Int
        var mss: Int?
        var ipv6: Bool
        var description: String { "\(ipv6 ? "IPv6" : "IPv4") \(streams) stream\(streams == 1 ? "" : "s") MSS \(mss.map(String.init) ?? "default")" }
    }

    struct Run {
        var gigabitsPerSecond: Double
        var retransmits: Double
        /// CPU seconds per second of the whole machine, and of gwlbd (nan for kernel routing), per Gbit/s.
        var machineCPUPerGigabit: Double
        var gwlbdCPUPerGigabit: Double

        static func median(_ runs: [Run]) -> Run {
            func middle(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
            return Run(gigabitsPerSecond: middle(runs.map(\.gigabitsPerSecond)), retransmits: middle(runs.map(\.retransmits)),
                       machineCPUPerGigabit: middle(runs.map(\.machineCPUPerGigabit)), gwlbdCPUPerGigabit: middle(runs.map(\.gwlbdCPUPerGigabit)))
        }
    }

    func run(cases: [Case]) throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/iperf3") else { throw BenchmarkError("bulk needs iperf3: apt-get install -y iperf3") }
        let lab = Lab(prefix: "gwlbbulk", applianceCount: 1)
        defer { lab.down() }
        try lab.up(executable: executable, workers: 2)
        let forward = ForwardBenchmark(seconds: Double(seconds), workers: 2, repetitions: repetitions)
        let statisticsPath = "\(lab.stateDirectory)/gwlbd-stats.json"
        let daemon = try forward.start(lab.router, [executable, "daemon", "--config", lab.daemonConfigurationPath, "--stats-file", statisticsPath])
        defer { daemon.terminate(); daemon.waitUntilExit() }
        usleep(1_000_000)
        guard daemon.isRunning else { throw BenchmarkError("gwlbd did not start") }
        let server = try forward.start(lab.server, ["iperf3", "-s"])
        defer { server.terminate(); server.waitUntilExit() }
        usleep(500_000)
        let congestion = ((try? lab.exec(lab.client, ["cat", "/proc/sys/net/ipv4/tcp_congestion_control"])) ?? "?").trimmingCharacters(in: .whitespacesAndNewlines)
        print("gwlb-bench bulk: lab \(lab.prefix), 1 appliance, gwlbd with 2 workers, iperf3 \(seconds) s per run (TCP congestion control \(congestion), the machine's default), medians of \(repetitions) interleaved runs, \(ProcessInfo.processInfo.activeProcessorCount) cores shared by everything")
        let before = try Self.statistics(statisticsPath)
        var rows: [String] = []
        for testCase in cases {
            var kernelRuns: [Run] = [], gwlbdRuns: [Run] = []
            for _ in 0..<repetitions {
                try forward.setPolicyRouting(lab, enabled: false)
                kernelRuns.append(try measure(lab, testCase, gwlbd: nil))
                try forward.setPolicyRouting(lab, enabled: true)
                gwlbdRuns.append(try measure(lab, testCase, gwlbd: daemon.processIdentifier))
            }
            let kernel = Run.median(kernelRuns), gwlbd = Run.median(gwlbdRuns)
            rows.append([testCase.description, Self.format(kernel.gigabitsPerSecond), Self.format(gwlbd.gigabitsPerSecond),
                         Self.format(gwlbd.gigabitsPerSecond / kernel.gigabitsPerSecond) + "x", Self.format(kernel.retransmits),
                         Self.format(gwlbd.retransmits), Self.format(kernel.machineCPUPerGigabit), Self.format(gwlbd.machineCPUPerGigabit),
                         Self.format(gwlbd.gwlbdCPUPerGigabit)].joined(separator: " | "))
        }
        let after = try Self.statistics(statisticsPath)
        print("| case | kernel Gbit/s | gwlbd Gbit/s | ratio (goal >= 0.5x) | retransmits kernel | retransmits gwlbd | machine CPU s per Gbit, kernel | machine CPU s per Gbit, gwlbd | gwlbd CPU s per Gbit |")
        print("|---|---|---|---|---|---|---|---|---|")
        for row in rows { print("| \(row) |") }
        var drops: [String] = []
        for (reason, count) in after.drops.sorted(by: { $0.key < $1.key }) where count > before.drops[reason] ?? 0 {
            drops.append("\(reason) \(count - (before.drops[reason] ?? 0))")
        }
        let handedOff = after.handedOff - before.handedOff, tooBig = after.packetTooBigSent - before.packetTooBigSent
        print("gwlbd over all its runs: drops \(drops.isEmpty ? "none" : drops.joined(separator: ", ")); handed off \(handedOff); ICMP packet-too-big sent \(tooBig)")
        let offloads = after.offloads
        print("gwlbd offloads: coalescedDatagramsReceived \(offloads.coalescedDatagramsReceived), coalescedSegments \(offloads.coalescedSegments), coalescedWrites \(offloads.coalescedWrites), malformedSuperPackets \(offloads.malformedSuperPackets), superPacketSegments \(offloads.superPacketSegments), superPacketsRead \(offloads.superPacketsRead)")
        print("CPU s per Gbit: CPU seconds per second of the run divided by the Gbit/s delivered (lower is better).")
    }

    /// One iperf3 run of `testCase`; gwlbd's CPU is read when `gwlbd` is its process id.
    func measure(_ lab: Lab, _ testCase: Case, gwlbd: Int32?) throws -> Run {
        var arguments = ["iperf3", "-c", testCase.ipv6 ? Lab.serverAddress6 : Lab.serverAddress, "-t", String(seconds), "-J",
                         "-P", String(testCase.streams)]
        if let mss = testCase.mss { arguments += ["-M", String(mss)] }
        let machineBefore = ForwardBenchmark.busyCPUSeconds()
        let processBefore = gwlbd.map(ForwardBenchmark.processCPUSeconds) ?? 0
        let started = ForwardTraffic.monotonicSeconds()
        let output = try lab.exec(lab.client, arguments)
        let elapsed = ForwardTraffic.monotonicSeconds() - started
        let machine = (ForwardBenchmark.busyCPUSeconds() - machineBefore) / elapsed
        let process = ((gwlbd.map(ForwardBenchmark.processCPUSeconds) ?? 0) - processBefore) / elapsed
        let json = try? JSONValue.parse(output)
        guard let sent = json?["end"]?["sum_sent"], let bits = json?["end"]?["sum_received"]?["bits_per_second"]?.doubleValue else {
            throw BenchmarkError("iperf3 gave no result for \(testCase): \(output.prefix(300))")
        }
        let gigabits = bits / 1e9
        return Run(gigabitsPerSecond: gigabits, retransmits: sent["retransmits"]?.doubleValue ?? 0,
                   machineCPUPerGigabit: gigabits > 0 ? machine / gigabits : .nan,
                   gwlbdCPUPerGigabit: gwlbd == nil || gigabits == 0 ? .nan : process / gigabits)
    }

    static func statistics(_ path: String) throws -> StatsReport {
        for _ in 0..<40 {
            if let data = FileManager.default.contents(atPath: path), let report = try? ContractCoding.decode(StatsReport.self, from: data) {
                return report
            }
            usleep(100_000)
        }
        throw BenchmarkError("gwlbd wrote no statistics to \(path)")
    }

    static func format(_ value: Double) -> String {
        value.isNaN ? "-" : String(format: value >= 100 ? "%.0f" : "%.2f", value)
    }

    static let allCases: [Case] = [false, true].flatMap { ipv6 in
        [1, 4].flatMap { streams in [1400, 8400, nil].map { Case(streams: streams, mss: $0, ipv6: ipv6) } }
    }
}
