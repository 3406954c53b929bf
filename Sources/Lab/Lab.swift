import Foundation

/// `gwlb lab`: AWS's reference inspection topology in network namespaces.
///
///                                 ┌──────────── <prefix>-router ─────────────┐
///   <prefix>-client               │  uplink 198.18.10.1        app 198.18.20.1│        <prefix>-server
///   eth0 198.18.10.2/24 ──────────┤  fd00:10::1                fd00:20::1     ├──────── eth0 198.18.20.2/24
///   fd00:10::2/64  ("internet")   │       │  policy routes          ▲         │         fd00:20::2/64
///                                 │       ▼                         │         │
///                                 │  gwlbe0 (TUN, gwlbd's endpoint) ─┘ main   │
///                                 │  br0 198.18.1.1 ── GENEVE :6081           │
///                                 └──────┬──────────────┬─────────────────────┘
///                                   <prefix>-app1   <prefix>-app2 …   eth0 198.18.1.11, .12 …
///
/// The router's policy routing plays AWS's three route tables: arriving on `uplink` for the app
/// subnet → endpoint (ingress route table); arriving on `app` for anywhere → endpoint (app subnet's
/// 0.0.0.0/0 → endpoint); back from inspection (arriving on `gwlbe0`) → the main table. Links have
/// MTU 9001. Addresses are from 198.18.0.0/15 and fd00::/8; nothing leaves the namespaces.
public struct Lab: Sendable {
    public let prefix: String
    public let applianceCount: Int
    /// gwlbd nodes behind the router's multipath routes (`upCluster`); 0: one gwlbd in the router.
    public let nodeCount: Int

    public static let clientAddress = "198.18.10.2", clientAddress6 = "fd00:10::2"
    public static let serverAddress = "198.18.20.2", serverAddress6 = "fd00:20::2"
    public static let geneveAddress = "198.18.1.1"
    public static let endpointInterface = "gwlbe0"
    public static let endpointID = "vpce-0123456789abcdef0"
    public static let attachmentID = "0x1122334455667788"
    /// What EC2's route tables call the lab's interfaces (`Routing.throughAPI`): the internet
    /// gateway is the uplink (its edge association is the ingress route table), the application
    /// subnet is `app`; the endpoint's own subnet needs no entry (its device is the endpoint's).
    public static let internetGatewayID = "igw-0c11e47", applicationSubnetID = "subnet-0a99", endpointSubnetID = "subnet-0e9d"
    public static let vpcID = "vpc-0eb"
    public static let applicationSubnet = "198.18.20.0/24", applicationSubnet6 = "fd00:20::/64"

    /// Who writes the router's policy routing (AWS's three route tables).
    public enum Routing: String, Sendable, CaseIterable {
        /// `ip rule` and `ip route` when the lab is built: what a gwlbd with a configuration file needs.
        case byHand = "hand"
        /// Nothing: gwlbd applies the route tables made through its EC2 API (`gwlb ec2`, `aws ec2`);
        /// `apiConfigurationPath` tells it which interface each subnet and gateway is.
        case throughAPI = "api"
    }
    /// AWS's default health-check port for GENEVE target groups, so targets become healthy unconfigured.
    public static let applianceHealthPort = 80
    static let mtu = "9001"

