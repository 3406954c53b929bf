import Foundation
import Lab
import Testing
import TestTraits

/// gwlbd's start and stop on real devices, each in a namespace of its own:
///
///   <unique netns>: lo 127.0.0.1 (GENEVE socket) │ gwlbd creates TUN <name>, which outlives it
@Suite(.serialized, .blocking) struct DaemonLifecycleTests {
    /// A namespace and a configuration file for one test, removed afterwards.
    final class Sandbox {
        let namespace: String
        let configurationPath: String
        let statisticsPath: String
        let interface: String

        init(configuration: String? = nil) throws {
            guard geteuid() == 0 else { throw LabFixture.Failure("gwlbd tests need root (CI runs as root): run `sudo swift test`") }
            let id = "\(getpid() % 10000)\(Int.random(in: 100...999))"
            namespace = "gd\(id)"
            interface = "gwt\(id)"
            configurationPath = "/tmp/\(namespace).json"
            statisticsPath = "/tmp/\(namespace)-stats.json"
            let text = configuration ?? """
                {"geneveAddress": "127.0.0.1", "targets": ["127.0.0.2"], "workers": 2, "flowsPerWorker": 1024,
                 "endpoints": [{"interface": "\(interface)", "endpointId": "0x1", "attachmentId": "0x2"}]}
                """
            try text.write(toFile: configurationPath, atomically: true, encoding: .utf8)
            chmod(configurationPath, 0o644)
            _ = try LabFixture.execute(["ip", "netns", "add", namespace])
            _ = try LabFixture.execute(["ip", "-n", namespace, "link", "set", "lo", "up"])
        }

        deinit {
            let pids = (try? LabFixture.execute(["ip", "netns", "pids", namespace]).output) ?? ""
            for pid in pids.split(separator: "\n") { kill(pid_t(pid) ?? 0, SIGKILL) }
            _ = try? LabFixture.execute(["ip", "netns", "del", namespace])
            try? FileManager.default.removeItem(atPath: configurationPath)
            try? FileManager.default.removeItem(atPath: statisticsPath)
        }

        /// Runs gwlbd to its end (it should refuse to start) and returns status and output.
        func runDaemon(prefix: [String] = []) throws -> (status: Int32, output: String) {
            try LabFixture.execute(["ip", "netns", "exec", namespace] + prefix
                                   + [LabFixture.binary("gwlbd"), "--config", configurationPath, "--stats-file", statisticsPath])
        }

        func startDaemon() throws -> ChildProcess {
            let process = try ChildProcess(["ip", "netns", "exec", namespace, LabFixture.binary("gwlbd"), "--config", configurationPath,
                                            "--stats-file", statisticsPath])
            for _ in 0..<100 where !FileManager.default.fileExists(atPath: statisticsPath) { usleep(50_000) }
            return process
        }

        func interfaceExists() throws -> Bool {
            try LabFixture.execute(["ip", "-n", namespace, "link", "show", interface]).status == 0
        }
    }

    @Test func sigtermStopsCleanlyAndLeavesItsDeviceForTheNextStart() throws {
        let sandbox = try Sandbox()
        var daemon = try sandbox.startDaemon()
        #expect(FileManager.default.fileExists(atPath: sandbox.statisticsPath), "gwlbd did not start")
        #expect(try sandbox.interfaceExists())
        let shown = try LabFixture.execute(["ip", "-n", sandbox.namespace, "link", "show", sandbox.interface]).output
        #expect(shown.contains("mtu 9001") && shown.contains("UP") && shown.contains("alias gwlbd endpoint"), "\(shown)")
        _ = try LabFixture.execute(["ip", "-n", sandbox.namespace, "route", "add", "198.18.99.0/24", "dev", sandbox.interface])
        func routed() throws -> Bool {
            try LabFixture.execute(["ip", "-n", sandbox.namespace, "route", "show", "198.18.99.0/24"]).output.contains("dev \(sandbox.interface)")
        }
        daemon.terminate()
        daemon.waitUntilExit()
        #expect(daemon.terminationStatus == 0)
        // The device outlives gwlbd, and the route into it with it: a restart changes no routing.
        #expect(try sandbox.interfaceExists() && routed(), "the device and its route stay across a restart")
        try? FileManager.default.removeItem(atPath: sandbox.statisticsPath)
        daemon = try sandbox.startDaemon()
        #expect(FileManager.default.fileExists(atPath: sandbox.statisticsPath), "gwlbd did not start on its own device again")
        #expect(try routed())
        daemon.terminate()
        daemon.waitUntilExit()
        // --cleanup removes what gwlbd made.
        let cleanup = try LabFixture.execute(["ip", "netns", "exec", sandbox.namespace, LabFixture.binary("gwlbd"), "--cleanup",
                                              "--config", sandbox.configurationPath])
        #expect(cleanup.status == 0 && cleanup.output.contains("removed \(sandbox.interface)"), "\(cleanup.output)")
        #expect(try !sandbox.interfaceExists(), "--cleanup left the device")
    }

