import ControlAPI
import ControlClient
import ControlContract
import ControlPlane
import DataPlane
import Foundation
import PacketIO
import Store
import Synchronization
import Wire

/// `gwlb-bench snapshot`: how soon a change made through the API is what the data plane forwards
/// with. Real parts: the API server on a Unix socket, the SQLite store (a change is committed
/// before it is acknowledged), and two data-plane workers on real sockets, idle in poll() as they
/// are between packets. Each change is a RegisterTargets or DeregisterTargets call from the `gwlb`
/// client; the figure is from the moment the client has the response to the moment the last
/// worker picked up the snapshot (negative: before the response arrived). The baseline is the
/// API call itself, measured the same way.
struct SnapshotBenchmark {
    let changes: Int

    func run() throws {
        let directory = NSTemporaryDirectory() + "gwlb-bench-snapshot-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let socketPath = directory + "/gwlb.sock"
        let port = UInt16(20000 + getpid() % 20000)
        let ios = try (0..<2).map { queue in
            try SystemIO(endpoints: EndpointRegistry(), queue: queue,
                         socket: GeneveSocket(bind: UDPPeer(address: IPv4Address(127, 0, 0, 1), port: port), reusePort: true, batchCapacity: 64))
        }
        let plane = DataPlane(configuration: DataPlaneConfiguration(flowsPerWorker: 1 << 16), ios: ios,
                              snapshot: ForwardingSnapshot(version: 0, endpoints: [], healthyTargets: []))
        plane.start()
        defer { plane.stop() }
        let published = Atomic<UInt64>(0)
        let service = try ControlPlaneService(store: CatalogStore(directory: directory), region: "us-east-1", account: "123456789012",
                                              ) { snapshot in
            plane.publish(snapshot)
            published.store(snapshot.version, ordering: .releasing)
        }
        let observatory = Observatory(plane: plane, flowCapacity: 2 << 16) { [] }
        let server = Task.detached { try await APIServer.run(socketPath: socketPath, actions: ELBActions(service: service), observatory: observatory) }
        defer { server.cancel() }
        let client = try Self.waitForAPI(socketPath)
        let lb = try Self.value(client.call("CreateLoadBalancer", [("Name", "bench"), ("Type", "gateway")]), "LoadBalancers", "LoadBalancerArn")
        let tg = try Self.value(client.call("CreateTargetGroup", [("Name", "bench"), ("Protocol", "GENEVE"), ("Port", "6081")]),
                                "TargetGroups", "TargetGroupArn")
        _ = try client.call("CreateListener", [("LoadBalancerArn", lb), ("DefaultActions.member.1.Type", "forward"),
                                               ("DefaultActions.member.1.TargetGroupArn", tg)])
        _ = try client.call("CreateEndpoint", [("LoadBalancerArn", lb), ("Interface", "benchtun")])
        print("gwlb-bench snapshot: \(changes) RegisterTargets/DeregisterTargets calls over the Unix socket, SQLite synchronous=FULL, 2 idle workers")

        var calls: [Double] = [], pickups: [Double] = []
        for change in 0..<changes {
            let action = change % 2 == 0 ? "RegisterTargets" : "DeregisterTargets"
            let start = DataPlaneTime.now().wallNanoseconds
            _ = try client.call(action, [("TargetGroupArn", tg), ("Targets.member.1.Id", "198.18.1.\(11 + change / 2 % 200)")])
            let answered = DataPlaneTime.now().wallNanoseconds
            let version = published.load(ordering: .acquiring)
            var picked = plane.snapshotPickups()
            while picked.contains(where: { $0.version < version }) {
                usleep(50)
                picked = plane.snapshotPickups()
            }
            calls.append(Double(answered - start) / 1e6)
            pickups.append(Double(picked.map(\.wallNanoseconds).max()! - answered) / 1e6)
            usleep(20_000)  // workers back asleep in poll()
        }
        let median = { (values: [Double]) in values.sorted()[values.count / 2] }
        var report = Report()
        report.add("API response → all workers use it, median", median(pickups), "ms", baseline: ("the API call, median", median(calls)), goal: "≤ 10 ms")
        report.add("API response → all workers use it, worst", pickups.max()!, "ms", baseline: ("the API call, worst", calls.max()!), goal: "≤ 10 ms")
        report.print()
    }

    /// A client of the API server on `socketPath` once it answers.
    static func waitForAPI(_ socketPath: String) throws -> ELBClient {
        let client = ELBClient(socketPath: socketPath)
        for _ in 0..<200 {
            if (try? client.call("DescribeLoadBalancers", [])) != nil { return client }
            usleep(10_000)
        }
        throw UnixHTTPClient.ConnectionError(description: "the API server did not start")
    }

    static func value(_ result: JSONValue, _ list: String, _ key: String) throws -> String {
        guard case .array(let items)? = result[list], case .string(let value)? = items.first?[key] else {
            throw UnixHTTPClient.ConnectionError(description: "no \(list)[0].\(key) in the answer")
        }
        return value
    }
}