    /// What is wrong with `prefix` as a lab's name, or nil: 1–12 of `a-z`, `0-9` and `-`. The prefix
    /// names namespaces and the state directory `/run/gwlb-lab/<prefix>` that `down` removes, so
    /// nothing that could climb out of it (`..`, `/`) is accepted.
    public static func problem(withPrefix prefix: String) -> String? {
        let allowed = prefix.utf8.allSatisfy { ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z")) || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || $0 == UInt8(ascii: "-") }
        return (1...12).contains(prefix.utf8.count) && allowed ? nil : "the lab prefix must be 1-12 characters of a-z, 0-9 and - (got \"\(prefix)\")"
    }

    public init(prefix: String = "gwlb", applianceCount: Int = 3, nodeCount: Int = 0) {
        self.prefix = prefix
        self.applianceCount = applianceCount
        self.nodeCount = nodeCount
    }

    public var client: String { "\(prefix)-client" }
    public var router: String { "\(prefix)-router" }
    public var server: String { "\(prefix)-server" }
    public func appliance(_ number: Int) -> String { "\(prefix)-app\(number)" }
    public static func applianceAddress(_ number: Int) -> String { "198.18.1.\(10 + number)" }
    public var stateDirectory: String { "/run/gwlb-lab/\(prefix)" }
    public var daemonConfigurationPath: String { "\(stateDirectory)/gwlbd.json" }
    /// The API form's configuration file (`--config` beside `--state-dir`): the interfaces of the
    /// subnet and gateway ids its route tables are associated with.
    public var apiConfigurationPath: String { "\(stateDirectory)/gwlbd-api.json" }
    /// Where a gwlbd in this lab keeps its flows across restarts (`--shared-state`): in memory
    /// (/dev/shm, a tmpfs), removed by `down()`.
    public var sharedStatePath: String { "/dev/shm/gwlb-lab-\(prefix)-flows" }
    public var namespaces: [String] { [client, router, server] + (1...max(1, applianceCount)).map(appliance) + (0..<nodeCount).map { node($0 + 1) } }

    /// Builds the topology (after removing any leftover of the same prefix), writes gwlbd's
    /// configuration, and starts a reference appliance in each appliance namespace from `executable`
    /// (the `gwlb` binary) with `rules`, and appliance N also with `applianceRules[N]` and the
    /// command-line options `applianceOptions[N]` (e.g. `--odd-outer-headers`).
    public func up(executable: String, rules: [String] = [], applianceRules: [Int: [String]] = [:], applianceOptions: [Int: [String]] = [:],
                   workers: Int = 2, routing: Routing = .byHand) throws {
        if let problem = Self.problem(withPrefix: prefix) { throw Shell.Failure(description: problem) }
        guard geteuid() == 0 else { throw Shell.Failure(description: "the lab needs root: sudo gwlb lab up") }
        down()
        try FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true)
        for namespace in namespaces {
            try ip(["netns", "add", namespace])
            try ip(["-n", namespace, "link", "set", "lo", "up"])
        }
        try sysctl(router, ["net/ipv4/ip_forward": "1", "net/ipv6/conf/all/forwarding": "1",
                            "net/ipv4/conf/all/rp_filter": "0", "net/ipv4/conf/default/rp_filter": "0"])
        // Client ("internet") side.
        try link("uplink", in: router, peer: "eth0", in: client)
        try address(router, "uplink", "198.18.10.1/24", "fd00:10::1/64")
        try address(client, "eth0", "\(Self.clientAddress)/24", "\(Self.clientAddress6)/64")
        try ip(["-n", client, "route", "add", "default", "via", "198.18.10.1"])
        try ip(["-n", client, "-6", "route", "add", "default", "via", "fd00:10::1"])
        // Application subnet.
        try link("app", in: router, peer: "eth0", in: server)
        try address(router, "app", "198.18.20.1/24", "fd00:20::1/64")
        try address(server, "eth0", "\(Self.serverAddress)/24", "\(Self.serverAddress6)/64")
        try ip(["-n", server, "route", "add", "default", "via", "198.18.20.1"])
        try ip(["-n", server, "-6", "route", "add", "default", "via", "fd00:20::1"])
        // Appliances on a bridge; gwlbd sends GENEVE from the router's address on it.
        try addAppliances(routerAddress: Self.geneveAddress)
        // The endpoint: a persistent multi-queue TUN that gwlbd attaches to, so the routes can
        // point at it before gwlbd starts and survive its restarts.
        try ip(["-n", router, "tuntap", "add", "dev", Self.endpointInterface, "mode", "tun", "multi_queue"])
        // No IPv6 link-local address on the endpoint: the router's own MLD and router
        // solicitations would otherwise be routed through the appliances.
        try sysctl(router, ["net/ipv4/conf/\(Self.endpointInterface)/rp_filter": "0",
                            "net/ipv6/conf/\(Self.endpointInterface)/addr_gen_mode": "1"])
        try ip(["-n", router, "link", "set", Self.endpointInterface, "mtu", Self.mtu, "up"])
        for family in ["-4", "-6"] where routing == .byHand {
            let appSubnet = family == "-4" ? "198.18.20.0/24" : "fd00:20::/64"
            try ip(["-n", router, family, "rule", "add", "iif", "uplink", "lookup", "100", "priority", "100"])
            try ip(["-n", router, family, "route", "add", appSubnet, "dev", Self.endpointInterface, "table", "100"])
            try ip(["-n", router, family, "rule", "add", "iif", "app", "lookup", "101", "priority", "101"])
            try ip(["-n", router, family, "route", "add", "default", "dev", Self.endpointInterface, "table", "101"])
        }
        try writeDaemonConfigurations(workers: workers)
        for number in 1...applianceCount {
            try startAppliance(number, executable: executable, rules: rules + (applianceRules[number] ?? []), options: applianceOptions[number] ?? [])
        }
        try waitForAppliances()
    }

