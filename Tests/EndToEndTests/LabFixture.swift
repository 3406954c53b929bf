import Foundation
import Lab
import Testing
import TestSupport

/// A lab of our own for one test: namespaces with a unique prefix, the reference appliances, and
/// gwlbd in the router namespace. Needs root (CI runs as root); without it the test fails and says why.
///
///   client 198.18.10.2 ── router [uplink │ gwlbe0 (gwlbd) │ app] ── server 198.18.20.2
///                                    br0 198.18.1.1 ── app1 .11, app2 .12, app3 .13 (GENEVE)
final class LabFixture {
    let lab: Lab
    let statisticsPath: String
    private var daemon: ChildProcess?
    private static let counter = Counter()

    /// Builds the lab and starts gwlbd. `rules` go to every appliance, `applianceOptions[N]` to appliance N.
    /// With `nodes`, the cluster's lab (`Lab.upCluster`): the caller starts the nodes' gwlbd.
    init(appliances: Int = 3, rules: [String] = [], applianceOptions: [Int: [String]] = [:], workers: Int = 2, startDaemon: Bool = true,
         routing: Lab.Routing = .byHand, nodes: Int = 0) throws {
        guard geteuid() == 0 else {
            throw Failure("end-to-end tests need root for network namespaces and TUN devices (CI runs as root): run `sudo swift test`")
        }
        let missing = ["ip", "ping", "curl", "python3", "tshark", "setsid"].filter { (try? Self.execute(["which", $0]).status) != 0 }
        guard missing.isEmpty else {
            throw Failure("end-to-end tests need \(missing.joined(separator: ", ")): apt-get install -y iproute2 iputils-ping curl python3 tshark util-linux (as .ci/run does)")
        }
        // Short and unique per test process and test: namespaces of parallel runs never collide.
        lab = Lab(prefix: "e\(getpid() % 10000)x\(Self.counter.next())", applianceCount: appliances, nodeCount: nodes)
        statisticsPath = "/tmp/\(lab.prefix)-stats.json"
        do {
            if nodes > 0 {
                try lab.upCluster(executable: Self.binary("gwlb"), rules: rules, applianceOptions: applianceOptions)
            } else {
                try lab.up(executable: Self.binary("gwlb"), rules: rules, applianceOptions: applianceOptions, workers: workers, routing: routing)
                if startDaemon { try start() }
            }
        } catch {
            tearDown()
            throw error
        }
    }

    deinit { tearDown() }

    func tearDown() {
        if let daemon, daemon.isRunning {
            daemon.terminate()
            daemon.waitUntilExit()
        }
        daemon = nil
        lab.down()
        try? FileManager.default.removeItem(atPath: statisticsPath)
    }

    /// Starts gwlbd in the router namespace and waits until it forwards.
    func start() throws {
        daemon = try ChildProcess(["ip", "netns", "exec", lab.router, Self.binary("gwlbd"), "--config", lab.daemonConfigurationPath,
                                   "--stats-file", statisticsPath])
        for _ in 0..<100 {
            if FileManager.default.fileExists(atPath: statisticsPath) { return }
            usleep(50_000)
        }
        throw Failure("gwlbd did not start in \(lab.router)")
    }

    /// Stops gwlbd with SIGTERM and returns its exit status.
    func stopDaemon() -> Int32 {
        guard let daemon else { return -1 }
        daemon.terminate()
        self.daemon = nil
        return daemon.waitUntilExit()
    }

    // MARK: Running things in the lab

    /// Runs a command in a namespace; returns its exit status and output.
    @discardableResult
    func run(_ namespace: String, _ arguments: [String], input: String? = nil) throws -> (status: Int32, output: String) {
        try Self.execute(["ip", "netns", "exec", namespace] + arguments, input: input)
    }

    /// Runs a command to its end; its standard output and error together.
    static func execute(_ arguments: [String], input: String? = nil) throws -> (status: Int32, output: String) {
        let result = try Shell.execute(arguments, input: input)
        return (result.status, result.output + result.errors)
    }

    /// Starts a long-running command in a namespace (a server); it ends with the lab.
    func background(_ namespace: String, _ arguments: [String]) throws {
        _ = try ChildProcess(["ip", "netns", "exec", namespace] + arguments)
    }

    /// Starts a server in a namespace and returns once it listens on `port` (TCP, or UDP with
    /// `udp`): a fixed pause loses the race on a loaded machine, and the first connection or
    /// datagram then meets a closed port.
    func serve(_ namespace: String, _ arguments: [String], port: Int, udp: Bool = false) throws {
        try background(namespace, arguments)
        try waitUntilListening(namespace, port: port, udp: udp, what: arguments.joined(separator: " "))
    }

