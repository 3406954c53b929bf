import Foundation
import Lab
import Testing
import TestTraits

/// Health checks through the data path: appliance 1 answers its HTTP checks but returns no GENEVE
/// (a broken route behind a healthy check). AWS's checks keep it healthy and it black-holes new
/// flows; with `health_check.data_path.enabled` it turns unhealthy (`Target.DataPathFailed`) within
/// interval × threshold and new flows avoid it, while appliance 2, which returns GENEVE with outer
/// UDP checksum 0 and TTL 2, and appliance 3 stay healthy. Real gwlbd, real appliances, the gwlb CLI.
@Suite(.serialized, .blocking) struct DataPathHealthEndToEndTests {
    @Test func aTargetThatReturnsNothingFailsTheDataPathCheck() throws {
        let api = try APIDaemonFixture(applianceOptions: [2: ["--odd-outer-headers"]])
        defer { api.tearDown() }
        let lab = api.lab
        try api.start(extra: ["--metrics-listen", "127.0.0.1:9108"])
        let (_, tg) = try api.gettingStarted(targets: [1, 2, 3])
        _ = try api.json(["modify-target-group", "--target-group-arn", tg, "--health-check-interval-seconds", "5",
                          "--health-check-timeout-seconds", "2", "--healthy-threshold-count", "2", "--unhealthy-threshold-count", "2",
                          "--health-check-protocol", "HTTP", "--health-check-path", "/health"])
        func states() throws -> [String] { try api.health(tg).sorted { $0.key < $1.key }.map(\.value.state) }
        #expect(try APIDaemonFixture.eventually(30) { try states() == ["healthy", "healthy", "healthy"] }, "\((try? states()) ?? [])")

        // Appliance 1 stops returning GENEVE; its HTTP checks still pass, so without the data-path
        // check it stays healthy through more than interval × threshold + timeout.
        _ = try lab.run(lab.lab.router, ["curl", "-s", "-X", "POST", "http://\(Lab.applianceAddress(1)):\(Lab.applianceHealthPort)/geneve/drop"])
        usleep(13_000_000)
        #expect(try states() == ["healthy", "healthy", "healthy"], "the HTTP check alone cannot see a broken data path")

        _ = try api.json(["modify-target-group-attributes", "--target-group-arn", tg, "--attributes", "Key=health_check.data_path.enabled,Value=true"])
        let changed = Date()
        #expect(try APIDaemonFixture.eventually(20) { try states()[0] == "unhealthy" }, "\((try? states()) ?? [])")
        let after = Date().timeIntervalSince(changed)
        #expect(after <= 5 * 2 + 2 + 2, "unhealthy after \(after) s: within interval × threshold + timeout")
        let health = try api.health(tg)
        #expect(health[Lab.applianceAddress(1)]?.reason == "Target.DataPathFailed", "\(health)")
        #expect(try states() == ["unhealthy", "healthy", "healthy"], "the odd-but-working appliance and the normal one pass")
        // Their probes come back: describe-target-health says nothing of it, the appliance's counters do.
        #expect(try (lab.applianceStatistics(1)["blackHoled"] as? Int ?? 0) >= 2, "appliance 1 received the probes")

        // The metrics say why, and the stream (what the console shows) carries the probes' round trips.
        func unhealthyForDataPath() throws -> Bool {
            let text = try lab.run(lab.lab.router, ["curl", "-sf", "--max-time", "3", "http://127.0.0.1:9108/metrics"]).output
            return text.split(separator: "\n").contains { line in
                line.hasPrefix("gwlb_unhealthy_hosts_by_reason{") && line.contains("reason=\"Target.DataPathFailed\"")
                    && line.split(separator: " ").last.flatMap { Double($0) } == 1
            }
        }
        #expect(try APIDaemonFixture.eventually(15) { try unhealthyForDataPath() })
        let stream = try LabFixture.execute(["curl", "-sN", "--max-time", "2", "--unix-socket", api.socket, "http://localhost/v1/stream"]).output
        #expect(stream.contains("\"dataPathMs\""), "\(stream.prefix(2000))")

        // New flows go to appliances 2 and 3 only; tshark shows appliance 2's returns as odd as promised.
        let sniffer = try ChildProcess(["ip", "netns", "exec", lab.lab.appliance(2), "tshark", "-i", "eth0", "-c", "1", "-a", "duration:15",
                                        "-f", "udp and src host \(Lab.applianceAddress(2)) and dst port 6081", "-T", "fields", "-e", "ip.ttl", "-e", "udp.checksum"],
                                       output: .pipe)
        usleep(1_500_000)
        try lab.sendNewUDPFlows()
        #expect(try lab.newUDPFlows(on: 2) + lab.newUDPFlows(on: 3) == 40, "every new flow on a target whose data path works")
        let fields = String(decoding: sniffer.standardOutput!.readDataToEndOfFile(), as: UTF8.self).split(whereSeparator: \.isWhitespace)
        sniffer.waitUntilExit()
        // tshark lists the outer header's value first, then the inner packet's.
        let outer = fields.map { $0.split(separator: ",").first.map(String.init) ?? "" }
        #expect(outer == ["2", "0x0000"], "outer TTL and UDP checksum of appliance 2's return: \(fields)")

        // Back: it returns GENEVE again and turns healthy after the healthy threshold.
        _ = try lab.run(lab.lab.router, ["curl", "-s", "-X", "POST", "http://\(Lab.applianceAddress(1)):\(Lab.applianceHealthPort)/geneve/return"])
        #expect(try APIDaemonFixture.eventually(20) { try states() == ["healthy", "healthy", "healthy"] }, "\((try? states()) ?? [])")
    }
}
