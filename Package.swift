// swift-tools-version: 6.1
import PackageDescription

// The hot path (Wire, Flows, PacketIO, DataPlane) uses the standard library only: no Foundation,
// no allocation per packet. See README.md "The data plane".

// In release builds the hot path skips the run-time half of Swift's exclusivity enforcement: each
// access to a class's stored `var` otherwise goes through a thread-local access set, which was a
// tenth of the worker's time per packet. The compile-time checks stay, and debug builds (the tests)
// keep the run-time ones.
let hotPath: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]

let package = Package(
    name: "gwlb",
    products: [
        .executable(name: "gwlbd", targets: ["gwlbd"]),
        .executable(name: "gwlb", targets: ["gwlb"]),
        .executable(name: "gwlb-bench", targets: ["gwlb-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.20.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.60.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.25.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.0.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.5.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.20.0"),
    ],
    targets: [
        // C shim for what Swift cannot import directly (ioctl request macros, struct mmsghdr
        // without _GNU_SOURCE, prefetch builtins).
        .target(name: "CGWLBLinux"),
        // Counts heap allocations per thread by defining malloc & co. in the benchmark executable.
        .target(name: "CAllocationCounter"),
        .target(name: "Wire", swiftSettings: hotPath),
        .target(name: "Flows", dependencies: ["Wire", "CGWLBLinux"], swiftSettings: hotPath),
        .target(name: "PacketIO", dependencies: ["Wire", "CGWLBLinux"], swiftSettings: hotPath),
        .target(name: "DataPlane", dependencies: ["Wire", "Flows", "PacketIO"], swiftSettings: hotPath),
        .target(name: "Catalog", dependencies: ["Wire"]),
        // Health checks on structured concurrency: TCP connects on SwiftNIO, HTTP and HTTPS through
        // AsyncHTTPClient (TLS without certificate checks, as AWS's).
        .target(name: "Health", dependencies: [
            .product(name: "AsyncHTTPClient", package: "async-http-client"), .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"), .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        .target(name: "ControlPlane", dependencies: ["Catalog", "Health", "Store", "DataPlane", "Flows", "PacketIO", "Wire"]),
        // SQLite (GRDB) for one node; PostgreSQL (postgres-nio) for a cluster of nodes sharing it.
        .target(name: "Store", dependencies: [
            "Catalog", .product(name: "GRDB", package: "GRDB.swift"), .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"), .product(name: "Logging", package: "swift-log"),
        ]),
        // Metrics (swift-metrics over swift-prometheus), flow logs, the audit trail, drop captures.
        .target(name: "Telemetry", dependencies: [
            "ControlContract",
            "DataPlane", "Flows", "Wire", .product(name: "Metrics", package: "swift-metrics"), .product(name: "Logging", package: "swift-log"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ]),
        // What the control side reads from outside, parsed and checked: elbv2 Query bodies, SigV4
        // headers, credentials files, gwlbd's configuration file. No SwiftNIO, so the fuzzer builds it fast.
        .target(name: "ControlInput", dependencies: [
            "Catalog", "DataPlane", "Flows", "PacketIO", "Wire", .product(name: "Crypto", package: "swift-crypto"),
        ]),
        .target(name: "ControlAPI", dependencies: [
            "ControlContract",
            "ControlInput", "Telemetry", "ControlPlane", "DataPlane", "Flows", "PacketIO", "Catalog", "Health", "Wire", .product(name: "Hummingbird", package: "hummingbird"),
            // SigV4's SHA-256 and HMAC, and TLS, for the signed TCP API.
            .product(name: "Crypto", package: "swift-crypto"), .product(name: "HummingbirdTLS", package: "hummingbird"),
            .product(name: "HummingbirdCore", package: "hummingbird"), .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
            // The servers' graceful stop: no new connections, the calls in flight answered.
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"), .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "Daemon", dependencies: ["CGWLBLinux", "Lab", "ControlInput", "Health", "Telemetry", "ControlAPI", "ControlPlane", "Catalog", "Store", "DataPlane", "Flows", "PacketIO", "Wire",
                                               .product(name: "ArgumentParser", package: "swift-argument-parser"),
                                               .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                                               .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                                               .product(name: "Logging", package: "swift-log")]),
        .executableTarget(name: "gwlbd", dependencies: ["Daemon"]),
        .target(name: "Appliance", dependencies: ["Wire", "Flows", "PacketIO", .product(name: "Logging", package: "swift-log")]),
        .target(name: "Lab"),
        // The client side of gwlbd's API (Foundation only): elbv2 verbs with the aws CLI's flags and
        // output, used by `gwlb` and the console.
        // The typed contract between gwlbd's observability endpoints and their clients.
        .target(name: "ControlContract"),
        // HTTP over gwlbd's Unix socket through AsyncHTTPClient, for callers that block.
        .target(name: "ControlClient", dependencies: [
            "ControlContract", .product(name: "AsyncHTTPClient", package: "async-http-client"), .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        // The aws CLI's habits over it: verbs and flags, shorthand, output formats, JMESPath.
        .target(name: "AWSCommandLine", dependencies: ["ControlClient", "ControlContract"]),
        // The console's model: themes, colour depths, rates (the ncurses front end builds on it).
        // ncursesw (libncursesw5-dev): wide characters, macros as functions.
        .systemLibrary(name: "CNCurses"),
        .target(name: "Console", dependencies: ["ControlClient", "ControlContract", "CNCurses", .product(name: "NIOPosix", package: "swift-nio")]),
        // Also runs gwlbd (`gwlb gwlbd …`), so `swift run gwlb demo` has everything it starts.
        .executableTarget(name: "gwlb", dependencies: [
            "AWSCommandLine", "Appliance", "Console", "ControlClient", "ControlContract", "Daemon", "Lab", "Store", "Telemetry", "Wire", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .target(name: "TestSupport", dependencies: ["Wire", "Flows", "Catalog", "Lab"], path: "Tests/TestSupport"),
        // The `.blocking` trait: tests that block their thread run off Swift's cooperative pool.
        .target(name: "TestTraits", path: "Tests/TestTraits"),
        // A PostgreSQL database of a test's own (the cluster's tests).
        .target(name: "TestPostgres", dependencies: ["Store"], path: "Tests/TestPostgres"),
        // Saves scripted changes until killed: the store's durability test runs it.
        .executableTarget(name: "StoreCrashProbe", dependencies: ["Store", "Catalog", "TestSupport"], path: "Tests/StoreCrashProbe"),
        // libFuzzer targets for the parsers of outside bytes (README "Fuzzing"): built with
        // `-sanitize=fuzzer,address -DFUZZING`; a plain build replays saved inputs.
        .executableTarget(name: "gwlb-fuzz", dependencies: ["Wire", "ControlInput", "ControlClient", "ControlContract", "Console", "TestSupport"]),
        // In-memory I/O that plays the kernel and an appliance, for measuring a worker alone.
        .target(name: "WorkerLoad", dependencies: ["DataPlane", "Flows", "PacketIO", "Wire"]),
        // Counts a worker's heap allocations per packet (release build); NoAllocationTests runs it.
        .executableTarget(name: "gwlb-allocations", dependencies: ["WorkerLoad", "DataPlane", "Flows", "PacketIO", "Wire", "CAllocationCounter"]),
        .executableTarget(name: "gwlb-bench", dependencies: [
            "Wire", "Flows", "PacketIO", "DataPlane", "ControlAPI", "ControlClient", "ControlContract", "ControlPlane", "Store", "Daemon", "Appliance",
            "Lab", "CAllocationCounter", "WorkerLoad", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .testTarget(name: "WireTests", dependencies: ["TestTraits", "Wire", "TestSupport"]),
        .testTarget(name: "FlowsTests", dependencies: ["Flows", "Wire", "TestSupport"]),
        .testTarget(name: "PacketIOTests", dependencies: ["TestTraits", "Lab", "PacketIO", "Wire", "TestSupport"]),
        .testTarget(name: "DataPlaneTests", dependencies: ["TestTraits", "DataPlane", "Flows", "PacketIO", "Wire", "TestSupport"]),
        .testTarget(name: "CatalogTests", dependencies: ["Catalog"]),
        .testTarget(name: "HealthTests", dependencies: ["TestTraits", "Lab", "Health"]),
        .testTarget(name: "StoreTests", dependencies: ["TestTraits", "TestPostgres", "Lab", "Store", "Catalog", "TestSupport", "StoreCrashProbe"]),
        .testTarget(name: "ControlPlaneTests", dependencies: ["TestTraits", "TestPostgres", "ControlPlane", "Health", "Catalog", "Store", "DataPlane", "Flows", "PacketIO", "Wire"]),
        .testTarget(name: "ControlAPITests", dependencies: [
            "ControlContract", "ControlInput", "Telemetry", "ControlAPI", "ControlPlane", "Catalog", "Store", "Health", "DataPlane", .product(name: "Crypto", package: "swift-crypto"),
        ]),
        .testTarget(name: "ControlClientTests", dependencies: ["TestTraits", "Lab", "ControlContract", "ControlInput", "Telemetry", "AWSCommandLine", "ControlClient", "ControlAPI", "ControlPlane", "Catalog", "Store"]),
        .testTarget(name: "ConsoleTests", dependencies: ["TestTraits", "Lab", "Console", "ControlContract", "ControlClient", "ControlAPI", "ControlPlane", "DataPlane", "Store"]),
        .testTarget(name: "TelemetryTests", dependencies: ["TestTraits", "Lab", "Telemetry", "DataPlane", "Wire", .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "DaemonTests", dependencies: ["TestTraits", "ControlInput", "Daemon", .product(name: "ArgumentParser", package: "swift-argument-parser"), "ControlPlane", "DataPlane", "Flows", "PacketIO", "Wire"]),
        // Real namespaces, TUN devices, sockets and clients; builds and runs the gwlb and gwlbd products.
        .testTarget(name: "EndToEndTests", dependencies: ["TestTraits", "TestPostgres", "Lab", "Daemon", "Store", "TestSupport", "gwlb", "gwlbd"]),
    ]
)
