import Foundation
import Lab
import Testing
import TestSupport

/// A lab whose gwlbd runs in the API form (`--state-dir`, no configuration file), configured with
/// the real `gwlb` CLI over a Unix socket of its own.
final class APIDaemonFixture {
    let lab: LabFixture
    let state: String
    let socket: String
    let logPath: String
    /// gwlbd's shared flow state, which outlives it (removed with the lab).
    let sharedState: String
    private(set) var daemon: ChildProcess?

    /// With `routing: .throughAPI` the router has no policy routing until the EC2 API makes it, and
    /// gwlbd reads the lab's interfaces from `--config` (the lab's API configuration).
    let routing: Lab.Routing

    init(appliances: Int = 3, rules: [String] = [], applianceOptions: [Int: [String]] = [:], routing: Lab.Routing = .byHand) throws {
        self.routing = routing
        lab = try LabFixture(appliances: appliances, rules: rules, applianceOptions: applianceOptions, startDaemon: false, routing: routing)
        let prefix = lab.lab.prefix
        (state, socket, logPath) = ("/tmp/\(prefix)-state", "/tmp/\(prefix).sock", "/tmp/\(prefix)-gwlbd.log")
        sharedState = "/dev/shm/\(prefix)-flows"
    }

    deinit { tearDown() }

    func tearDown() {
        stop()
        lab.tearDown()
        for path in [state, socket, logPath, sharedState] { try? FileManager.default.removeItem(atPath: path) }
    }

    /// Starts gwlbd in the router namespace; returns once its API answers (a socket file alone may
    /// be a killed predecessor's).
    /// `launcher` runs gwlbd (e.g. `prlimit --nofile=…`); it must exec it in place.
    func start(extra: [String] = [], launcher: [String] = []) throws {
        let process = try ChildProcess(Array(command([]).prefix(4)) + launcher + command(extra).dropFirst(4),
                                       output: .file(logPath), errors: .file(logPath))
        daemon = process
        for _ in 0..<100 {
            if (try? gwlb(["describe-load-balancers"]).status) == 0 { return }
            usleep(100_000)
        }
        throw LabFixture.Failure("gwlbd (API form) did not answer on \(socket): \((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "")")
    }

    /// gwlbd's command line in the router namespace, as `start` runs it.
    func command(_ extra: [String]) -> [String] {
        ["ip", "netns", "exec", lab.lab.router, LabFixture.binary("gwlbd"), "--state-dir", state, "--socket", socket,
         "--geneve-address", Lab.geneveAddress, "--shared-state", sharedState]
            + (routing == .throughAPI ? ["--config", lab.lab.apiConfigurationPath] : []) + extra
    }

    /// Starts a second gwlbd with `--takeover` (and `extra`) beside the running one; returns the
    /// old one's exit status once it has exited, handing over. The new one is `daemon` from then.
    func takeOver(extra: [String] = []) throws -> Int32 {
        guard let old = daemon else { throw LabFixture.Failure("no gwlbd to take over from") }
        let successor = try ChildProcess(command(["--takeover"] + extra), output: .file(logPath), errors: .file(logPath))
        for _ in 0..<300 where old.isRunning { usleep(50_000) }
        guard !old.isRunning else {
            successor.signal(SIGKILL)
            successor.waitUntilExit()
            throw LabFixture.Failure("the old gwlbd still runs 15 s into the takeover: \((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "")")
        }
        daemon = successor
        return old.waitUntilExit()
    }

    func stop() {
        guard let daemon, daemon.isRunning else { return }
        daemon.terminate()
        daemon.waitUntilExit()
        self.daemon = nil
    }

    func kill() {
        guard let daemon else { return }
        daemon.signal(SIGKILL)
        daemon.waitUntilExit()
        self.daemon = nil
    }

    /// Runs the real `gwlb` binary against this gwlbd's socket.
    func gwlb(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try LabFixture.execute([LabFixture.binary("gwlb")] + arguments + ["--socket", socket])
    }

