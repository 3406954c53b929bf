// gwlb-bench: benchmarks, run in a release build. Each prints its figures next to a baseline
// measured in the same run, and the ratio between them.
//
//     swift run -c release gwlb-bench flows [--flows N]

let arguments = Array(CommandLine.arguments.dropFirst())

func option(_ name: String, default value: Int) -> Int {
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count,
          let parsed = Int(arguments[index + 1]), parsed > 0 else { return value }
    return parsed
}

switch arguments.first {
case "flows":
    FlowsBenchmark(flowCount: option("--flows", default: 1_000_000)).run()
default:
    print("""
        usage: gwlb-bench BENCHMARK [options]

        benchmarks:
          flows [--flows N]   flow engine: parse + lookup + GENEVE encapsulation per packet, new flows,
                              table bytes per flow, allocations per packet, Maglev build (N = 300)
        """)
    #if DEBUG
    print("note: this is a debug build; run benchmarks with `swift run -c release gwlb-bench …`")
    #endif
}
