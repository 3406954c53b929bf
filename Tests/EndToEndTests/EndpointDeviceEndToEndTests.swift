import Foundation
import Lab
import Testing
import TestTraits

/// The endpoint's TUN device deleted under a running gwlbd (`ip link del gwlbe0`): the workers
/// stop polling it instead of spinning on its errors, the endpoint shows as failed (API, stats,
/// metrics), and gwlbd makes the device again as soon as the name is free.
@Suite(.serialized, .blocking) struct EndpointDeviceEndToEndTests {
    @Test func aDeletedEndpointDeviceFailsVisiblyWithoutSpinningAndComesBack() throws {
        let fixture = try APIDaemonFixture(appliances: 1)
        defer { fixture.tearDown() }
        try fixture.start()
        _ = try fixture.gettingStarted(targets: [1])
        let lab = fixture.lab, router = lab.lab.router
        let ping = { try lab.run(lab.lab.client, ["ping", "-c", "2", "-i", "0.2", "-W", "2", Lab.serverAddress]).output }
        #expect(try APIDaemonFixture.eventually(20) { try ping().contains(" 0% packet loss") })

        // Deleted, and the name taken at once by a link gwlbd cannot use (a bridge), so the endpoint
        // stays failed. gwlbd may re-create the device between the two: then delete it again.
        let replaced = try lab.run(router, ["sh", "-c", "for i in 1 2 3 4 5; do ip link del gwlbe0; ip link add gwlbe0 type bridge && exit 0; done; exit 1"])
        #expect(replaced.status == 0, "\(replaced.output)")
        let pid = try #require(try Self.daemonPID(fixture.state))
        let before = try Self.cpuSeconds(pid)
        sleep(2)
        let used = try Self.cpuSeconds(pid) - before
        #expect(used < 0.5, "gwlbd used \(used) CPU seconds in 2 s with its endpoint device gone: its workers spin")

        let endpoints = try fixture.json(["describe-endpoints"])["Endpoints"] as? [[String: Any]]
        let endpoint = try #require(endpoints?.first)
        #expect(endpoint["State"] as? String == "failed", "\(endpoint)")
        let message = ((endpoint["LastError"] as? [String: Any])?["Message"] as? String) ?? ""
        #expect(message.contains("deleted") && message.contains("cannot be made again"), "\(endpoint)")
        let stats = try fixture.observe("/v1/stats")
        #expect(stats["failedEndpoints"] as? [String] == [Lab.endpointInterface] && (stats["endpointsLost"] as? Int ?? 0) >= 1, "\(stats)")
        let metrics = try LabFixture.execute(["curl", "-s", "--max-time", "5", "--unix-socket", fixture.socket, "http://localhost/metrics"]).output
        #expect(metrics.split(separator: "\n").contains { $0.hasPrefix("gwlb_failed_endpoints{") && ($0.hasSuffix(" 1.0") || $0.hasSuffix(" 1")) },
                "\(metrics.split(separator: "\n").filter { $0.contains("failed_endpoints") })")
        let log = (try? String(contentsOfFile: fixture.logPath, encoding: .utf8)) ?? ""
        #expect(log.contains("endpoint device gwlbe0") && log.contains("cannot be made again"), "\(log)")

        // The name is free: gwlbd makes the device again; routes into it went with the old one.
        _ = try lab.run(router, ["ip", "link", "del", "gwlbe0"])
        #expect(try APIDaemonFixture.eventually(10) {
            (try fixture.json(["describe-endpoints"])["Endpoints"] as? [[String: Any]])?.first?["State"] as? String == "available"
        })
        #expect(try lab.run(router, ["ip", "link", "show", "gwlbe0"]).output.contains("mtu 9001"))
        for (family, subnet) in [("-4", "198.18.20.0/24"), ("-6", "fd00:20::/64")] {
            _ = try lab.run(router, ["ip", family, "route", "add", subnet, "dev", "gwlbe0", "table", "100"])
            _ = try lab.run(router, ["ip", family, "route", "add", "default", "dev", "gwlbe0", "table", "101"])
        }
        #expect(try APIDaemonFixture.eventually(10) { try ping().contains(" 0% packet loss") }, "no traffic through the re-created endpoint")
        #expect(try fixture.observe("/v1/stats")["failedEndpoints"] as? [String] == [])
        #expect(((try? String(contentsOfFile: fixture.logPath, encoding: .utf8)) ?? "").contains("re-created it"))
    }

    /// gwlbd's own process (not `ip netns exec`, which it replaces, nor a shell).
    static func daemonPID(_ stateDirectory: String) throws -> Int32? {
        let found = try LabFixture.execute(["pgrep", "-f", "gwlbd --state-dir \(stateDirectory)"]).output
        return found.split(separator: "\n").compactMap { Int32($0) }.first { pid in
            (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8))?.hasPrefix("gwlbd") == true
        }
    }

    /// User and system CPU time of `pid` so far, in seconds.
    static func cpuSeconds(_ pid: Int32) throws -> Double {
        let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
        // Fields after the command name (which may hold spaces) start at its closing parenthesis.
        let fields = stat[stat.index(after: stat.lastIndex(of: ")")!)...].split(separator: " ")
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        return (Double(fields[11])! + Double(fields[12])!) / ticks
    }
}