    /// Returns once something in `namespace` listens on `port` (TCP, or UDP with `udp`); throws after 10 s.
    func waitUntilListening(_ namespace: String, port: Int, udp: Bool = false, what: String) throws {
        for _ in 0..<200 {
            let sockets = try run(namespace, ["ss", "-H", udp ? "-lnu" : "-lnt", "sport = :\(port)"])
            if sockets.status == 0, !sockets.output.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { return }
            usleep(50_000)
        }
        throw Failure("\(what) in \(namespace) did not listen on port \(port) within 10 s")
    }

    /// Starts tshark on appliance 1's link, writing the first `count` GENEVE datagrams that reach
    /// it (or what came in `seconds`) to `path`; it has started capturing when this returns.
    func captureGeneve(count: Int, seconds: Int, to path: String) throws -> ChildProcess {
        let tshark = try ChildProcess(["ip", "netns", "exec", lab.appliance(1), "tshark", "-q", "-i", "eth0", "-f", "udp dst port 6081",
                                       "-c", String(count), "-a", "duration:\(seconds)", "-w", path])
        usleep(1_500_000)
        return tshark
    }

    /// Runs a Python program in a namespace (clients and servers for UDP and TCP).
    @discardableResult
    func python(_ namespace: String, _ program: String, arguments: [String] = []) throws -> (status: Int32, output: String) {
        try run(namespace, ["python3", "-c", program] + arguments)
    }

    // MARK: What gwlbd and the appliances report

    /// gwlbd's statistics file, after its next write (at least once a second).
    func statistics() throws -> [String: Any] {
        let before = (try? FileManager.default.attributesOfItem(atPath: statisticsPath)[.modificationDate] as? Date) ?? .distantPast
        for _ in 0..<60 {
            if let date = try? FileManager.default.attributesOfItem(atPath: statisticsPath)[.modificationDate] as? Date, date > before { break }
            usleep(50_000)
        }
        let data = try Data(contentsOf: URL(fileURLWithPath: statisticsPath))
        return try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
    }

    func drops(_ reason: String) throws -> Int {
        ((try statistics()["drops"] as? [String: Any])?[reason] as? Int) ?? -1
    }

    /// The drop count of `reason` once it reaches `expected`, or what it is after a few seconds:
    /// workers publish their counters about once a second, gwlbd writes the file once a second.
    func drops(_ reason: String, settlingAt expected: Int) throws -> Int {
        var count = try drops(reason)
        for _ in 0..<5 where count != expected { count = try drops(reason) }
        return count
    }

    /// An appliance's own counters (GET /stats), asked from the router namespace.
    func applianceStatistics(_ number: Int) throws -> [String: Any] {
        let result = try run(lab.router, ["curl", "-sf", "--max-time", "2", "http://\(Lab.applianceAddress(number)):\(Lab.applianceHealthPort)/stats"])
        guard result.status == 0 else { throw Failure("appliance \(number) stats: \(result.output)") }
        return try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any] ?? [:]
    }

    /// Sends one UDP datagram from the client to each of `count` server ports from `firstPort` on:
    /// that many new flows (nobody listens, so nothing comes back to confirm them).
    func sendNewUDPFlows(count: Int = 40, firstPort: Int = 7000) throws {
        _ = try python(lab.client, "import socket\nfor p in range(\(count)):\n s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b'x', ('\(Lab.serverAddress)', \(firstPort) + p))")
        usleep(500_000)
    }

    /// How many of `sendNewUDPFlows`' flows appliance `number` saw.
    func newUDPFlows(on number: Int, count: Int = 40, firstPort: Int = 7000) throws -> Int {
        try applianceFlows(number).filter { flow in
            flow["protocol"] as? String == "udp" && [flow["portA"], flow["portB"]].contains { (firstPort..<(firstPort + count)).contains($0 as? Int ?? 0) }
        }.count
    }

    func applianceFlows(_ number: Int) throws -> [[String: Any]] {
        try applianceStatistics(number)["flows"] as? [[String: Any]] ?? []
    }

    /// For each of these TCP ports (one end of a connection), the appliances that saw its flow.
    func appliancesCarrying(tcpPorts ports: Set<Int>, of appliances: ClosedRange<Int> = 1...3) throws -> [Int: Set<Int>] {
        var seenOn: [Int: Set<Int>] = [:]
        for appliance in appliances {
            for flow in try applianceFlows(appliance) where flow["protocol"] as? String == "tcp" {
                for end in [flow["portA"], flow["portB"]].compactMap({ $0 as? Int }) where ports.contains(end) { seenOn[end, default: []].insert(appliance) }
            }
        }
        return seenOn
    }

    /// Path of a product built next to the test bundle.
    static func binary(_ name: String) -> String { BuiltProducts.path(name) }

    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    final class Counter: @unchecked Sendable {
        private var value = 0
        private let lock = NSLock()
        func next() -> Int { lock.withLock { value += 1; return value } }
    }
}
