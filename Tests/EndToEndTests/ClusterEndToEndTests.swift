import Foundation
import Lab
import Store
import TestPostgres
import TestSupport
import TestTraits
import Testing

/// Three gwlbd nodes behind the lab router's multipath routes, sharing their configuration in a
/// real PostgreSQL (reached by its Unix socket from the nodes' namespaces).
@Suite(.serialized, .blocking) struct ClusterEndToEndTests {
    /// `flowsFromPorts HOST PORT FIRST COUNT`: one UDP flow from each client port FIRST… (fixed
    /// ports: the same flows each round), one datagram each, waiting up to 3 s a wave of 50 for
    /// the echoes; prints how many came back.
    static let flowsFromPorts = """
        import socket, sys, time
        host, port, first, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
        answered = 0
        for start in range(first, first + count, 50):
            wave = []
            for p in range(start, min(start + 50, first + count)):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind(('', p))
                s.sendto(b'gwlb' * 8, (host, port))
                wave.append(s)
            deadline = time.time() + 3
            for s in wave:
                try:
                    s.settimeout(max(0.01, deadline - time.time()))
                    s.recvfrom(100)
                    answered += 1
                except OSError:
                    pass
                s.close()
        print(answered)
        """

    /// `tcpEcho PORT`: echoes every connection's bytes back (a thread per connection).
    static let tcpEcho = """
        import socket, sys, threading
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(('0.0.0.0', int(sys.argv[1])))
        server.listen(1024)
        def echo(connection):
            while True:
                data = connection.recv(65536)
                if not data:
                    break
                connection.sendall(data)
        while True:
            connection, _ = server.accept()
            threading.Thread(target=echo, args=(connection,), daemon=True).start()
        """

    /// `longConnections HOST PORT COUNT SECONDS MARK`: COUNT TCP connections, each sending 64
    /// numbered bytes a round and checking the echo, for SECONDS; touches MARK once every
    /// connection has finished a round (the traffic flows). Prints `survived failed`: connections
    /// that never failed (no reset, no timeout, every byte back as sent), and the others.
    static let longConnections = """
        import os, socket, sys, time
        host, port, count, seconds, mark = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
        connections = []
        for _ in range(count):
            s = socket.create_connection((host, port), timeout=10)
            s.settimeout(10)
            connections.append(s)
        failed = set()
        end = time.time() + seconds
        round = 0
        while time.time() < end:
            round += 1
            for index, s in enumerate(connections):
                if index in failed:
                    continue
                payload = (('%d:%d:' % (index, round)) * 64)[:64].encode()
                try:
                    s.sendall(payload)
                    received = b''
                    while len(received) < len(payload):
                        chunk = s.recv(len(payload) - len(received))
                        if not chunk:
                            raise OSError('closed')
                        received += chunk
                    if received != payload:
                        raise OSError('bytes differ')
                except OSError:
                    failed.add(index)
            if round == 1:
                open(mark, 'w').close()
            time.sleep(0.05)
        print(count - len(failed), len(failed))
        """

    final class Cluster {
        let lab: LabFixture
        private(set) var nodes: [ChildProcess]
        let database: String

        init(nodes count: Int, database address: PostgresAddress, applianceOptions: [String] = []) throws {
            lab = try LabFixture(appliances: 3, applianceOptions: Dictionary(uniqueKeysWithValues: (1...3).map { ($0, applianceOptions) }), nodes: count)
            // The nodes' namespaces reach PostgreSQL by its Unix socket (their loopback is their own).
            database = "postgres://\(address.user):\(address.password ?? "")@%2Fvar%2Frun%2Fpostgresql/\(address.database)"
            nodes = []
            for number in 1...count { nodes.append(try start(number)) }
            for number in 1...count { try waitForAPI(number) }
        }

        private func start(_ number: Int) throws -> ChildProcess {
            let log = "\(lab.lab.stateDirectory)/gwlbd-n\(number).log"
            return try ChildProcess(lab.lab.nodeCommand(number, gwlbd: [LabFixture.binary("gwlbd")], database: database),
                                    output: .file(log), errors: .file(log))
        }

        private func waitForAPI(_ number: Int) throws {
            guard try APIDaemonFixture.eventually(15, { (try? gwlb(number, ["describe-load-balancers"]).status) == 0 }) else {
                throw LabFixture.Failure("node \(number) did not answer: \(self.log(number))")
            }
        }