    /// Removes every namespace of this lab and what runs in them; safe to call at any time. With a
    /// prefix `problem(withPrefix:)` refuses, it touches nothing.
    public func down() {
        guard Self.problem(withPrefix: prefix) == nil else { return }
        let existing = Set(((try? Shell.run(["ip", "netns", "list"])) ?? "").split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) })
        let ours = existing.filter { $0 == client || $0 == router || $0 == server || $0.hasPrefix("\(prefix)-app") && Int($0.dropFirst(prefix.count + 4)) != nil
            || $0.hasPrefix("\(prefix)-n") && Int($0.dropFirst(prefix.count + 2)) != nil }
        func pids(_ namespace: String) -> [String] {
            ((try? Shell.run(["ip", "netns", "pids", namespace])) ?? "").split(separator: "\n").map(String.init)
        }
        let running = ours.flatMap(pids)
        if !running.isEmpty { Shell.attempt(["kill", "-TERM"] + running) }
        // Give gwlbd and the appliances a moment to exit cleanly, then make sure.
        for _ in 0..<20 {
            guard ours.contains(where: { !pids($0).isEmpty }) else { break }
            usleep(50_000)
        }
        let left = ours.flatMap(pids)
        if !left.isEmpty { Shell.attempt(["kill", "-KILL"] + left) }
        for namespace in ours { Shell.attempt(["ip", "netns", "del", namespace]) }
        try? FileManager.default.removeItem(atPath: stateDirectory)
        try? FileManager.default.removeItem(atPath: sharedStatePath)
    }

    /// One line per namespace: whether it exists, and what runs in it.
    public func status() -> String {
        let existing = ((try? Shell.run(["ip", "netns", "list"])) ?? "")
        return namespaces.map { namespace in
            guard existing.contains(namespace) else { return "\(namespace): absent" }
            let pids = ((try? Shell.run(["ip", "netns", "pids", namespace])) ?? "").split(separator: "\n")
            let commands = pids.compactMap { try? String(contentsOfFile: "/proc/\($0)/comm", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines) }
            return "\(namespace): up" + (commands.isEmpty ? "" : " (\(commands.joined(separator: ", ")))")
        }.joined(separator: "\n")
    }

    /// Runs a command inside one of the lab's namespaces.
    @discardableResult
    public func exec(_ namespace: String, _ arguments: [String]) throws -> String {
        try Shell.run(["ip", "netns", "exec", namespace] + arguments)
    }

    // MARK: Building blocks

    func ip(_ arguments: [String]) throws { try Shell.run(["ip"] + arguments) }

    /// The appliances' network: a bridge in the router with `routerAddress` on it, each appliance
    /// linked to it.
    func addAppliances(routerAddress: String) throws {
        try ip(["-n", router, "link", "add", "br0", "mtu", Self.mtu, "type", "bridge"])
        try ip(["-n", router, "link", "set", "br0", "up"])
        try ip(["-n", router, "address", "add", "\(routerAddress)/24", "dev", "br0"])
        for number in 1...applianceCount {
            try link("app\(number)", in: router, peer: "eth0", in: appliance(number))
            try ip(["-n", router, "link", "set", "app\(number)", "master", "br0"])
            try ip(["-n", appliance(number), "address", "add", "\(Self.applianceAddress(number))/24", "dev", "eth0"])
        }
    }

    func link(_ name: String, in namespace: String, peer: String, in peerNamespace: String) throws {
        try ip(["link", "add", name, "netns", namespace, "mtu", Self.mtu, "type", "veth",
                "peer", "name", peer, "netns", peerNamespace, "mtu", Self.mtu])
        try ip(["-n", namespace, "link", "set", name, "up"])
        try ip(["-n", peerNamespace, "link", "set", peer, "up"])
    }

    func address(_ namespace: String, _ device: String, _ v4: String, _ v6: String) throws {
        try ip(["-n", namespace, "address", "add", v4, "dev", device])
        try ip(["-n", namespace, "-6", "address", "add", v6, "dev", device, "nodad"])
    }

    func sysctl(_ namespace: String, _ settings: [String: String]) throws {
        let script = settings.map { "echo \($0.value) > /proc/sys/\($0.key)" }.joined(separator: " && ")
        try Shell.run(["ip", "netns", "exec", namespace, "sh", "-c", script])
    }

    /// The two gwlbd configuration files: the file form's (endpoint and targets listed) and the
    /// API form's (the interfaces its route tables' subnet and gateway ids name).
    private func writeDaemonConfigurations(workers: Int) throws {
        let file = DaemonFile(geneveAddress: Self.geneveAddress, workers: workers, endpointMTU: Int(Self.mtu)!,
                              endpoints: [.init(interface: Self.endpointInterface, endpointId: Self.endpointID, attachmentId: Self.attachmentID)],
                              targets: (1...applianceCount).map(Self.applianceAddress), flowsPerWorker: 65536)
        let api = DaemonFile(geneveAddress: Self.geneveAddress, workers: workers, endpointMTU: Int(Self.mtu)!,
                             interfaces: [Self.internetGatewayID: "uplink", Self.applicationSubnetID: "app"])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(file).write(to: URL(fileURLWithPath: daemonConfigurationPath))
        try encoder.encode(api).write(to: URL(fileURLWithPath: apiConfigurationPath))
    }

    /// gwlbd's configuration file, as far as the lab writes it (README "gwlbd").
    struct DaemonFile: Encodable {
        struct Endpoint: Encodable {
            var interface: String, endpointId: String, attachmentId: String
        }
        var geneveAddress: String
        var workers: Int
        var endpointMTU: Int
        var endpoints: [Endpoint]?
        var targets: [String]?
        var flowsPerWorker: Int?
        var interfaces: [String: String]?
    }

    func startAppliance(_ number: Int, executable: String, rules: [String], options: [String]) throws {
        let log = "\(stateDirectory)/app\(number).log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        // setsid: the appliance outlives `gwlb lab up` and its terminal.
        _ = try ChildProcess(["ip", "netns", "exec", appliance(number), "setsid", executable, "appliance",
                              "--listen", Self.applianceAddress(number), "--health-port", String(Self.applianceHealthPort)]
                             + rules.flatMap { ["--drop", $0] } + options,
                             output: .file(log), errors: .file(log))
    }

    func waitForAppliances() throws {
        for number in 1...applianceCount {
            let url = "http://\(Self.applianceAddress(number)):\(Self.applianceHealthPort)/health"
            var ready = false
            for _ in 0..<100 where !ready {
                ready = (try? exec(router, ["curl", "-sf", "--max-time", "1", url])) != nil
                if !ready { usleep(100_000) }
            }
            guard ready else {
                let log = (try? String(contentsOfFile: "\(stateDirectory)/app\(number).log", encoding: .utf8)) ?? ""
                throw Shell.Failure(description: "appliance \(number) did not start: \(log)")
            }
        }
    }
}

extension CommandLine {
    /// This program's own path, to start it again in other namespaces (the lab's appliances).
    public static var selfExecutable: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? arguments[0]
    }
}
