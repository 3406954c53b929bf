import AWSCommandLine
import ArgumentParser
import Console
import ControlClient
import ControlContract
import Foundation
import Lab
import Store
import Synchronization

struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "gwlb at work: the lab, gwlbd with three appliances behind a gateway load balancer, live traffic, and the console.",
        discussion: """
            As root. Quitting the console (q) or Ctrl-C removes everything the demo made; after a crash, \
            `gwlb lab down` does. While it runs, `gwlb describe-target-health`, `gwlb flows` and the other \
            verbs work against it from another terminal.
            """)

    @Flag(help: "No console: run the traffic until --duration or Ctrl-C, then print what went where.")
    var noConsole = false
    @Option(help: "Stop after this many seconds (default: when you quit).") var duration: Double?
    @Option(help: "Number of appliances (1-10); the last one drops telnet (tcp:23).") var appliances = 3
    @Option(help: "Namespace prefix of the lab (gwlb lab down --prefix … removes it).") var prefix = "gwlb"
    @Option(help: "gwlbd's API socket.") var socket = ELBCommandLine.defaultSocketPath
    @Option(help: "Console theme.") var theme = "default"
    @Option(help: ArgumentHelp("gwlbd nodes (2-9): a cluster behind the router's multipath routes, sharing a database the demo makes and removes.",
                               discussion: "The console and --socket are node 1's; `gwlb cluster status` lists the nodes."))
    var nodes = 1
    @Option(help: "With --nodes: the PostgreSQL server, by its Unix socket (the nodes' namespaces have their own loopback), as a role that may create databases.")
    var database = "postgres://gwlb:gwlb@%2Fvar%2Frun%2Fpostgresql/postgres"

    /// The cluster's server, with --nodes 2 or more.
    var clusterServer: PostgresAddress? { nodes > 1 ? PostgresAddress(url: database) : nil }

    func validate() throws {
        guard (1...10).contains(appliances) else { throw ValidationError("--appliances must be 1-10") }
        guard (1...9).contains(nodes) else { throw ValidationError("--nodes must be 1-9") }
        if nodes > 1 {
            guard let server = PostgresAddress(url: database), server.host.hasPrefix("/") else {
                throw ValidationError("--database \(database): give the server's Unix socket, e.g. postgres://USER:PASSWORD@%2Fvar%2Frun%2Fpostgresql/postgres (the nodes' namespaces cannot reach this machine's loopback)")
            }
        }
        if let problem = Lab.problem(withPrefix: prefix) { throw ValidationError(problem) }
        if let duration, duration <= 0 { throw ValidationError("--duration must be above 0") }
    }

    func run() throws {
        guard geteuid() == 0 else {
            StandardError.print("""
                gwlb demo builds network namespaces and a TUN device, so it needs root:
                    sudo "$(command -v swift)" run gwlb demo      (or, once built: sudo .build/debug/gwlb demo)

                """)
            throw ExitCode(1)
        }
        let missing = ["ip", "python3", "curl", "setsid"].filter { (try? Shell.execute(["sh", "-c", "command -v \($0)"]).status) != 0 }
        guard missing.isEmpty else {
            StandardError.print("gwlb demo needs \(missing.joined(separator: ", ")): apt-get install -y iproute2 python3 curl util-linux")
            throw ExitCode(1)
        }
        let lab = Lab(prefix: prefix, applianceCount: appliances, nodeCount: nodes > 1 ? nodes : 0)
        let demo = Demo(lab: lab, socket: nodes > 1 ? lab.nodeSocket(1) : socket, cluster: clusterServer)
        let stop = Demo.StopSignal()
        defer { demo.tearDown() }
        do {
            try demo.start { print($0) }
        } catch {
            StandardError.print("gwlb demo: \(error)")
            throw ExitCode(1)
        }
        if noConsole {
            print(duration.map { "traffic is flowing; stopping in \(Int($0)) s (Ctrl-C stops sooner)" } ?? "traffic is flowing; Ctrl-C stops it")
            _ = stop.wait(seconds: duration ?? .infinity)
            print(demo.summary())
        } else {
            let deadline = duration.map { Date().addingTimeInterval($0) }
            var console = ConsoleApp(socketPath: demo.socket, themeName: theme, readOnly: false, refreshSeconds: 1,
                                     executable: CommandLine.selfExecutable)
            console.shouldStop = { stop.requested || deadline.map { Date() >= $0 } ?? false }
            try console.run()
        }
        print("removing the demo: traffic, gwlbd, appliances, namespaces …")
    }
}

