import ControlAPI
import ControlContract
import DataPlane
import Flows
import Foundation
import PacketIO
import Synchronization
import Testing
import Wire
@testable import ControlClient

/// A data plane stand-in whose counters, drops and flows a test sets, and which records the flow
/// queries it gets.
final class ScriptedDataPlane: Sendable {
    let statistics = Mutex(DataPlaneStatistics(targetSlots: 4))
    let queries = Mutex<[FlowQuery]>([])
    let slots: [UDPPeer?] = [UDPPeer(address: IPv4Address(198, 18, 1, 11), port: 6081), UDPPeer(address: IPv4Address(198, 18, 1, 12), port: 6081)]

    var observatory: Observatory {
        Observatory(statistics: { self.statistics.withLock { $0 } }, recentDrops: { [] }, slots: { self.slots },
                    flows: { query in
                        self.queries.withLock { $0.append(query) }
                        let key = FlowKey(lowAddress: IPv6Address(mapping: IPv4Address(198, 18, 10, 2)), highAddress: IPv6Address(mapping: IPv4Address(198, 18, 20, 2)),
                                          lowPort: 40000, highPort: 80, protocol: .tcp)
                        return [FlowRecord(key: key, target: TargetSlot(1), cookie: 0xdeadbeef, ageSeconds: 5, idleSeconds: 1, confirmed: true, worker: 0)]
                    }, flowCapacity: 2048, bootID: "boot-1")
    }
}

