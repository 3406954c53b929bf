// gwlb-bench: benchmarks, run in a release build. Each prints its figures next to a baseline
// measured in the same run, and the ratio between them. `gwlb-bench --help` lists them;
// `gwlb-bench BENCHMARK --help` gives each one's options.

import Appliance
import ArgumentParser
import Store
import Daemon
import Foundation
import Wire

@main
struct GwlbBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gwlb-bench",
        abstract: "gwlb's benchmarks: each figure next to a baseline measured in the same run (build with -c release).",
        subcommands: [Flows.self, Worker.self, Forward.self, Bulk.self, Soak.self, Restart.self, Snapshot.self, Cluster.self, Console.self,
                      ForwardSend.self, ForwardSink.self, Bare.self, DaemonProcess.self, ApplianceProcess.self])

    static func releaseNote() {
        #if DEBUG
        print("note: this is a debug build; run benchmarks with `swift run -c release gwlb-bench …`")
        #endif
    }

    static func requireRoot(_ benchmark: String) throws {
        guard geteuid() == 0 else { throw ValidationError("\(benchmark) builds a namespace lab: run it as root") }
    }

    struct Flows: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Flow engine: parse + lookup + GENEVE per packet, new flows, table bytes per flow, allocations per packet, Maglev build.")
        @Option(help: "Flows in the table.") var flows = 1_000_000
        func validate() throws { guard flows > 0 else { throw ValidationError("--flows must be above 0") } }
        func run() { GwlbBench.releaseNote(); FlowsBenchmark(flowCount: flows).run() }
    }

    struct Worker: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A data-plane worker's own cost per packet and allocations, in-memory I/O, against the same I/O with no logic.")
        @Option(help: "UDP flows.") var flows = 100_000
        @Option(help: "Rounds (each flow one packet out and one back per round).") var rounds = 20
        func validate() throws { guard flows > 0, rounds > 0 else { throw ValidationError("--flows and --rounds must be above 0") } }
        func run() { GwlbBench.releaseNote(); WorkerBenchmark(flows: flows, rounds: rounds).run() }
    }

    struct Forward: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The whole path through a namespace lab (root): packets/s and CPU per packet, against kernel routing and a bare TUN/UDP loop.")
        @Option(help: "Seconds per measurement.") var seconds = 3
        @Option(help: "gwlbd's workers.") var workers = 2
        @Option(help: "Repetitions of each measurement.") var repetitions = 3
        func validate() throws {
            guard seconds > 0, workers > 0, repetitions > 0 else { throw ValidationError("--seconds, --workers and --repetitions must be above 0") }
        }
        func run() throws {
            try GwlbBench.requireRoot("forward")
            try ForwardBenchmark(seconds: Double(seconds), workers: workers, repetitions: repetitions).run()
        }
    }

    struct Bulk: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Bulk TCP with iperf3 through a namespace lab (root), against kernel routing on the same namespaces.")
        @Option(help: "Seconds per iperf3 run.") var seconds = 4
        @Option(help: "Repetitions of each case.") var repetitions = 3
        @Flag(help: "One case per family (1 stream, default MSS), for a first look.") var quick = false
        @Option(help: "Only the cases whose name contains this text, as printed (e.g. \"IPv4 1 stream MSS 1400\").") var only: String?
        func validate() throws { guard seconds > 0, repetitions > 0 else { throw ValidationError("--seconds and --repetitions must be above 0") } }
        func run() throws {
            try GwlbBench.requireRoot("bulk")
            var cases = quick ? BulkBenchmark.allCases.filter { $0.streams == 1 && $0.mss == nil } : BulkBenchmark.allCases
            if let only { cases = cases.filter { $0.description.contains(only) } }
            guard !cases.isEmpty else { throw ValidationError("no case matches --only \(only ?? "")") }
            try BulkBenchmark(seconds: seconds, repetitions: repetitions).run(cases: cases)
        }
    }

    struct Restart: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "gwlbd upgraded (--takeover) and killed and restarted under TCP connections, iperf3 and a ping (root), against a run without either.")
        @Option(help: "Long-lived TCP connections.") var connections = 200
        func validate() throws { guard connections > 0 else { throw ValidationError("--connections must be above 0") } }
        func run() throws {
            try GwlbBench.requireRoot("restart")
            try RestartBenchmark(connections: connections).run()
        }
    }

    struct Soak: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "gwlbd under churn (root): RSS, descriptors and threads over time, losses of long-lived flows, drops.")
        @Option(help: "Minutes to run.") var minutes = 10
        func validate() throws { guard minutes > 0 else { throw ValidationError("--minutes must be above 0") } }
        func run() throws {
            try GwlbBench.requireRoot("soak")
            try SoakBenchmark(minutes: minutes).run()
        }
    }

    struct Snapshot: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Time from an API change's answer to the data plane using it, against the API call itself.")
        @Option(help: "Changes to time.") var changes = 200
        func validate() throws { guard changes > 0 else { throw ValidationError("--changes must be above 0") } }
        func run() throws { try SnapshotBenchmark(changes: changes).run() }
    }

    struct Cluster: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Time from a change on one node of a cluster to every node's data plane, against the node's own commit (needs PostgreSQL).")
        @Option(help: "Changes to time.") var changes = 100
        @Option(help: "A PostgreSQL role that may create databases (a scratch one is made and dropped).")
        var database = "postgres://gwlb:gwlb@127.0.0.1:5432/postgres"
        func validate() throws {
            guard changes > 0, changes <= 250 else { throw ValidationError("--changes must be 1-250 (targets of one load balancer)") }
            guard PostgresAddress(url: database) != nil else { throw ValidationError("--database must be a postgres:// URL") }
        }
        func run() throws { try ClusterBenchmark(changes: changes, server: PostgresAddress(url: database)!).run() }
    }

    struct Console: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "gwlb console's CPU and terminal bytes per second at 1 Hz with N busy targets, against 3 targets (needs tmux).")
        @Option(help: "Busy targets.") var targets = 300
        @Option(help: "Seconds to watch.") var seconds = 30
        @Option(help: "The terminal's columns.") var width = 120
        @Option(help: "The terminal's rows.") var height = 40
        func validate() throws {
            guard targets > 0, seconds > 0 else { throw ValidationError("--targets and --seconds must be above 0") }
            guard width >= 60, height >= 16 else { throw ValidationError("the console needs at least 60x16") }
        }
        func run() throws { try ConsoleBenchmark(targets: targets, seconds: seconds, width: width, height: height).run() }
    }

    // The processes `forward`, `bulk` and `soak` start inside the lab.

    struct ForwardSend: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "forward-send", shouldDisplay: false)
        @Option var to = IPv4Address(198, 18, 20, 2)
        @Option var size = 64
        @Option var seconds = 3.0
        func run() { ForwardTraffic.send(to: to, size: size, seconds: seconds) }
    }

    struct ForwardSink: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "forward-sink", shouldDisplay: false)
        func run() { ForwardTraffic.sink() }
    }

    struct Bare: ParsableCommand {
        static let configuration = CommandConfiguration(shouldDisplay: false)
        @Option var interface = "gwlbe0"
        @Option var local = IPv4Address(198, 18, 1, 1)
        @Option var appliance = IPv4Address(198, 18, 1, 11)
        @Option var workers = 2
        func run() { BareLoop.run(interface: interface, local: local, appliance: appliance, workers: workers) }
    }

    struct DaemonProcess: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "daemon", shouldDisplay: false)
        @Option var config: String
        @Option(name: .customLong("stats-file")) var statisticsPath: String?
        func run() throws { try Daemon(configurationPath: config, statisticsPath: statisticsPath).run() }
    }

    /// Lab.up starts appliances as `<executable> appliance --listen A --health-port P`.
    struct ApplianceProcess: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "appliance", shouldDisplay: false)
        @Option var listen: IPv4Address
        @Option var healthPort = 8080
        func run() throws {
            var configuration = ReferenceAppliance.Configuration(listen: listen)
            configuration.healthPort = UInt16(healthPort)
            try ReferenceAppliance.serve(configuration)
        }
    }
}

extension IPv4Address: ExpressibleByArgument {
    public init?(argument: String) { self.init(argument) }
}