struct DemoFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// What `gwlb demo` builds, configures, runs and removes.
final class Demo: @unchecked Sendable {
    // @unchecked: used from the demo's main thread only.
    let lab: Lab
    /// gwlbd's socket (node 1's in a cluster).
    let socket: String
    /// The PostgreSQL server of a cluster demo; nil for one gwlbd.
    let cluster: PostgresAddress?
    /// gwlbd, or the cluster's nodes.
    private var daemons: [ChildProcess] = []
    /// Set once the demo starts building: before that there is nothing of its own to remove.
    private var built = false
    private var madeDatabase = false
    private var tornDown = false

    init(lab: Lab, socket: String, cluster: PostgresAddress? = nil) {
        self.lab = lab
        self.socket = socket
        self.cluster = cluster
    }

    /// The cluster's database, the demo's own: made at the start, removed at the end.
    var clusterDatabase: String { "gwlb_demo_" + lab.prefix.replacingOccurrences(of: "-", with: "_") }

    var applianceWithRule: Int { lab.applianceCount }

    func start(_ say: (String) -> Void) throws {
        let executable = CommandLine.selfExecutable
        // Never configure someone else's gwlbd: the demo's API calls would land there.
        if (try? ELBClient(socketPath: socket, userAgent: "gwlb-demo").call("DescribeLoadBalancers", [])) != nil {
            throw DemoFailure("a gwlbd already answers on \(socket): stop it, or give the demo another --socket PATH")
        }
        if let cluster {
            try startCluster(executable, server: cluster, say)
        } else {
            say("building the lab: client, router with the endpoint gwlbe0, server, \(lab.applianceCount) appliance\(lab.applianceCount == 1 ? "" : "s") …")
            built = true
            try lab.up(executable: executable, applianceRules: [applianceWithRule: ["tcp:23"]], routing: .throughAPI)
            say("starting gwlbd in \(lab.router), API on \(socket) …")
            try startDaemon(executable)
            let client = try waitForAPI()
            say("configuring it as AWS's walkthrough does: load balancer, target group, targets, listener (elbv2), then endpoint service, endpoint and route tables (ec2) …")
            try route(client, loadBalancer: configure(client))
        }
        say("starting traffic from \(Lab.clientAddress) to \(Lab.serverAddress): TCP, UDP and ICMP flows coming and going")
        try background(lab.server, ["python3", "-c", DemoTraffic.server])
        usleep(300_000)
        try background(lab.client, ["python3", "-c", DemoTraffic.client, Lab.serverAddress])
    }