    /// A device the operator made (`ip tuntap add`) is attached to, and never removed by gwlbd.
    @Test func anOperatorsDeviceIsLeftInPlace() throws {
        let sandbox = try Sandbox()
        _ = try LabFixture.execute(["ip", "-n", sandbox.namespace, "tuntap", "add", "dev", sandbox.interface, "mode", "tun", "multi_queue"])
        let daemon = try sandbox.startDaemon()
        #expect(FileManager.default.fileExists(atPath: sandbox.statisticsPath), "gwlbd did not attach to the operator's device")
        daemon.terminate()
        daemon.waitUntilExit()
        let cleanup = try LabFixture.execute(["ip", "netns", "exec", sandbox.namespace, LabFixture.binary("gwlbd"), "--cleanup",
                                              "--config", sandbox.configurationPath])
        #expect(cleanup.output.contains("left \(sandbox.interface)"), "\(cleanup.output)")
        #expect(try sandbox.interfaceExists())
    }

    /// The real binaries refuse a flag without its value (once read as the default), through
    /// `gwlbd` and `gwlb gwlbd` alike: usage status 64, the reason, nothing started.
    @Test func aFlagWithoutItsValueIsRefused() throws {
        for command in [[LabFixture.binary("gwlbd")], [LabFixture.binary("gwlb"), "gwlbd"]] {
            let result = try LabFixture.execute(command + ["--state-dir", "/tmp/gwlb-never-made", "--socket"])
            #expect(result.status == 64 && result.output.contains("Missing value for '--socket"), "\(command): \(result.status) \(result.output)")
        }
        #expect(!FileManager.default.fileExists(atPath: "/tmp/gwlb-never-made"))
    }

