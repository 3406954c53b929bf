import Foundation
import Lab
import Testing
import TestTraits

/// An appliance killed (SIGKILL) in the middle of steady traffic: its health checks fail, it turns
/// unhealthy within interval × threshold (plus a check's timeout), new flows go to the other one,
/// and the flows pinned to the other one lose nothing.
@Suite(.serialized, .blocking) struct ApplianceFailureEndToEndTests {
    /// `steadyFlows HOST PORT FLOWS SECONDS FIRSTPORT`: FLOWS sockets bound to FIRSTPORT… each send a
    /// datagram every 50 ms for SECONDS; prints one line per flow: its port, sent, echoed.
    static let steadyFlows = """
        import select, socket, sys, time
        host, port, flows, seconds, first = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
        sockets = []
        for index in range(flows):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(('', first + index))
            s.setblocking(False)
            sockets.append(s)
        sent = [0] * flows
        echoed = [0] * flows
        def collect(timeout):
            ready, _, _ = select.select(sockets, [], [], timeout)
            for s in ready:
                while True:
                    try:
                        s.recv(100)
                        echoed[sockets.index(s)] += 1
                    except BlockingIOError:
                        break
        end = time.time() + seconds
        due = time.time()
        while due < end:
            for index, s in enumerate(sockets):
                s.sendto(b'gwlb' * 8, (host, port))
                sent[index] += 1
            due += 0.05
            while time.time() < due:
                collect(max(0, due - time.time()))
        stop = time.time() + 1.5
        while time.time() < stop:
            collect(0.1)
        for index in range(flows):
            print(first + index, sent[index], echoed[index])
        """

    @Test func killedApplianceIsAvoidedAndTheOthersFlowsLoseNothing() throws {
        let api = try APIDaemonFixture(appliances: 2)
        defer { api.tearDown() }
        let lab = api.lab
        try api.start()
        let (_, tg) = try api.gettingStarted(targets: [1, 2])
        let (interval, threshold, timeout) = (5, 2, 2)
        _ = try api.json(["modify-target-group", "--target-group-arn", tg, "--health-check-interval-seconds", "\(interval)",
                          "--health-check-timeout-seconds", "\(timeout)", "--healthy-threshold-count", "2",
                          "--unhealthy-threshold-count", "\(threshold)"])
        func state(_ appliance: Int) throws -> String { try api.health(tg)[Lab.applianceAddress(appliance)]?.state ?? "" }
        #expect(try APIDaemonFixture.eventually(30) { try state(1) == "healthy" && state(2) == "healthy" })
        try lab.serve(lab.lab.server, ["python3", "-c", Programs.udpEcho, Lab.serverAddress, "5001"], port: 5001, udp: true)

        // 20 steady flows for 25 s; appliance 1 dies 5 s in.
        let traffic = try ChildProcess(["ip", "netns", "exec", lab.lab.client, "python3", "-c", Self.steadyFlows, Lab.serverAddress, "5001", "20", "25", "41000"],
                                       output: .pipe)
        sleep(3)
        let pinned = try Self.targets(api, ports: 41000..<41020)
        #expect(pinned.count == 20 && Set(pinned.values).count == 2, "the flows spread over both appliances: \(pinned)")
        sleep(2)
        let killed = Date()
        _ = try LabFixture.execute(["ip", "netns", "pids", lab.lab.appliance(1)]).output.split(separator: "\n").map {
            try LabFixture.execute(["kill", "-9", String($0)])
        }
        #expect(try APIDaemonFixture.eventually(Double(interval * threshold + timeout + 3)) { try state(1) == "unhealthy" },
                "appliance 1 still \((try? state(1)) ?? "?") \(Date().timeIntervalSince(killed)) s after it died")
        let detected = Date().timeIntervalSince(killed)
        #expect(detected <= Double(interval * threshold + timeout + 1), "unhealthy after \(detected) s")

        // New flows go to appliance 2 only.
        let fresh = try lab.python(lab.lab.client, Programs.udpClients, arguments: [Lab.serverAddress, "5001", "30", "1"])
        #expect(fresh.output.trimmingCharacters(in: .whitespacesAndNewlines) == "30", "new flows answered: \(fresh.output)")
        let newFlows = try api.observe("/v1/flows?address=\(Lab.clientAddress)&limit=1000")["flows"] as? [[String: Any]] ?? []
        let newTargets = newFlows.filter { ($0["ageSeconds"] as? Int ?? 99) < 3 && !(41000..<41020).contains(Self.clientPort($0)) }
            .compactMap { $0["target"] as? String }
        #expect(newTargets.count == 30 && Set(newTargets) == [Lab.applianceAddress(2)], "\(newTargets)")

        traffic.waitUntilExit()
        let counts = String(decoding: traffic.standardOutput!.readDataToEndOfFile(), as: UTF8.self).split(separator: "\n")
            .map { $0.split(separator: " ").compactMap { Int($0) } }.filter { $0.count == 3 }
        #expect(counts.count == 20)
        for row in counts where pinned[row[0]] == Lab.applianceAddress(2) {
            #expect(row[2] == row[1], "flow from port \(row[0]) on the healthy appliance lost \(row[1] - row[2]) of \(row[1])")
        }
        #expect(counts.contains { pinned[$0[0]] == Lab.applianceAddress(1) && $0[2] < $0[1] }, "the killed appliance's flows did lose packets")
    }

    /// Client port → the appliance its flow is pinned to.
    static func targets(_ api: APIDaemonFixture, ports: Range<Int>) throws -> [Int: String] {
        let flows = try api.observe("/v1/flows?address=\(Lab.clientAddress)&limit=1000")["flows"] as? [[String: Any]] ?? []
        var result: [Int: String] = [:]
        for flow in flows where ports.contains(clientPort(flow)) { result[clientPort(flow)] = flow["target"] as? String }
        return result
    }

    static func clientPort(_ flow: [String: Any]) -> Int {
        (flow["addressA"] as? String == Lab.clientAddress ? flow["portA"] : flow["portB"]) as? Int ?? 0
    }
}