    /// The cluster demo: the nodes behind the router's multipath routes, their database, and the
    /// configuration made on node 1 only (the others follow it).
    private func startCluster(_ executable: String, server: PostgresAddress, _ say: (String) -> Void) throws {
        say("building the lab: client, router spreading flows over \(lab.nodeCount) gwlbd nodes (multipath, both ways), server, \(lab.applianceCount) appliances …")
        built = true
        try lab.upCluster(executable: executable, applianceOptions: [applianceWithRule: ["--drop", "tcp:23"]])
        say("making the cluster's database \(clusterDatabase) on \(server) …")
        let admin = PostgresSession(address: server)
        try admin.query("DROP DATABASE IF EXISTS \(clusterDatabase) WITH (FORCE)")
        try admin.query("CREATE DATABASE \(clusterDatabase)")
        madeDatabase = true
        // The nodes reach the server by its Unix socket: libpq's form, the directory percent-encoded.
        let url = "postgres://\(server.user)\(server.password.map { ":" + $0 } ?? "")@\(server.host.replacingOccurrences(of: "/", with: "%2F")):\(server.port)/\(clusterDatabase)"
        for number in 1...lab.nodeCount {
            say("starting gwlbd node n\(number) in \(lab.node(number)), API on \(lab.nodeSocket(number)) …")
            let log = "\(lab.stateDirectory)/gwlbd-n\(number).log"
            // Detached: Ctrl-C reaches the demo only, which stops the nodes in order.
            daemons.append(try ChildProcess(lab.nodeCommand(number, gwlbd: [executable, "gwlbd"], database: url, detached: true),
                                            output: .file(log), errors: .file(log)))
        }
        let client = try waitForAPI()
        say("configuring the cluster through node 1 (every node follows within a second): load balancer, target group, targets, listener, endpoint …")
        let lb = try configure(client)
        _ = try client.call("CreateEndpoint", [("LoadBalancerArn", lb), ("Interface", Lab.endpointInterface), ("EndpointId", Lab.endpointID),
                                               ("AttachmentId", Lab.attachmentID)])
        // Until the nodes agree the appliances are healthy, a connection's two directions may take
        // different fail-open picks on two nodes: the traffic waits for the consensus.
        say("waiting for every node to see the appliances healthy (a check every 5 s, two in a row) …")
        for _ in 0..<300 {
            let healthy = (1...lab.nodeCount).allSatisfy { number in
                let node = ELBClient(socketPath: lab.nodeSocket(number), userAgent: "gwlb-demo")
                guard let tg = (try? node.call("DescribeTargetGroups", []))?.firstString("TargetGroups", "TargetGroupArn"),
                      case .array(let rows)? = (try? node.call("DescribeTargetHealth", [("TargetGroupArn", tg)]))?["TargetHealthDescriptions"]
                else { return false }
                return rows.count == lab.applianceCount && rows.allSatisfy { $0["TargetHealth"]?["State"] == .string("healthy") }
            }
            if healthy { return }
            usleep(100_000)
        }
        throw DemoFailure("the appliances did not become healthy on every node within 30 s: see \(lab.stateDirectory)/gwlbd-nN.log")
    }

    private func startDaemon(_ executable: String) throws {
        let log = lab.stateDirectory + "/gwlbd.log"
        // setsid: out of the terminal's process group, so Ctrl-C reaches the demo only, which stops it in order.
        daemons = [try ChildProcess(["ip", "netns", "exec", lab.router, "setsid", executable, "gwlbd", "--state-dir", lab.stateDirectory + "/state",
                                  "--socket", socket, "--geneve-address", Lab.geneveAddress, "--flow-log", lab.stateDirectory + "/flow.log",
                                  // The lab's, so that `gwlb lab down` removes it with the rest.
                                  "--shared-state", lab.sharedStatePath,
                                  // Which interfaces the route tables' subnet and gateway ids name.
                                  "--config", lab.apiConfigurationPath],
                                 output: .file(log), errors: .file(log))]
    }

    private func waitForAPI() throws -> ELBClient {
        let client = ELBClient(socketPath: socket, userAgent: "gwlb-demo")
        for _ in 0..<150 {
            if (try? client.call("DescribeLoadBalancers", [])) != nil { return client }
            if daemons.contains(where: { !$0.isRunning }) { break }
            usleep(100_000)
        }
        let log = (try? String(contentsOfFile: lab.stateDirectory + (cluster == nil ? "/gwlbd.log" : "/gwlbd-n1.log"), encoding: .utf8)) ?? ""
        throw DemoFailure( "gwlbd did not answer on \(socket): \(log)")
    }

