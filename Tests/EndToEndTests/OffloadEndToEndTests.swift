import Foundation
import Lab
import Testing
import TestSupport
import TestTraits

/// Bulk TCP through gwlbd with its offloads, measured by real clients: iperf3 with the links'
/// default MSS (9001-byte links, so full segments are larger than gwlb's 8,500-byte limit) only
/// works when path MTU discovery does, and ping shows the ICMP that makes it work.
@Suite(.serialized, .blocking) struct OffloadEndToEndTests {
    /// iperf3 from the client to the server: received bits per second, or a failure with its output.
    static func iperf(_ lab: LabFixture, to address: String, seconds: Int, extra: [String] = []) throws -> Double {
        let result = try lab.run(lab.lab.client, ["timeout", "30", "iperf3", "-c", address, "-t", String(seconds), "-J"] + extra)
        guard let json = try? JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any],
              let end = json["end"] as? [String: Any], let received = end["sum_received"] as? [String: Any],
              let bits = received["bits_per_second"] as? Double else {
            throw LabFixture.Failure("iperf3 to \(address) gave no result: \(result.output.prefix(400))")
        }
        return bits
    }

    static func requireIperf() throws {
        guard (try? LabFixture.execute(["which", "iperf3"]).status) == 0 else {
            throw LabFixture.Failure("this test needs iperf3: apt-get install -y iperf3 (as .ci/run does)")
        }
    }

    /// Default MSS, IPv4 and IPv6: the first full segments are dropped as oversize and answered
    /// with ICMP naming 8,500; TCP adapts and carries on; a second transfer adds no oversize drop.
    /// On the way the offloads are used: GSO-sent datagrams that tshark decodes as AWS GENEVE, the
    /// appliance's returns coalesced by the kernel (UDP GRO) and joined again for the TUN (GRO).
    @Test func defaultMSSWorksThroughPathMTUDiscovery() throws {
        try Self.requireIperf()
        let lab = try LabFixture(appliances: 1)
        defer { lab.tearDown() }
        try lab.serve(lab.lab.server, ["iperf3", "-s"], port: 5201)
        let capture = "/tmp/\(lab.lab.prefix)-bulk.pcapng"
        defer { try? FileManager.default.removeItem(atPath: capture) }
        let tshark = try lab.captureGeneve(count: 200, seconds: 20, to: capture)
        for address in [Lab.serverAddress, Lab.serverAddress6] {
            let first = try Self.iperf(lab, to: address, seconds: 3)
            #expect(first > 100e6, "\(address): \(first) bit/s")
        }
        tshark.waitUntilExit()
        let statistics = try lab.statistics()
        let oversize = try lab.drops("oversize")
        #expect(oversize > 0, "full segments above 8,500 bytes arrived first")
        #expect((statistics["packetTooBigSent"] as? Int ?? 0) > 0)
        #expect(try lab.drops("handoff_overflow") == 0)
        let offloads = statistics["offloads"] as? [String: Int] ?? [:]
        #expect((offloads["coalescedWrites"] ?? 0) > 0 && (offloads["coalescedDatagramsReceived"] ?? 0) > 0, "\(offloads)")
        // Path MTU is learnt: the same transfers again drop nothing.
        for address in [Lab.serverAddress, Lab.serverAddress6] { #expect(try Self.iperf(lab, to: address, seconds: 2) > 100e6) }
        #expect(try lab.drops("oversize") == oversize)

        // What went to the appliance: each datagram one GENEVE packet with AWS's three options and
        // one inner packet within the limit, whatever GSO did on the sending side.
        let fields = try LabFixture.execute(["tshark", "-r", capture, "-d", "udp.port==6081,geneve", "-T", "fields", "-E", "separator=;",
                                             "-e", "geneve.option.class", "-e", "geneve.option.type", "-e", "ip.len", "-e", "ipv6.plen"]).output
        // (tshark may add a line of its own, a warning about running as root.)
        let rows = fields.split(separator: "\n").map { $0.split(separator: ";", omittingEmptySubsequences: false).map(String.init) }
            .filter { $0.count == 4 }
        #expect(rows.count == 200, "\(fields.prefix(300))")
        #expect(rows.contains { ($0[2].split(separator: ",").last.flatMap { Int($0) } ?? 0) > 1000 }, "bulk data among the frames")
        for row in rows {
            #expect(row[0].split(separator: ",").count == 3 && row[0].split(separator: ",").allSatisfy { $0 == "0x0108" }, "\(row)")
            #expect(row[1].split(separator: ",").map(String.init) == ["0x01", "0x02", "0x03"], "\(row)")
            let innerLengths = (row[2].split(separator: ",").dropFirst() + row[3].split(separator: ",")).compactMap { Int($0) }
            #expect(innerLengths.allSatisfy { $0 <= 8500 }, "\(row)")
        }
    }

    /// ping with DF: gwlbd answers "fragmentation needed" / "packet too big" naming 8,500; with
    /// path MTU discovery off (AWS's behaviour) the same pings vanish silently, counted as oversize.
    @Test func pathMTUDiscoveryCanBeTurnedOff() throws {
        let lab = try LabFixture(appliances: 1, startDaemon: false)
        defer { lab.tearDown() }
        try lab.start()
        let v4 = try lab.run(lab.lab.client, ["ping", "-c", "1", "-W", "2", "-M", "do", "-s", "8600", Lab.serverAddress])
        #expect(v4.output.contains("mtu = 8500"), "\(v4.output)")
        let v6 = try lab.run(lab.lab.client, ["ping", "-6", "-c", "1", "-W", "2", "-M", "do", "-s", "8600", Lab.serverAddress6])
        #expect(v6.output.contains("mtu=8500"), "\(v6.output)")
        #expect(try lab.drops("oversize", settlingAt: 2) == 2)
        _ = lab.stopDaemon()

        // A new client namespace has no learnt MTU; the lab's is flushed instead.
        _ = try lab.run(lab.lab.client, ["ip", "route", "flush", "cache"])
        _ = try lab.run(lab.lab.client, ["ip", "-6", "route", "flush", "cache"])
        var configuration = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: lab.lab.daemonConfigurationPath))) as? [String: Any] ?? [:]
        configuration["pathMTUDiscovery"] = false
        try JSONSerialization.data(withJSONObject: configuration).write(to: URL(fileURLWithPath: lab.lab.daemonConfigurationPath))
        try? FileManager.default.removeItem(atPath: lab.statisticsPath)
        try lab.start()
        let silent4 = try lab.run(lab.lab.client, ["ping", "-c", "1", "-W", "2", "-M", "do", "-s", "8600", Lab.serverAddress])
        let silent6 = try lab.run(lab.lab.client, ["ping", "-6", "-c", "1", "-W", "2", "-M", "do", "-s", "8600", Lab.serverAddress6])
        #expect(!silent4.output.contains("mtu") && silent4.output.contains("0 received"), "\(silent4.output)")
        #expect(!silent6.output.contains("mtu") && silent6.output.contains("0 received"), "\(silent6.output)")
        #expect(try lab.drops("oversize", settlingAt: 2) == 2)
        #expect((try lab.statistics()["packetTooBigSent"] as? Int) == 0)
        // Small packets still go through.
        let small = try lab.run(lab.lab.client, ["ping", "-c", "1", "-W", "2", Lab.serverAddress])
        #expect(small.output.contains("1 received"), "\(small.output)")
    }
}