@Suite struct ObservabilityTests {
    func get(_ api: APIServerFixture, _ path: String) async throws -> (status: Int, json: [String: Any]) {
        let socket = api.socketPath
        let response = try await offPool { Result { try UnixHTTPClient(socketPath: socket).request("GET", path) } }.get()
        return (response.status, try #require(try JSONSerialization.jsonObject(with: response.body) as? [String: Any]))
    }

    @Test func flowsAreLookedUpByAddressPortAndTarget() async throws {
        let plane = ScriptedDataPlane()
        let api = try await APIServerFixture(observatory: plane.observatory)
        let answer = try await get(api, "/v1/flows?address=198.18.10.2&port=80&target=198.18.1.12")
        #expect(answer.status == 200)
        let flow = try #require((answer.json["flows"] as? [[String: Any]])?.first)
        #expect(flow["target"] as? String == "198.18.1.12")
        #expect(flow["addressA"] as? String == "198.18.10.2" && flow["portB"] as? Int == 80 && flow["protocol"] as? String == "tcp")
        #expect(flow["cookie"] as? String == "0xdeadbeef")
        #expect(plane.queries.withLock { $0 } == [FlowQuery(address: IPv6Address(mapping: IPv4Address(198, 18, 10, 2)), port: 80, target: TargetSlot(1))])
        let bad = try await get(api, "/v1/flows?address=not-an-address")
        #expect(bad.status == 400 && (bad.json["error"] as? String)?.contains("not an IPv4 or IPv6 address") == true)
        #expect(try await get(api, "/v1/flows?target=198.18.1.99").status == 400)
    }

    @Test func statsAndDropsAreJSON() async throws {
        let plane = ScriptedDataPlane()
        plane.statistics.withLock { $0.drops[Int(DropReason.oversize.rawValue)] = 3 }
        var observatory = plane.observatory
        observatory.targetSlots = { (capacity: 1024, current: 3, retired: 2) }
        let api = try await APIServerFixture(observatory: observatory)
        let stats = try await get(api, "/v1/stats")
        #expect(stats.json["flowCapacity"] as? Int == 2048 && stats.json["bootId"] as? String == "boot-1")
        let slots = try #require(stats.json["targetSlots"] as? [String: Int])
        #expect(slots == ["capacity": 1024, "current": 3, "retired": 2, "free": 1019])
        let drops = try await get(api, "/v1/drops")
        #expect((drops.json["counts"] as? [String: Any])?["oversize"] as? Int == 3)
        // What the server sends is what the typed clients (gwlb, the console, gwlb-bench) decode.
        let socket = api.socketPath
        func body(_ path: String) async throws -> Data {
            try await offPool { Result { try UnixHTTPClient(socketPath: socket).request("GET", path).body } }.get()
        }
        let report = try ContractCoding.decode(StatsReport.self, from: try await body("/v1/stats"))
        #expect(report.flowCapacity == 2048 && report.targetSlots?.free == 1019 && report.drops["oversize"] == 3)
        #expect(try ContractCoding.decode(DropsAnswer.self, from: try await body("/v1/drops")).counts["oversize"] == 3)
        let flows = try ContractCoding.decode(FlowsAnswer.self, from: try await body("/v1/flows?address=198.18.10.2"))
        #expect(flows.flows.first?.target == "198.18.1.12" && flows.flows.first?.cookie == "0xdeadbeef")
    }

    /// hello, snapshot, then deltas with only what changed and a heartbeat every second.
    @Test func streamSaysHelloThenSnapshotThenDeltasAndHeartbeats() async throws {
        let plane = ScriptedDataPlane()
        let api = try await APIServerFixture(observatory: plane.observatory)
        let socket = api.socketPath
        // Configure a served load balancer with two targets, the first with traffic.
        let (lb, tg) = try await gettingStarted(api)
        plane.statistics.withLock { $0.targets[0].packetsToTarget = 10; $0.activeFlows = 1 }
        var lines: [String] = []
        var client = UnixHTTPClient(socketPath: socket)
        client.timeoutSeconds = 5
        // Lines come in batches: those read after the change may have been sent before it, so
        // reading goes on until a delta and two heartbeats came (at most 40 lines).
        var deltas = 0, heartbeats = 0
        try? await client.streamLines("/v1/stream") { line in
            lines.append(line)
            if lines.count == 3 {
                // A change the next delta must carry: more packets to the first target.
                plane.statistics.withLock { $0.targets[0].packetsToTarget = 25 }
            }
            let type = (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["type"] as? String
            if type == "delta" { deltas += 1 }
            if type == "heartbeat" { heartbeats += 1 }
            return (deltas == 0 || heartbeats < 2) && lines.count < 40
        }
        let messages = lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(messages.map { $0["seq"] as? Int } == (1...messages.count).map { $0 }, "seq counts every message")
        let hello = try #require(messages.first)
        #expect(hello["type"] as? String == "hello" && hello["protocol"] as? Int == 1 && hello["bootId"] as? String == "boot-1")
        #expect(hello["role"] as? String == "operator" && (hello["capabilities"] as? [String])?.contains("targets") == true)
        let snapshot = messages[1]
        #expect(snapshot["type"] as? String == "snapshot")
        #expect((snapshot["loadBalancer"] as? [String: Any])?["arn"] as? String == lb)
        #expect((snapshot["flows"] as? [String: Any])?["capacity"] as? Int == 2048)
        let targets = try #require(snapshot["targets"] as? [[String: Any]])
        try #require(targets.map { $0["id"] as? String } == ["198.18.1.11", "198.18.1.12"], "\(snapshot)")
        #expect(targets[0]["packetsToTarget"] as? Int == 10 && targets[0]["state"] as? String == "initial" && targets[0]["slot"] as? Int == 0)
        let rest = messages.dropFirst(2)
        #expect(rest.filter { $0["type"] as? String == "heartbeat" }.count >= 2)
        let delta = try #require(rest.first { $0["type"] as? String == "delta" }, "\(rest)")
        #expect((delta["targets"] as? [[String: Any]])?.map { $0["packetsToTarget"] as? Int } == [25], "only the changed row")
        #expect(delta["flows"] == nil, "unchanged sections stay out")
        _ = tg
    }

    func gettingStarted(_ api: APIServerFixture) async throws -> (lb: String, tg: String) {
        let lb = try #require(((try await api.json("create-load-balancer", ["--name", "lb", "--type", "gateway"]))["LoadBalancers"] as? [[String: Any]])?.first?["LoadBalancerArn"] as? String)
        let tg = try #require(((try await api.json("create-target-group", ["--name", "tg", "--protocol", "GENEVE", "--port", "6081"]))["TargetGroups"] as? [[String: Any]])?.first?["TargetGroupArn"] as? String)
        let registered = await api.gwlb("register-targets", ["--target-group-arn", tg, "--targets", "Id=198.18.1.11", "Id=198.18.1.12"])
        try #require(registered.code == 0, "register-targets: \(registered.output)")
        _ = try await api.json("create-listener", ["--load-balancer-arn", lb, "--default-actions", "Type=forward,TargetGroupArn=\(tg)"])
        _ = try await api.json("create-endpoint", ["--load-balancer-arn", lb, "--interface", "gwlbe0"])
        return (lb, tg)
    }
}

/// Capture files: private, never written through a link, and the console's only into a new file.
@Suite struct CaptureFileTests {
    @Test func capturesArePrivateAndNeverFollowLinks() throws {
        let directory = NSTemporaryDirectory() + "gwlb-capture-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/drops.pcapng"
        try PacketCapture.write(Data([1, 2, 3]), to: file, exclusive: true)
        #expect((try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int) == 0o600)
        #expect(throws: (any Error).self) { try PacketCapture.write(Data([4]), to: file, exclusive: true) }
        // A link planted where the console will write: refused, its target untouched.
        let target = directory + "/victim"
        try Data("keep".utf8).write(to: URL(fileURLWithPath: target))
        try FileManager.default.createSymbolicLink(atPath: directory + "/planted.pcapng", withDestinationPath: target)
        for exclusive in [true, false] {
            #expect(throws: (any Error).self) { try PacketCapture.write(Data([5]), to: directory + "/planted.pcapng", exclusive: exclusive) }
        }
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "keep")
    }
}

/// `/v1/stream` takes a bounded number of subscribers; a place frees when one leaves.
@Suite struct StreamLimitTests {
    @Test func subscribersAreCapped() async throws {
        let api = try await APIServerFixture()
        let script = """
            import socket, time
            def open_stream():
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect('\(api.socketPath)')
                s.sendall(b'GET /v1/stream HTTP/1.1\\r\\nHost: gwlb\\r\\n\\r\\n')
                return s, s.recv(64).split(b'\\r\\n')[0].decode()
            streams = [open_stream() for _ in range(\(APIServer.maximumStreams))]
            print(sorted(set(status for _, status in streams)))
            extra, status = open_stream()
            print(status)
            streams[0][0].close()
            # The server finds the closed stream at its next write (a heartbeat a second), later
            # on a busy machine: a place is free again within 10 s.
            for _ in range(20):
                time.sleep(0.5)
                again, status = open_stream()
                if status != 'HTTP/1.1 503 Service Unavailable':
                    break
                again.close()
            print(status)
            """
        let result = await AWSClientTests.run(["python3", "-c", script])
        #expect(result.output == "['HTTP/1.1 200 OK']\nHTTP/1.1 503 Service Unavailable\nHTTP/1.1 200 OK\n", "\(result.output) \(result.errors)")
    }
}