    /// The elbv2 half, the same for one gwlbd and a cluster; returns the load balancer's ARN.
    private func configure(_ client: ELBClient) throws -> String {
        func arn(_ result: JSONValue, _ list: String, _ key: String) throws -> String {
            guard let value = result.firstString(list, key) else { throw DemoFailure( "no \(list)[0].\(key) in gwlbd's answer") }
            return value
        }
        let lb = try arn(client.call("CreateLoadBalancer", [("Name", "demo-gwlb"), ("Type", "gateway"), ("Subnets.member.1", "demo-subnet")]),
                         "LoadBalancers", "LoadBalancerArn")
        // Health checks every 5 s, two in a row to change state; drains of 30 s: the demo moves quickly.
        let tg = try arn(client.call("CreateTargetGroup", [("Name", "demo-appliances"), ("Protocol", "GENEVE"), ("Port", "6081"),
                                                          ("VpcId", "demo-vpc"), ("HealthCheckIntervalSeconds", "5"),
                                                          ("HealthCheckTimeoutSeconds", "2"), ("HealthyThresholdCount", "2"),
                                                          ("UnhealthyThresholdCount", "2")]), "TargetGroups", "TargetGroupArn")
        _ = try client.call("ModifyTargetGroupAttributes", [("TargetGroupArn", tg), ("Attributes.member.1.Key", "deregistration_delay.timeout_seconds"),
                                                            ("Attributes.member.1.Value", "30")])
        let targets = (1...lab.applianceCount).enumerated().map { ("Targets.member.\($0.offset + 1).Id", Lab.applianceAddress($0.element)) }
        _ = try client.call("RegisterTargets", [("TargetGroupArn", tg)] + targets)
        _ = try client.call("CreateListener", [("LoadBalancerArn", lb), ("DefaultActions.member.1.Type", "forward"),
                                               ("DefaultActions.member.1.TargetGroupArn", tg)])
        return lb
    }

    /// The seed's EC2 half: an endpoint service for the load balancer, an endpoint on the lab's
    /// gwlbe0, the internet gateway's ingress route table (the application subnet → the endpoint)
    /// and the application subnet's (everywhere → the endpoint). gwlbd makes them the router's
    /// policy routing; what comes back from inspection takes the main table (`local`).
    private func route(_ client: ELBClient, loadBalancer lb: String) throws {
        func string(_ value: JSONValue, _ object: String, _ key: String) throws -> String {
            guard case .string(let text)? = value[object]?[key] else { throw DemoFailure("no \(object).\(key) in gwlbd's answer") }
            return text
        }
        let service = try string(client.call("CreateVpcEndpointServiceConfiguration", [("GatewayLoadBalancerArn.1", lb), ("AcceptanceRequired", "false")],
                                             ec2: true), "ServiceConfiguration", "ServiceName")
        let endpoint = try string(client.call("CreateVpcEndpoint", [
            ("VpcEndpointType", "GatewayLoadBalancer"), ("ServiceName", service), ("VpcId", Lab.vpcID), ("SubnetId.1", Lab.endpointSubnetID),
            ("TagSpecification.1.ResourceType", "vpc-endpoint"), ("TagSpecification.1.Tag.1.Key", "gwlb:interface"),
            ("TagSpecification.1.Tag.1.Value", Lab.endpointInterface),
        ], ec2: true), "VpcEndpoint", "VpcEndpointId")
        let tables: [(association: (String, String), destinations: [(String, String)])] = [
            (("GatewayId", Lab.internetGatewayID), [("DestinationCidrBlock", Lab.applicationSubnet), ("DestinationIpv6CidrBlock", Lab.applicationSubnet6)]),
            (("SubnetId", Lab.applicationSubnetID), [("DestinationCidrBlock", "0.0.0.0/0"), ("DestinationIpv6CidrBlock", "::/0")]),
        ]
        for table in tables {
            let id = try string(client.call("CreateRouteTable", [("VpcId", Lab.vpcID)], ec2: true), "RouteTable", "RouteTableId")
            _ = try client.call("AssociateRouteTable", [("RouteTableId", id), table.association], ec2: true)
            for destination in table.destinations {
                _ = try client.call("CreateRoute", [("RouteTableId", id), destination, ("VpcEndpointId", endpoint)], ec2: true)
            }
        }
    }

    /// A long-running program in a namespace, out of the terminal's process group; the lab's
    /// removal ends it.
    private func background(_ namespace: String, _ arguments: [String]) throws {
        _ = try ChildProcess(["ip", "netns", "exec", namespace, "setsid"] + arguments)
    }