    /// `gwlb …` that must succeed, its JSON output parsed.
    func json(_ arguments: [String]) throws -> [String: Any] {
        let (status, output) = try gwlb(arguments)
        guard status == 0 else { throw LabFixture.Failure("gwlb \(arguments.joined(separator: " ")) exited \(status): \(output)") }
        if output.isEmpty { return [:] }
        guard let object = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any] else {
            throw LabFixture.Failure("gwlb \(arguments[0]) printed no JSON object: \(output)")
        }
        return object
    }

    /// AWS's getting-started calls plus the endpoint: the lab's gwlbe0 forwards to `targets`.
    /// Returns the load balancer's and target group's ARNs.
    func gettingStarted(targets: [Int], attributes: [String] = []) throws -> (lb: String, tg: String) {
        let lb = try Self.first(json(["create-load-balancer", "--name", "my-load-balancer", "--type", "gateway", "--subnets", "provider-subnet-id"]),
                                "LoadBalancers", "LoadBalancerArn")
        let tg = try Self.first(json(["create-target-group", "--name", "my-targets", "--protocol", "GENEVE", "--port", "6081",
                                      "--vpc-id", "provider-vpc-id"]), "TargetGroups", "TargetGroupArn")
        if !attributes.isEmpty {
            _ = try json(["modify-target-group-attributes", "--target-group-arn", tg, "--attributes"] + attributes)
        }
        if !targets.isEmpty { try register(tg, targets) }
        _ = try json(["create-listener", "--load-balancer-arn", lb, "--default-actions", "Type=forward,TargetGroupArn=\(tg)"])
        _ = try json(["create-endpoint", "--load-balancer-arn", lb, "--interface", Lab.endpointInterface,
                      "--endpoint-id", Lab.endpointID, "--attachment-id", Lab.attachmentID])
        return (lb, tg)
    }

    func register(_ tg: String, _ targets: [Int]) throws {
        _ = try json(["register-targets", "--target-group-arn", tg, "--targets"] + targets.map { "Id=\(Lab.applianceAddress($0))" })
    }

    func deregister(_ tg: String, _ targets: [Int]) throws {
        _ = try json(["deregister-targets", "--target-group-arn", tg, "--targets"] + targets.map { "Id=\(Lab.applianceAddress($0))" })
    }

    /// Target address → (state, reason), from `gwlb describe-target-health`.
    func health(_ tg: String, asking targets: [Int] = []) throws -> [String: (state: String, reason: String?)] {
        let extra = targets.isEmpty ? [] : ["--targets"] + targets.map { "Id=\(Lab.applianceAddress($0))" }
        let rows = try json(["describe-target-health", "--target-group-arn", tg] + extra)["TargetHealthDescriptions"] as? [[String: Any]] ?? []
        var result: [String: (state: String, reason: String?)] = [:]
        for row in rows {
            guard let id = (row["Target"] as? [String: Any])?["Id"] as? String, let health = row["TargetHealth"] as? [String: Any] else { continue }
            result[id] = (health["State"] as? String ?? "", health["Reason"] as? String)
        }
        return result
    }

    /// GET /v1/… on the socket, as JSON.
    func observe(_ path: String) throws -> [String: Any] {
        let output = try LabFixture.execute(["curl", "-s", "--max-time", "5", "--unix-socket", socket, "http://localhost\(path)"]).output
        guard let object = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any] else {
            throw LabFixture.Failure("GET \(path) gave no JSON object: \(output)")
        }
        return object
    }

    /// The first line of /v1/stream: the hello that says which gwlbd answers and how its flow state began.
    func hello() throws -> [String: Any]? {
        try LabFixture.execute(["curl", "-sN", "--max-time", "1", "--unix-socket", socket, "http://localhost/v1/stream"]).output
            .split(separator: "\n").first.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    /// The audit trail's events (state/audit.log), oldest first.
    func auditEvents() throws -> [[String: Any]] {
        try String(contentsOfFile: state + "/audit.log", encoding: .utf8).split(separator: "\n").map { line in
            guard let event = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                throw LabFixture.Failure("audit line is not a JSON object: \(line)")
            }
            return event
        }
    }

    static func first(_ response: [String: Any], _ list: String, _ key: String) throws -> String {
        guard let value = (response[list] as? [[String: Any]])?.first?[key] as? String else {
            throw LabFixture.Failure("no \(list)[0].\(key) in \(response)")
        }
        return value
    }

    /// Waits up to `seconds` for `condition`; true once it holds.
    static func eventually(_ seconds: Double, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        repeat {
            if try condition() { return true }
            usleep(200_000)
        } while Date() < deadline
        return try condition()
    }
}
