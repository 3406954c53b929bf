import Catalog
import ControlAPI
import ControlInput
import ControlPlane
import DataPlane
import Foundation
import Store
import Synchronization
import Telemetry
import Testing
@testable import AWSCommandLine
@testable import ControlClient
import TestTraits

/// gwlbd's API server on a real Unix socket over a real SQLite store (health checks off), for
/// clients to talk to. The server runs on Swift's cooperative threads (two here), so the blocking
/// client calls run on threads of their own: tests blocking those threads would starve the server.
final class APIServerFixture: @unchecked Sendable {
    let directory = NSTemporaryDirectory() + "gwlb-cli-\(UUID().uuidString.prefix(8))"
    var socketPath: String { directory + "/gwlb.sock" }
    let service: ControlPlaneService
    let actions: ELBActions
    private var servers: [Task<Void, Error>] = []

    var auditPath: String { directory + "/audit.log" }

    init(observatory: Observatory = APIServerFixture.quietObservatory(), instances: [String: String] = [:], audited: Bool = false,
         interfaces: [String: String] = [:]) async throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        service = try ControlPlaneService(store: CatalogStore(directory: directory), region: "us-east-1", account: "123456789012",
                                          instances: instances) { _ in }
        var configured = ELBActions(service: service, instances: instances, audit: audited ? try AuditTrail(path: directory + "/audit.log") : nil)
        configured.interfaces = interfaces
        let actions = configured
        self.actions = actions
        let socketPath = self.socketPath
        servers.append(Task.detached { try await TestServers.run { try await APIServer.run(socketPath: socketPath, actions: actions, observatory: observatory) } })
        // Up to 20 s: a loaded machine (CI's cold build beside the tests) starts it slowly.
        for _ in 0..<2000 where !FileManager.default.fileExists(atPath: socketPath) { try await Task.sleep(for: .milliseconds(10)) }
        guard FileManager.default.fileExists(atPath: socketPath) else { throw UnixHTTPClient.ConnectionError(description: "the API server did not start") }
    }

    /// A data plane that saw nothing.
    static func quietObservatory() -> Observatory {
        Observatory(statistics: { DataPlaneStatistics(targetSlots: 4) }, recentDrops: { [] }, slots: { [] }, flows: { _ in [] }, flowCapacity: 1024)
    }

    /// Also serves the signed TCP API on a free loopback port; returns the port.
    func listenOnTCP(credentials: [String: String], limits: ListenerLimits = ListenerLimits(), counter: ConnectionCounter? = nil) async throws -> Int {
        let port = Mutex<Int?>(nil)
        let actions = self.actions
        let verifier = SignatureV4Verifier(region: "us-east-1", credentials: credentials)
        servers.append(Task.detached {
            try await TestServers.run {
                try await APIServer.runTCP(host: "127.0.0.1", port: 0, actions: actions, verifier: verifier, limits: limits, counter: counter) { bound in
                    port.withLock { $0 = bound }
                }
            }
        })
        for _ in 0..<2000 where port.withLock({ $0 }) == nil { try await Task.sleep(for: .milliseconds(10)) }
        guard let bound = port.withLock({ $0 }) else { throw UnixHTTPClient.ConnectionError(description: "the TCP API did not start") }
        return bound
    }

    deinit {
        for server in servers { server.cancel() }
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Runs `gwlb VERB ARGUMENTS… --socket S` in-process: exit code and standard output.
    func gwlb(_ verb: String, _ arguments: [String]) async -> (code: Int32, output: String) {
        let arguments = arguments + ["--socket", socketPath]
        return await offPool {
            var output = ""
            let code = ELBCommandLine.run(verb, arguments) { output += $0 }
            return (code, output)
        }
    }

    func json(_ verb: String, _ arguments: [String]) async throws -> [String: Any] {
        let (code, output) = await gwlb(verb, arguments)
        #expect(code == 0, "gwlb \(verb) exited \(code)")
        return try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any], "not JSON: \(output)")
    }
}

/// Runs blocking `work` on a thread of its own.
func offPool<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        Thread.detachNewThread { continuation.resume(returning: work()) }
    }
}