    /// Per appliance: its health, new flows and packets each way, from gwlbd's API.
    func summary() -> String {
        guard let stats = try? UnixHTTPClient(socketPath: socket).request("GET", "/v1/stats"),
              let report = try? ContractCoding.decode(StatsReport.self, from: stats.body) else { return "gwlbd did not answer" }
        let client = ELBClient(socketPath: socket, userAgent: "gwlb-demo")
        let health = (try? client.call("DescribeTargetGroups", [])).flatMap { groups -> JSONValue? in
            guard let tg = groups.firstString("TargetGroups", "TargetGroupArn") else { return nil }
            return try? client.call("DescribeTargetHealth", [("TargetGroupArn", tg)])
        }
        var states: [String: String] = [:]
        if case .array(let rows)? = health?["TargetHealthDescriptions"] {
            for row in rows {
                if case .string(let id)? = row["Target"]?["Id"], case .string(let state)? = row["TargetHealth"]?["State"] { states[id] = state }
            }
        }
        var lines = ["appliance      health     new flows  packets to  packets back"]
        for target in report.targets {
            let address = target.address
            let rule = address == Lab.applianceAddress(applianceWithRule) ? "  (drops tcp:23)" : ""
            lines.append(address.padding(toLength: 15, withPad: " ", startingAt: 0)
                         + (states[address] ?? "?").padding(toLength: 11, withPad: " ", startingAt: 0)
                         + "\(target.newFlows)".padding(toLength: 11, withPad: " ", startingAt: 0)
                         + "\(target.packetsToTarget)".padding(toLength: 12, withPad: " ", startingAt: 0)
                         + "\(target.packetsFromTarget)" + rule)
        }
        let drops = report.drops.filter { $0.value > 0 }.map { "\($0.key) \($0.value)" }
        lines.append("gwlbd's drops: " + (drops.isEmpty ? "none" : drops.sorted().joined(separator: ", ")))
        if cluster != nil, let status = try? Troubleshooting.cluster(socketPath: socket, json: false) {
            lines.append("(the counts are node 1's; the nodes:)")
            lines.append(status.trimmingCharacters(in: .newlines))
        }
        return lines.joined(separator: "\n")
    }

    /// Stops gwlbd (it removes its socket), then the lab with everything in it. Safe to repeat.
    func tearDown() {
        guard built, !tornDown else { return }
        tornDown = true
        for daemon in daemons where daemon.isRunning { daemon.terminate() }
        for daemon in daemons { for _ in 0..<50 where daemon.isRunning { usleep(100_000) } }
        lab.down()
        if madeDatabase, let cluster {
            _ = try? PostgresSession(address: cluster).query("DROP DATABASE IF EXISTS \(clusterDatabase) WITH (FORCE)")
        }
    }

    /// Ctrl-C, SIGTERM or SIGHUP: the demo ends in order instead of dying with the lab up.
    final class StopSignal: @unchecked Sendable {
        // @unchecked: the sources are only kept alive here; their handlers touch the atomic and semaphore.
        private final class Flag: Sendable { let raised = Atomic<Bool>(false) }
        private let flag = Flag()
        private let semaphore = DispatchSemaphore(value: 0)
        private let sources: [any DispatchSourceSignal]

        init() {
            let flag = self.flag, semaphore = self.semaphore
            sources = [SIGINT, SIGTERM, SIGHUP].map { number in
                signal(number, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
                source.setEventHandler {
                    flag.raised.store(true, ordering: .releasing)
                    semaphore.signal()
                }
                source.resume()
                return source
            }
        }

        var requested: Bool { flag.raised.load(ordering: .acquiring) }

        /// Waits for a signal or `seconds` (infinity: for a signal); true when a signal came.
        func wait(seconds: Double) -> Bool {
            guard seconds.isFinite else {
                semaphore.wait()
                return true
            }
            return semaphore.wait(timeout: .now() + seconds) == .success
        }
    }
}
