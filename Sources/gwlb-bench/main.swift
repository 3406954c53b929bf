// gwlb-bench: benchmarks, run in a release build. Each prints its figures next to a baseline
// measured in the same run, and the ratio between them.
//
//     swift run -c release gwlb-bench flows [--flows N]
//     swift run -c release gwlb-bench worker [--flows N] [--rounds R]
//     swift run -c release gwlb-bench forward [--seconds S] [--workers N]     (root: builds a lab)
//     swift run -c release gwlb-bench bulk [--seconds S] [--repetitions R] [--quick]   (root, iperf3)
//     swift run -c release gwlb-bench soak [--minutes N]                     (root: builds a lab)
//     swift run -c release gwlb-bench snapshot [--changes N]
//     swift run -c release gwlb-bench console [--targets N] [--seconds S]      (needs tmux and gwlb built)

import Appliance
import Daemon
import Foundation
import Wire

let arguments = Array(CommandLine.arguments.dropFirst())

func option(_ name: String) -> String? {
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return nil }
    return arguments[index + 1]
}

func option(_ name: String, default value: Int) -> Int {
    option(name).flatMap { Int($0) }.flatMap { $0 > 0 ? $0 : nil } ?? value
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("gwlb-bench: \(message)\n".utf8))
    exit(1)
}

switch arguments.first {
case "flows":
    FlowsBenchmark(flowCount: option("--flows", default: 1_000_000)).run()
case "worker":
    WorkerBenchmark(flows: option("--flows", default: 100_000), rounds: option("--rounds", default: 20)).run()
case "snapshot":
    do { try SnapshotBenchmark(changes: option("--changes", default: 200)).run() } catch { fail("\(error)") }
case "console":
    do { try ConsoleBenchmark(targets: option("--targets", default: 300), seconds: option("--seconds", default: 30)).run() } catch { fail("\(error)") }
case "forward":
    guard geteuid() == 0 else { fail("forward builds a namespace lab: run it as root") }
    do {
        try ForwardBenchmark(seconds: Double(option("--seconds", default: 3)), workers: option("--workers", default: 2),
                             repetitions: option("--repetitions", default: 3)).run()
    } catch {
        fail("\(error)")
    }
case "soak":
    guard geteuid() == 0 else { fail("soak builds a namespace lab: run it as root") }
    do { try SoakBenchmark(minutes: option("--minutes", default: 10)).run() } catch { fail("\(error)") }
case "bulk":
    guard geteuid() == 0 else { fail("bulk builds a namespace lab: run it as root") }
    do {
        // --quick: one case per family (1 stream, default MSS), for a first look.
        let cases = arguments.contains("--quick") ? BulkBenchmark.allCases.filter { $0.streams == 1 && $0.mss == nil } : BulkBenchmark.allCases
        try BulkBenchmark(seconds: option("--seconds", default: 4), repetitions: option("--repetitions", default: 3)).run(cases: cases)
    } catch {
        fail("\(error)")
    }
// The processes `forward` and `bulk` start inside the lab:
case "forward-send":
    ForwardTraffic.send(to: IPv4Address(option("--to") ?? "") ?? IPv4Address(198, 18, 20, 2),
                        size: option("--size", default: 64), seconds: Double(option("--seconds", default: 3)))
case "forward-sink":
    ForwardTraffic.sink()
case "bare":
    BareLoop.run(interface: option("--interface") ?? "gwlbe0", local: IPv4Address(option("--local") ?? "") ?? IPv4Address(198, 18, 1, 1),
                 appliance: IPv4Address(option("--appliance") ?? "") ?? IPv4Address(198, 18, 1, 11), workers: option("--workers", default: 2))
case "daemon":
    do { try Daemon(configurationPath: option("--config") ?? "", statisticsPath: option("--stats-file")).run() } catch { fail("\(error)") }
case "appliance":
    // Lab.up starts appliances as `<executable> appliance --listen A --health-port P`.
    guard let listen = IPv4Address(option("--listen") ?? "") else { fail("appliance needs --listen") }
    var configuration = ReferenceAppliance.Configuration(listen: listen)
    configuration.healthPort = UInt16(option("--health-port", default: 8080))
    do { try ReferenceAppliance.serve(configuration) } catch { fail("\(error)") }
default:
    print("""
        usage: gwlb-bench BENCHMARK [options]

        benchmarks:
          flows [--flows N]                    flow engine: parse + lookup + GENEVE per packet, new flows,
                                               table bytes per flow, allocations per packet, Maglev build
          worker [--flows N] [--rounds R]      a data-plane worker's own cost per packet and allocations,
                                               in-memory I/O (no kernel), against the same I/O with no logic
          forward [--seconds S] [--workers N] [--repetitions R]
                                               whole path through a namespace lab (root): packets/s and
                                               CPU per packet at 64 and 1,400 bytes, against kernel
                                               routing and a bare TUN/UDP loop
          bulk [--seconds S] [--repetitions R] [--quick]
                                               bulk TCP with iperf3 through a namespace lab (root): 1 and
                                               4 streams, MSS 1400, 8400 and default, IPv4 and IPv6,
                                               against kernel routing on the same namespaces
          soak [--minutes N]                   gwlbd under churn for N minutes (root, builds gwlbd and gwlb
                                               too): RSS, descriptors and threads over time, losses of
                                               long-lived flows, drops
          snapshot [--changes N]               time from an API change's response to the data plane
                                               using it, against the API call itself
          console [--targets N] [--seconds S]  gwlb console's CPU and terminal bytes per second at 1 Hz
                                               with N busy targets, against 3 targets
        """)
    #if DEBUG
    print("note: this is a debug build; run benchmarks with `swift run -c release gwlb-bench …`")
    #endif
}