        /// Stops node `number`'s gwlbd (SIGTERM) and starts it again; returns once it answers.
        func restart(_ number: Int) throws {
            nodes[number - 1].terminate()
            nodes[number - 1].waitUntilExit()
            nodes[number - 1] = try start(number)
            try waitForAPI(number)
        }

        func log(_ number: Int) -> String { (try? String(contentsOfFile: "\(lab.lab.stateDirectory)/gwlbd-n\(number).log", encoding: .utf8)) ?? "" }

        func gwlb(_ number: Int, _ arguments: [String]) throws -> (status: Int32, output: String) {
            try LabFixture.execute([LabFixture.binary("gwlb")] + arguments + ["--socket", lab.lab.nodeSocket(number)])
        }

        func json(_ number: Int, _ arguments: [String]) throws -> [String: Any] {
            let (status, output) = try gwlb(number, arguments)
            // Calls that answer nothing (register-targets) print nothing.
            guard status == 0, let object = output.isEmpty ? [:] : (try? JSONSerialization.jsonObject(with: Data(output.utf8))) as? [String: Any] else {
                throw LabFixture.Failure("gwlb \(arguments.joined(separator: " ")) on node \(number) exited \(status): \(output)")
            }
            return object
        }

        /// Target address → state, as node `number` answers describe-target-health.
        func health(_ number: Int, _ tg: String) throws -> [String: String] {
            let rows = try json(number, ["describe-target-health", "--target-group-arn", tg])["TargetHealthDescriptions"] as? [[String: Any]] ?? []
            var result: [String: String] = [:]
            for row in rows {
                if let id = (row["Target"] as? [String: Any])?["Id"] as? String { result[id] = (row["TargetHealth"] as? [String: Any])?["State"] as? String }
            }
            return result
        }

        func tearDown() {
            for node in nodes where node.isRunning {
                node.terminate()
                node.waitUntilExit()
            }
            lab.tearDown()
        }
    }

    /// The `snapshot` line of node `node`'s /v1/stream (what its console draws).
    static func streamSnapshot(_ cluster: Cluster, node: Int) throws -> [String: Any]? {
        let stream = try LabFixture.execute(["curl", "-sN", "--max-time", "2", "--unix-socket", cluster.lab.lab.nodeSocket(node),
                                             "http://localhost/v1/stream"]).output
        return stream.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            .first { $0["type"] as? String == "snapshot" }
    }

    /// The lab's getting-started configuration, made through node 1 only.
    static func configure(_ cluster: Cluster) throws -> String {
        let lb = try APIDaemonFixture.first(cluster.json(1, ["create-load-balancer", "--name", "lb", "--type", "gateway", "--subnets", "s-1"]),
                                            "LoadBalancers", "LoadBalancerArn")
        let tg = try APIDaemonFixture.first(cluster.json(1, ["create-target-group", "--name", "tg", "--protocol", "GENEVE", "--port", "6081", "--vpc-id", "v-1",
                                                                   "--health-check-interval-seconds", "5", "--healthy-threshold-count", "2"]),
                                            "TargetGroups", "TargetGroupArn")
        _ = try cluster.json(1, ["register-targets", "--target-group-arn", tg, "--targets"] + (1...3).map { "Id=\(Lab.applianceAddress($0))" })
        _ = try cluster.json(1, ["create-listener", "--load-balancer-arn", lb, "--default-actions", "Type=forward,TargetGroupArn=\(tg)"])
        _ = try cluster.json(1, ["create-endpoint", "--load-balancer-arn", lb, "--interface", Lab.endpointInterface,
                                 "--endpoint-id", Lab.endpointID, "--attachment-id", Lab.attachmentID])
        return tg
    }