@Suite(.blocking) struct CommandLineTests {
    /// AWS's five getting-started commands with `gwlb` in place of `aws elbv2`, over the socket.
    @Test func gettingStartedCommands() async throws {
        let api = try await APIServerFixture()
        let balancer = try await api.json("create-load-balancer", ["--name", "my-load-balancer", "--type", "gateway", "--subnets", "provider-subnet-id"])
        let lb = try #require((balancer["LoadBalancers"] as? [[String: Any]])?.first)
        let lbArn = try #require(lb["LoadBalancerArn"] as? String)
        #expect(lb["Type"] as? String == "gateway")
        #expect((lb["State"] as? [String: Any])?["Code"] as? String == "active")
        #expect((lb["CreatedTime"] as? String)?.hasSuffix("+00:00") == true)

        let group = try await api.json("create-target-group", ["--name", "my-targets", "--protocol", "GENEVE", "--port", "6081", "--vpc-id", "provider-vpc-id"])
        let tg = try #require((group["TargetGroups"] as? [[String: Any]])?.first)
        let tgArn = try #require(tg["TargetGroupArn"] as? String)
        #expect(tg["Port"] as? Int == 6081)
        #expect(tg["HealthCheckEnabled"] as? Bool == true)
        #expect(tg["HealthCheckIntervalSeconds"] as? Int == 10)
        #expect(tg["LoadBalancerArns"] as? [String] == [])

        let registered = await api.gwlb("register-targets", ["--target-group-arn", tgArn, "--targets", "Id=198.18.1.11", "Id=198.18.1.12"])
        #expect(registered == (0, ""))
        let listener = try await api.json("create-listener", ["--load-balancer-arn", lbArn, "--default-actions", "Type=forward,TargetGroupArn=\(tgArn)"])
        let action = try #require(((listener["Listeners"] as? [[String: Any]])?.first?["DefaultActions"] as? [[String: Any]])?.first)
        #expect(action["TargetGroupArn"] as? String == tgArn)

        let health = try await api.json("describe-target-health", ["--target-group-arn", tgArn])
        let rows = try #require(health["TargetHealthDescriptions"] as? [[String: Any]])
        #expect(rows.compactMap { ($0["Target"] as? [String: Any])?["Id"] as? String }.sorted() == ["198.18.1.11", "198.18.1.12"])
        #expect(rows.allSatisfy { ($0["TargetHealth"] as? [String: Any])?["State"] as? String == "initial" })
        // What the CLI printed is what gwlbd holds.
        let held = api.service.read { catalog in catalog.targetGroups.first?.targets.map(\.id) }
        #expect(held?.sorted() == ["198.18.1.11", "198.18.1.12"])
    }

    @Test func errorsAndExitCodesAreTheAwsCLIs() async throws {
        let api = try await APIServerFixture()
        let missing = await api.gwlb("describe-target-health", ["--target-group-arn", "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/none/0123456789abcdef"])
        #expect(missing == (ELBCommandLine.ExitCode.serviceError, ""))
        #expect(await api.gwlb("register-targets", []).code == ELBCommandLine.ExitCode.usage)
        let socket = api.directory + "/none.sock"
        let unreachable = await offPool { ELBCommandLine.run("describe-load-balancers", ["--socket", socket]) { _ in } }
        #expect(unreachable == ELBCommandLine.ExitCode.unreachable)
    }

    /// The describe verbs page through NextMarker and merge the pages, as the aws CLI does.
    @Test func describeVerbsMergePages() async throws {
        let api = try await APIServerFixture()
        for index in 0..<5 {
            _ = try await api.json("create-target-group", ["--name", "group-\(index)", "--protocol", "GENEVE", "--port", "6081"])
        }
        let all = try await api.json("describe-target-groups", ["--page-size", "2"])
        #expect((all["TargetGroups"] as? [[String: Any]])?.compactMap { $0["TargetGroupName"] as? String } == (0..<5).map { "group-\($0)" })
        #expect(all["NextMarker"] == nil)
        let first = try await api.json("describe-target-groups", ["--page-size", "2", "--no-paginate"])
        #expect((first["TargetGroups"] as? [Any])?.count == 2)
        #expect(first["NextMarker"] is String)
        let text = await api.gwlb("describe-target-groups", ["--names", "group-3", "--output", "text"])
        #expect(text.code == 0)
        #expect(text.output.hasPrefix("TARGETGROUPS\t"), "\(text.output)")
        #expect(text.output.contains("group-3"))
        let names = await api.gwlb("describe-target-groups", ["--page-size", "2", "--query", "TargetGroups[].TargetGroupName", "--output", "text"])
        #expect(names == (0, "group-0\tgroup-1\tgroup-2\tgroup-3\tgroup-4\n"))
    }

    /// A body over 1 MiB is refused (413) and a malformed one gets MalformedQueryString; the server
    /// answers the next request as before.
    @Test func oversizedAndMalformedBodiesAreRefused() async throws {
        let api = try await APIServerFixture()
        let socket = api.socketPath
        let huge = await offPool { () -> Int? in
            (try? UnixHTTPClient(socketPath: socket, timeoutSeconds: 3).request("POST", "/", body: Data(repeating: 0x61, count: 2 << 20)))?.status
        }
        #expect(huge == 413)
        let malformed = await offPool { () -> String in
            let response = try? UnixHTTPClient(socketPath: socket).request("POST", "/", body: Data("Action=DescribeTags&ResourceArns.member.1=%ZZ".utf8))
            return response.map { String(decoding: $0.body, as: UTF8.self) } ?? ""
        }
        #expect(malformed.contains("<Code>MalformedQueryString</Code>"))
        #expect(await api.gwlb("describe-load-balancers", []).code == 0)
    }
}
