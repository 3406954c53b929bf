#if FUZZING
import Glibc

// Built with `-sanitize=fuzzer,address -DFUZZING` (README "Fuzzing"). SwiftPM links an executable
// with `main` aliased to this target's entry function, so that function is the one that starts
// libFuzzer's driver; GWLB_FUZZ_TARGET names the target.
nonisolated(unsafe) private var selected = FuzzTarget.geneve

@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                     _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Int32

@_cdecl("gwlb_fuzz_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    let name = getenv("GWLB_FUZZ_TARGET").map { String(cString: $0) } ?? ""
    guard let target = FuzzTarget(rawValue: name) else {
        print("set GWLB_FUZZ_TARGET to one of: \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", "))")
        return 2
    }
    selected = target
    // The first argument that is not a flag is the corpus directory: a fresh one gets the seeds.
    if let argv, let corpus = (1..<Int(argc)).lazy.compactMap({ argv[$0].map { String(cString: $0) } }).first(where: { !$0.hasPrefix("-") }) {
        target.plantSeeds(in: corpus)
    }
    var count = argc
    var vector = argv
    return runFuzzerDriver(&count, &vector) { data, size in
        selected.run(UnsafeRawBufferPointer(start: data, count: size))
        return 0
    }
}
#else
import Foundation

/// Without the fuzzer: `gwlb-fuzz TARGET FILE…` runs each file through a target (to replay a
/// crash the fuzzer saved, under a debugger or without sanitizers).
@main struct ReplayFuzzInputs {
    static func main() throws {
        let arguments = CommandLine.arguments.dropFirst()
        guard let name = arguments.first, let target = FuzzTarget(rawValue: name) else {
            print("usage: gwlb-fuzz TARGET FILE…  (targets: \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")))")
            exit(2)
        }
        for path in arguments.dropFirst() {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            data.withUnsafeBytes { target.run($0) }
            print("\(path): ok")
        }
    }
}
#endif