    /// 200 long-lived TCP connections (`longConnections`) through a configured cluster whose
    /// appliances every node sees healthy; returns once they carry traffic.
    static func startConnections(_ cluster: Cluster, seconds: Int) throws -> Connections {
        let tg = try configure(cluster)
        let healthy = try APIDaemonFixture.eventually(30) { try (1...3).allSatisfy { try cluster.health($0, tg).values.allSatisfy { $0 == "healthy" } } }
        try #require(healthy, "the appliances did not become healthy on every node")
        let lab = cluster.lab
        try lab.serve(lab.lab.server, ["python3", "-c", tcpEcho, "7001"], port: 7001)
        let mark = "\(lab.lab.stateDirectory)/connections-flowing"
        let output = "\(lab.lab.stateDirectory)/connections.out"
        let clients = try ChildProcess(["ip", "netns", "exec", lab.lab.client, "python3", "-c", longConnections,
                                        Lab.serverAddress, "7001", "200", String(seconds), mark], output: .file(output), errors: .file(output))
        let connections = Connections(clients: clients, output: output)
        let flowing = APIDaemonFixture.eventually(20) { FileManager.default.fileExists(atPath: mark) }
        try #require(flowing, "the connections did not start: \(connections.printed)")
        return connections
    }

    /// iperf3 from the client to the server: `Bulk.streams` parallel TCP streams (so that some cross
    /// every node, both ways) at 25 Mbit/s each, beside the connections.
    static func startBulk(_ cluster: Cluster, seconds: Int) throws -> Bulk {
        let lab = cluster.lab
        guard (try? LabFixture.execute(["which", "iperf3"]).status) == 0 else {
            throw LabFixture.Failure("this test needs iperf3: apt-get install -y iperf3 (as .ci/run does)")
        }
        try lab.serve(lab.lab.server, ["iperf3", "-s"], port: 5201)
        let output = "\(lab.lab.stateDirectory)/bulk.json"
        let client = try ChildProcess(["ip", "netns", "exec", lab.lab.client, "timeout", String(seconds + 20), "iperf3", "-c", Lab.serverAddress,
                                       "-t", String(seconds), "-P", String(Bulk.streams), "-b", "25M", "-J"],
                                      output: .file(output), errors: .file(output))
        return Bulk(client: client, output: output)
    }

    struct Bulk {
        static let streams = 8
        let client: ChildProcess
        let output: String

        /// Once iperf3 ends (without an error): the bytes each stream moved in its last interval.
        func lastSecond() throws -> [Int] {
            client.waitUntilExit()
            let printed = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
            guard let json = try? JSONSerialization.jsonObject(with: Data(printed.utf8)) as? [String: Any], json["error"] == nil,
                  let last = (json["intervals"] as? [[String: Any]])?.last, let streams = last["streams"] as? [[String: Any]] else {
                throw LabFixture.Failure("iperf3 failed: \(printed.suffix(600))")
            }
            return streams.map { ($0["bytes"] as? Int) ?? 0 }
        }
    }

    struct Connections {
        let clients: ChildProcess
        let output: String
        var printed: String { (try? String(contentsOfFile: output, encoding: .utf8)) ?? "" }

        /// Once they end: how many connections survived and how many failed.
        func result() throws -> [Int] {
            clients.waitUntilExit()
            let result = printed.split(separator: " ").compactMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            try #require(result.count == 2, "the clients printed: \(printed)")
            return result
        }
    }