    /// SIGHUP re-reads the file's targets into the running gwlbd (the statistics file names them);
    /// a change that needs a restart (here the endpoints) is refused and the running set kept.
    @Test func sighupReloadsTheTargets() throws {
        let sandbox = try Sandbox()
        let daemon = try sandbox.startDaemon()
        defer { daemon.terminate(); daemon.waitUntilExit() }
        func targets() -> [String] {
            guard let data = FileManager.default.contents(atPath: sandbox.statisticsPath),
                  let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                  let rows = json["targets"] as? [[String: Any]] else { return [] }
            return rows.compactMap { $0["address"] as? String }.sorted()
        }
        func hangUp(_ configuration: String, until expected: [String], tenths: Int = 60) throws -> Bool {
            try configuration.write(toFile: sandbox.configurationPath, atomically: true, encoding: .utf8)
            for pid in try LabFixture.execute(["ip", "netns", "pids", sandbox.namespace]).output.split(separator: "\n") { kill(pid_t(pid)!, SIGHUP) }
            for _ in 0..<tenths where targets() != expected { usleep(100_000) }
            return targets() == expected
        }
        #expect(try hangUp("""
            {"geneveAddress": "127.0.0.1", "targets": ["127.0.0.2", "127.0.0.3"], "workers": 2, "flowsPerWorker": 1024,
             "endpoints": [{"interface": "\(sandbox.interface)", "endpointId": "0x1", "attachmentId": "0x2"}]}
            """, until: ["127.0.0.2", "127.0.0.3"]), "the new target is in: \(targets())")
        #expect(try !hangUp("""
            {"geneveAddress": "127.0.0.1", "targets": ["127.0.0.4"], "workers": 2, "flowsPerWorker": 1024,
             "endpoints": [{"interface": "other0", "endpointId": "0x1", "attachmentId": "0x2"}]}
            """, until: ["127.0.0.4"], tenths: 20), "a change of endpoints waits for a restart")
        #expect(targets() == ["127.0.0.2", "127.0.0.3"] && daemon.isRunning, "the running set is kept: \(targets())")
    }

    @Test func sigintStopsToo() throws {
        let sandbox = try Sandbox()
        let daemon = try sandbox.startDaemon()
        let pids = try LabFixture.execute(["ip", "netns", "pids", sandbox.namespace]).output.split(separator: "\n")
        for pid in pids { kill(pid_t(pid)!, SIGINT) }
        daemon.waitUntilExit()
        #expect(daemon.terminationStatus == 0)
        #expect(try sandbox.interfaceExists(), "the device waits for the next start")
    }

    @Test(arguments: [
        (#"{"geneveAddress": "127.0.0.1", "targets": ["not-an-ip"], "endpoints": [{"interface": "x0", "endpointId": "0x1", "attachmentId": "0x2"}]}"#,
         #"target "not-an-ip" is not an IPv4 address"#),
        (#"{"geneveAddress": "fd00::1", "targets": [], "endpoints": [{"interface": "x0", "endpointId": "0x1", "attachmentId": "0x2"}]}"#,
         "GENEVE runs over IPv4"),
        (#"{"geneveAddress": "127.0.0.1", "targets": []}"#, "endpoints: give 1 to 255 endpoints"),
        (#"{"geneveAddress": "127.0.0.1", "targets": [], "stickiness": "sometimes", "endpoints": [{"interface": "x0", "endpointId": "0x1", "attachmentId": "0x2"}]}"#,
         "stickiness \"sometimes\" must be"),
        (#"{"geneveAddress": "127.0.0.1", "targets": [], "tcpIdleTimeoutSeconds": 10, "endpoints": [{"interface": "x0", "endpointId": "0x1", "attachmentId": "0x2"}]}"#,
         "tcpIdleTimeoutSeconds must be 60-6000"),
        ("{not json", "is not valid JSON"),
    ])
    func badConfigurationIsRefusedWithItsReason(configuration: String, message: String) throws {
        let sandbox = try Sandbox(configuration: configuration)
        let result = try sandbox.runDaemon()
        #expect(result.status == 1)
        #expect(result.output.contains(message), "\(result.output)")
    }

    @Test func portInUseIsRefused() throws {
        let sandbox = try Sandbox()
        let holder = try sandbox.startDaemon()
        defer { holder.terminate(); holder.waitUntilExit() }
        // A second gwlbd on the same address and port (its interface name differs, so only the port clashes).
        try """
            {"geneveAddress": "127.0.0.1", "targets": ["127.0.0.2"],
             "endpoints": [{"interface": "\(sandbox.interface)b", "endpointId": "0x1", "attachmentId": "0x2"}]}
            """.write(toFile: sandbox.configurationPath, atomically: true, encoding: .utf8)
        let second = try sandbox.runDaemon()
        #expect(second.status == 1 && second.output.contains("is in use"), "\(second.output)")
    }

    @Test func notBeingRootIsRefused() throws {
        let sandbox = try Sandbox()
        let result = try sandbox.runDaemon(prefix: ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"])
        #expect(result.status == 1 && result.output.contains("must run as root"), "\(result.output)")
    }

    @Test func missingTunDeviceIsExplained() throws {
        let sandbox = try Sandbox()
        // A mount namespace where /dev/net is empty.
        let result = try sandbox.runDaemon(prefix: ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                                                    "mount -t tmpfs tmpfs /dev/net && exec \"$0\" \"$@\""])
        #expect(result.status == 1 && result.output.contains("/dev/net/tun does not exist"), "\(result.output)")
    }
}