    /// One node of three dies (its gwlbd killed, its links cut) under 200 long-lived TCP
    /// connections: the router moves its flows to the others, which pick them up mid-connection
    /// and send them to the same appliances (Maglev over the same configuration and health), so
    /// at least 99 % of the connections carry on without a reset, every byte checked. New flows
    /// during and after go through; the dead node leaves the cluster's consensus.
    @Test func losingANodeLosesNoConnection() async throws {
        try await TestDatabase.use { address in
            let cluster = try Cluster(nodes: 3, database: address)
            defer { cluster.tearDown() }
            let lab = cluster.lab
            try lab.serve(lab.lab.server, ["python3", "-c", Programs.udpEcho, "0.0.0.0", "5002"], port: 5002, udp: true)
            let connections = try Self.startConnections(cluster, seconds: 12)
            let bulk = try Self.startBulk(cluster, seconds: 10)
            let carried = try cluster.json(1, ["flows", "--output", "json", "--port", "7001", "--limit", "1000"])["flows"] as? [[String: Any]] ?? []
            #expect(carried.count > 20, "node 1 carried \(carried.count) of the connections' directions before it died")
            let bulkOnNode1 = (try cluster.json(1, ["flows", "--output", "json", "--port", "5201", "--limit", "100"])["flows"] as? [[String: Any]] ?? []).count
            // Node 1 dies: killed, and its links cut (the router's next hop through it is gone).
            cluster.nodes[0].signal(SIGKILL)
            try lab.run(lab.lab.router, ["ip", "link", "set", "n1", "down"])
            try lab.run(lab.lab.router, ["ip", "link", "set", "node1", "down"])
            let during = try lab.python(lab.lab.client, Self.flowsFromPorts, arguments: [Lab.serverAddress, "5002", "30000", "200"])
            let result = try connections.result()
            print("cluster: \(result[0]) of 200 connections survived node 1's death, \(result[1]) failed")
            #expect(result[0] >= 198, "\(result[0]) of 200 connections survived, \(result[1]) failed")
            let streams = try bulk.lastSecond()
            print("cluster: bulk TCP (iperf3, \(streams.count) streams, \(bulkOnNode1) of their directions on node 1 when it died): last second \(streams)")
            #expect(streams.count == Bulk.streams && streams.allSatisfy { $0 > 0 }, "every bulk stream still moves bytes at the end: \(streams)")
            #expect(Int(during.output.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0 >= 198, "new flows while a node died: \(during.output)")
            let after = try lab.python(lab.lab.client, Self.flowsFromPorts, arguments: [Lab.serverAddress, "5002", "31000", "200"])
            #expect(Int(after.output.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0 >= 198, "new flows after: \(after.output)")
            let status = try cluster.gwlb(2, ["cluster", "status"]).output
            #expect(status.contains("3 nodes (2 alive)"), "\(status)")
        }
    }

    /// A node restarted under 200 long-lived TCP connections rejoins and carries traffic again,
    /// and moves no established flow: every connection stays on the one appliance it had (by the
    /// appliances' own flow tables), and ≥ 99 % carry on, every byte checked.
    @Test func aRestartedNodeRejoinsWithoutMovingFlows() async throws {
        try await TestDatabase.use { address in
            let cluster = try Cluster(nodes: 3, database: address)
            defer { cluster.tearDown() }
            let lab = cluster.lab
            let connections = try Self.startConnections(cluster, seconds: 14)
            try cluster.restart(2)
            // Node 2 carries connections again (it picked them up where the routers still send them).
            let carrying = try APIDaemonFixture.eventually(10) {
                (try cluster.json(2, ["flows", "--output", "json", "--port", "7001", "--limit", "1000"])["flows"] as? [[String: Any]] ?? []).count > 20
            }
            #expect(carrying, "the restarted node carries no connection")
            let status = try cluster.gwlb(1, ["cluster", "status"]).output
            #expect(status.contains("3 nodes (3 alive)"), "\(status)")
            let result = try connections.result()
            print("cluster: \(result[0]) of 200 connections survived node 2's restart, \(result[1]) failed")
            #expect(result[0] >= 198, "\(result[0]) of 200 connections survived node 2's restart, \(result[1]) failed")
            var appliancesOf: [Int: Set<Int>] = [:]
            for appliance in 1...3 {
                for flow in try lab.applianceFlows(appliance) where flow["protocol"] as? String == "tcp" {
                    guard flow["portA"] as? Int == 7001 || flow["portB"] as? Int == 7001 else { continue }
                    for end in [flow["portA"], flow["portB"]].compactMap({ $0 as? Int }) where end != 7001 { appliancesOf[end, default: []].insert(appliance) }
                }
            }
            #expect(appliancesOf.count >= 198, "the appliances saw \(appliancesOf.count) connections")
            let moved = appliancesOf.filter { $0.value.count > 1 }.count
            #expect(moved == 0, "\(moved) connections moved to another appliance")
        }
    }

    /// Made on node 1, the configuration is every node's; every node sees the appliances healthy
    /// (their consensus); and `gwlb cluster status` lists the three nodes alive.
    /// Then 1,000 UDP flows go through each node in turn (the router's routes pinned to it, both
    /// directions), and once more spread over all three (a flow's two directions may cross
    /// different nodes): each flow reached one appliance only, as the appliances themselves report.
    @Test func everyNodeSendsAFlowToTheSameAppliance() async throws {
        try await TestDatabase.use { address in
            let cluster = try Cluster(nodes: 3, database: address)
            defer { cluster.tearDown() }
            let tg = try Self.configure(cluster)
            let everyoneHealthy = try APIDaemonFixture.eventually(30) {
                try (1...3).allSatisfy { node in try cluster.health(node, tg) == Dictionary(uniqueKeysWithValues: (1...3).map { (Lab.applianceAddress($0), "healthy") }) }
            }
            let seen = (1...3).map { (try? cluster.health($0, tg)) ?? [:] }
            let described = (1...3).map { (try? cluster.gwlb($0, ["describe-target-health", "--target-group-arn", tg]).output) ?? "" }
            #expect(everyoneHealthy, "health per node: \(seen)\n\(described.joined(separator: "\n"))\n\((try? cluster.gwlb(1, ["cluster", "status"]).output) ?? "")\n\(cluster.log(2))")
            // Each node's own verdict, in describe-target-health's gwlb extension, on any node.
            let rows = try cluster.json(3, ["describe-target-health", "--target-group-arn", tg])["TargetHealthDescriptions"] as? [[String: Any]] ?? []
            let perNode = rows.map { ($0["NodeHealth"] as? [[String: Any]] ?? []).map { "\($0["Node"] ?? "?")=\($0["State"] ?? "?")" } }
            #expect(perNode.count == 3 && perNode.allSatisfy { $0 == ["n1=healthy", "n2=healthy", "n3=healthy"] }, "\(perNode)")
            // The console's stream: the nodes, and each target's verdict by node.
            let snapshot = try Self.streamSnapshot(cluster, node: 1)
            let streamedNodes = (snapshot?["nodes"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
            let streamedVerdicts = (snapshot?["targets"] as? [[String: Any]] ?? []).map { ($0["nodes"] as? [String: String]) ?? [:] }
            #expect(streamedNodes == ["n1", "n2", "n3"], "the stream's nodes: \(streamedNodes)")
            #expect(streamedVerdicts.count == 3 && streamedVerdicts.allSatisfy { $0 == ["n1": "healthy", "n2": "healthy", "n3": "healthy"] },
                    "the stream's per-node verdicts: \(streamedVerdicts)")
            // The audit trail the nodes share: node 1's changes and node 3's reads, each under its node.
            let trail = try ClusterMembership(address: address, node: "reader").auditRecords(limit: 1000)
            let calls = Set(trail.compactMap { entry in
                ((try? JSONSerialization.jsonObject(with: Data(entry.record.utf8))) as? [String: Any])?["eventName"].map { "\(entry.node) \($0)" }
            })
            #expect(calls.isSuperset(of: ["n1 CreateLoadBalancer", "n1 RegisterTargets", "n1 CreateEndpoint", "n3 DescribeTargetHealth"]),
                    "the shared audit trail: \(calls.sorted())")
            let status = try cluster.gwlb(2, ["cluster", "status"])
            #expect(status.status == 0)
            for node in 1...3 { #expect(status.output.contains("n\(node)") && status.output.contains("3 nodes (3 alive)"), "\(status.output)") }
            let metrics = try LabFixture.execute(["curl", "-s", "--max-time", "5", "--unix-socket", cluster.lab.lab.nodeSocket(2), "http://localhost/metrics"]).output
            #expect(metrics.contains(#"gwlb_healthy_hosts{load_balancer="#) && metrics.contains(#"node="n2"}"#), "node 2's metrics carry its name")
            let lab = cluster.lab
            try lab.serve(lab.lab.server, ["python3", "-c", Programs.udpEcho, "0.0.0.0", "5002"], port: 5002, udp: true)
            let (first, count) = (20000, 1000)
            let router = lab.lab.router
            for node in 1...3 {
                try lab.run(router, ["ip", "route", "replace", "default", "table", "100", "via", Lab.nodeLink(node).node, "dev", "n\(node)"])
                let answered = try lab.python(lab.lab.client, Self.flowsFromPorts, arguments: [Lab.serverAddress, "5002", String(first), String(count)])
                #expect(Int(answered.output.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0 >= count * 99 / 100, "through node \(node): \(answered.output)")
                let flows = try cluster.json(node, ["flows", "--output", "json", "--port", "5002", "--limit", "5000"])["flows"] as? [[String: Any]] ?? []
                #expect(flows.count >= count * 99 / 100, "node \(node) carried \(flows.count) of the flows")
            }
            try lab.run(router, ["ip", "route", "replace", "default", "table", "100"]
                        + (1...3).flatMap { ["nexthop", "via", Lab.nodeLink($0).node, "dev", "n\($0)"] })
            _ = try lab.python(lab.lab.client, Self.flowsFromPorts, arguments: [Lab.serverAddress, "5002", String(first), String(count)])
            var appliancesOf: [Int: Set<Int>] = [:]
            for appliance in 1...3 {
                for flow in try lab.applianceFlows(appliance) where flow["protocol"] as? String == "udp" {
                    for end in [flow["portA"], flow["portB"]].compactMap({ $0 as? Int }) where (first..<(first + count)).contains(end) {
                        appliancesOf[end, default: []].insert(appliance)
                    }
                }
            }
            #expect(appliancesOf.count >= count * 99 / 100, "the appliances saw \(appliancesOf.count) of the \(count) flows")
            let split = appliancesOf.filter { $0.value.count > 1 }.sorted { $0.key < $1.key }
            let noneSplit = split.isEmpty
            #expect(noneSplit, "\(split.count) flows reached more than one appliance, e.g. \(split.prefix(5).map { "port \($0.key): \($0.value.sorted())" })")
            #expect(Set(appliancesOf.values.compactMap(\.first)).count == 3, "Maglev spreads the flows over the three appliances")
            // Node 1's stream counts every node's traffic per target (their heartbeats): each node
            // sent at least its pinned round's 1,000 flows, both ways.
            var packetsByNode: [String: Int] = [:]
            let counted = try APIDaemonFixture.eventually(10) {
                packetsByNode = [:]
                for row in try Self.streamSnapshot(cluster, node: 1)?["targets"] as? [[String: Any]] ?? [] {
                    for (node, counts) in row["byNode"] as? [String: [String: Any]] ?? [:] {
                        packetsByNode[node, default: 0] += counts["packetsToTarget"] as? Int ?? 0
                    }
                }
                return packetsByNode.count == 3 && packetsByNode.values.allSatisfy { $0 >= 2 * count }
            }
            #expect(counted, "packets to the targets by node, in node 1's stream: \(packetsByNode)")
        }
    }

    /// Appliances that answer one node (node 2) whichever node sent to them: node 2 accepts the
    /// returns of the flows nodes 1 and 3 sent, by their cluster cookie, and delivers them; the
    /// flows, spread over the three nodes both ways, are all answered.
    @Test func anyNodeAcceptsAnAppliancesReply() async throws {
        try await TestDatabase.use { address in
            let cluster = try Cluster(nodes: 3, database: address, applianceOptions: ["--return-to", Lab.nodeAddress(2)])
            defer { cluster.tearDown() }
            let tg = try Self.configure(cluster)
            let healthy = try APIDaemonFixture.eventually(30) { try (1...3).allSatisfy { try cluster.health($0, tg).values.allSatisfy { $0 == "healthy" } } }
            try #require(healthy, "the appliances did not become healthy on every node")
            let lab = cluster.lab
            try lab.serve(lab.lab.server, ["python3", "-c", Programs.udpEcho, "0.0.0.0", "5002"], port: 5002, udp: true)
            let answered = try lab.python(lab.lab.client, Self.flowsFromPorts, arguments: [Lab.serverAddress, "5002", "22000", "300"])
            #expect(Int(answered.output.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0 >= 297, "answered: \(answered.output)")
            for node in [1, 3] {
                let sent = try cluster.json(node, ["flows", "--output", "json", "--port", "5002", "--limit", "5000"])["flows"] as? [[String: Any]] ?? []
                #expect(sent.count > 30, "node \(node) sent \(sent.count) of the flows' directions")
            }
            // The metrics are sampled every few seconds.
            var metrics = ""
            let accepted = try APIDaemonFixture.eventually(15) {
                metrics = try LabFixture.execute(["curl", "-s", "--max-time", "5", "--unix-socket", lab.lab.nodeSocket(2), "http://localhost/metrics"]).output
                let value = metrics.split(separator: "\n").first { $0.hasPrefix("gwlb_cluster_returns_of_other_nodes_total{") }
                    .flatMap { Double($0.split(separator: " ").last ?? "") } ?? 0
                return value >= 60
            }
            #expect(accepted, "node 2 accepted few returns of other nodes' flows: \(metrics.split(separator: "\n").filter { $0.contains("returns_of_other") })")
        }
    }
}
