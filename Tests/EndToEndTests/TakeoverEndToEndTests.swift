import Foundation
import Lab
import Synchronization
import Testing
import TestTraits

/// `gwlbd --takeover` under traffic: 50 long-lived TCP connections and a numbered UDP stream cross
/// gwlb while a new gwlbd takes the devices, sockets and flows over from the running one. No
/// connection resets, no datagram is lost (the sink counts them, the kernel's TUN counter shows no
/// drop), every connection stays on its appliance, and the API answers every call made meanwhile.
/// A takeover the running gwlbd cannot honour (other workers) is refused, and it carries on.
@Suite(.serialized, .blocking) struct TakeoverEndToEndTests {
    static let udpPort = 5060

    /// Counts distinct numbered datagrams until 3 s pass without one; prints them as JSON.
    static let udpSink = """
        import json, socket, sys, time
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        s.bind((sys.argv[1], int(sys.argv[2])))
        s.settimeout(60)
        seen = set(); last = None; gap = 0.0
        try:
            while True:
                data, _ = s.recvfrom(2048)
                now = time.monotonic()
                if last is not None: gap = max(gap, now - last)
                last = now
                seen.add(int(data.split(b' ')[0]))
                s.settimeout(3)
        except socket.timeout:
            pass
        print(json.dumps({'received': len(seen), 'highest': max(seen) if seen else -1, 'longestGapMs': round(gap * 1000)}), flush=True)
        """

    /// Sends numbered 200-byte datagrams at `rate` per second for `seconds`; prints how many.
    static let udpSender = """
        import socket, sys, time
        address, port, rate, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        start = time.time(); n = 0
        while time.time() - start < seconds:
            while n < (time.time() - start) * rate:
                s.sendto((str(n) + ' ').encode().ljust(200, b'x'), (address, port)); n += 1
            time.sleep(0.001)
        print(n, flush=True)
        """

    /// The endpoint device's transmit drops: packets the kernel could not queue for gwlbd.
    func endpointDrops(_ lab: LabFixture) throws -> Int {
        let output = try lab.run(lab.lab.router, ["ip", "-s", "-j", "link", "show", Lab.endpointInterface]).output
        let links = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [[String: Any]]
        let tx = (links?.first?["stats64"] as? [String: Any])?["tx"] as? [String: Any]
        guard let dropped = tx?["dropped"] as? Int else { throw LabFixture.Failure("no tx drops in \(output)") }
        return dropped
    }

    @Test func anUpgradeUnderTrafficLosesNoConnectionNoPacketAndNoAPICall() throws {
        let api = try APIDaemonFixture()
        defer { api.tearDown() }
        let lab = api.lab
        try api.start()
        let (_, tg) = try api.gettingStarted(targets: [1, 2, 3])
        _ = try api.json(["modify-target-group", "--target-group-arn", tg, "--health-check-interval-seconds", "5",
                          "--health-check-timeout-seconds", "2", "--healthy-threshold-count", "2", "--unhealthy-threshold-count", "2"])
        func states() throws -> [String] { try api.health(tg).sorted { $0.key < $1.key }.map(\.value.state) }
        #expect(try APIDaemonFixture.eventually(30) { try states() == ["healthy", "healthy", "healthy"] }, "\((try? states()) ?? [])")
        let oldPid = try #require(api.daemon?.processIdentifier)
        try lab.serve(lab.lab.server, ["python3", "-c", LabPrograms.tcpEcho, String(CrashRestartEndToEndTests.port)], port: CrashRestartEndToEndTests.port)
        let sink = try ChildProcess(["ip", "netns", "exec", lab.lab.server, "python3", "-c", Self.udpSink, Lab.serverAddress, String(Self.udpPort)],
                                    output: .pipe, errors: .pipe)
        try lab.waitUntilListening(lab.lab.server, port: Self.udpPort, udp: true, what: "the UDP sink")
        let dropsBefore = try endpointDrops(lab)

        let clients = try ChildProcess(["ip", "netns", "exec", lab.lab.client, "python3", "-c", CrashRestartEndToEndTests.client(seconds: 14)],
                                       output: .pipe, errors: .pipe)
        let sender = try ChildProcess(["ip", "netns", "exec", lab.lab.client, "python3", "-c", Self.udpSender, Lab.serverAddress,
                                       String(Self.udpPort), "1000", "12"], output: .pipe)
        // API calls all along, each of which must succeed: a read, and a change (a new target
        // each time, in a group no listener uses) that must be kept once acknowledged.
        let spare = try APIDaemonFixture.first(api.json(["create-target-group", "--name", "spare", "--protocol", "GENEVE", "--port", "6081"]),
                                               "TargetGroups", "TargetGroupArn")
        let calling = Atomic(true), failures = Mutex<[String]>([]), acknowledged = Mutex<Set<String>>([])
        let socket = api.socket
        let caller = Thread {
            var number = 0
            while calling.load(ordering: .relaxed) {
                number += 1
                let target = "198.18.\(4 + number / 250).\(1 + number % 250)"
                for arguments in [["describe-target-health", "--target-group-arn", tg], ["register-targets", "--target-group-arn", spare, "--targets", "Id=\(target)"]] {
                    let result = (try? LabFixture.execute([LabFixture.binary("gwlb")] + arguments + ["--socket", socket])) ?? (status: -1, output: "could not run gwlb")
                    if result.status != 0 { failures.withLock { $0.append("\(arguments[0]): \(result.output)") } }
                    if result.status == 0, arguments[0] == "register-targets" { _ = acknowledged.withLock { $0.insert(target) } }
                }
            }
        }
        caller.start()
        sleep(4)
        let oldStatus = try api.takeOver()
        sleep(2)
        calling.store(false, ordering: .relaxed)

        let clientErrors = Shell.PipeReader(clients.standardError!)
        let clientText = String(decoding: clients.standardOutput!.readDataToEndOfFile(), as: UTF8.self)
        let sent = Int(String(decoding: sender.standardOutput!.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
        let sinkErrors = Shell.PipeReader(sink.standardError!)
        let sinkText = String(decoding: sink.standardOutput!.readDataToEndOfFile(), as: UTF8.self)
        let sinkProblems = String(decoding: sinkErrors.wait(), as: UTF8.self)
        #expect(oldStatus == 0, "the old gwlbd exits cleanly once it handed over")

        let clientProblems = String(decoding: clientErrors.wait(), as: UTF8.self)
        let result = try #require((try? JSONSerialization.jsonObject(with: Data(clientText.utf8))) as? [String: Any], "\(clientText) \(clientProblems)")
        #expect(result["resets"] as? Int == 0 && (result["errors"] as? [String])?.isEmpty == true && result["mismatches"] as? Int == 0, "\(result)")
        let rounds = result["rounds"] as? Int ?? 0
        // As in the crash test (the same client): a loaded 2-core machine managed 89 rounds in 14 s
        // once (no reset, every byte echoed); what is judged is that every round was echoed whole.
        #expect(rounds >= 50 && result["bytes"] as? Int == rounds * 50 * 100, "every message of every round echoed: \(result)")
        let received = try #require((try? JSONSerialization.jsonObject(with: Data(sinkText.utf8))) as? [String: Any], "\(sinkText) \(sinkProblems)")
        print("takeover: UDP's longest gap \(received["longestGapMs"] ?? "?") ms")
        #expect(sent > 10_000 && received["received"] as? Int == sent, "every datagram arrived: sent \(sent), \(received)")
        #expect(try endpointDrops(lab) == dropsBefore, "the kernel dropped none for want of a reader")
        #expect(failures.withLock { $0 }.isEmpty, "API calls failed during the switch: \(failures.withLock { $0 })")
        // How many changes met the frozen control plane (and were retried): the switch is short, often none.
        let unavailable = try api.auditEvents().filter { $0["errorCode"] as? String == "ServiceUnavailable" }.count
        print("takeover: \(acknowledged.withLock { $0.count }) changes acknowledged, \(unavailable) refused with ServiceUnavailable meanwhile and retried")
        let registered = Set(try api.health(spare).keys)
        #expect(acknowledged.withLock { $0.count } >= 10 && registered == acknowledged.withLock { $0 },
                "every acknowledged change kept, none half-applied: \(registered.symmetricDifference(acknowledged.withLock { $0 }))")

        let log = try String(contentsOfFile: api.logPath, encoding: .utf8)
        let timing = log.split(separator: "\n").first { $0.contains("after the hand-over") }
        print("takeover: \(timing ?? "no timing line")")
        #expect(log.contains("handing over to gwlbd") && log.contains("handed over to gwlbd") && log.contains("took over from gwlbd"), "\(log.suffix(3000))")
        let stats = try api.observe("/v1/stats")
        let drops = stats["drops"] as? [String: Any] ?? [:]
        #expect(drops.values.compactMap { $0 as? Int }.reduce(0, +) == 0, "the new gwlbd dropped nothing: \(drops)")
        let hello = try api.hello()
        let upgraded = hello?["upgradedFrom"] as? [String: Any]
        #expect(upgraded?["pid"] as? Int == Int(oldPid) && hello?["flowState"] as? String == "resumed", "\(hello ?? [:])")
        #expect(try states() == ["healthy", "healthy", "healthy"], "health carried on")

        // Every connection stayed on one appliance (each appliance lists the flows it saw).
        let seenOn = try lab.appliancesCarrying(tcpPorts: Set((result["ports"] as? [Int]) ?? []))
        #expect(seenOn.count == 50 && seenOn.values.allSatisfy { $0.count == 1 }, "\(seenOn.filter { $0.value.count != 1 })")

        // A successor with other workers is refused; the running gwlbd carries on as it was.
        let other = "/tmp/\(lab.lab.prefix)-workers.json"
        defer { try? FileManager.default.removeItem(atPath: other) }
        try #"{"geneveAddress": "\#(Lab.geneveAddress)", "workers": 1}"#.write(toFile: other, atomically: true, encoding: .utf8)
        let refused = try LabFixture.execute(api.command(["--takeover", "--config", other]))
        #expect(refused.status != 0 && refused.output.contains("refused the takeover") && refused.output.contains("workers"), "\(refused.output)")
        #expect(api.daemon?.isRunning == true)
        let ping = try lab.run(lab.lab.client, ["ping", "-c", "3", "-i", "0.2", "-W", "2", Lab.serverAddress])
        #expect(ping.output.contains("3 received"), "\(ping.output)")
        #expect(try api.gwlb(["register-targets", "--target-group-arn", tg, "--targets", "Id=\(Lab.applianceAddress(3))"]).status == 0,
                "changes are taken again")

        // A successor that fails after it was handed everything (its flow log cannot be opened):
        // the running gwlbd takes it all back (devices, sockets, flows, its control plane) and carries on.
        let failing = try LabFixture.execute(api.command(["--takeover", "--flow-log", "/nonexistent-\(lab.lab.prefix)/flows.log"]))
        #expect(failing.status != 0, "\(failing.output)")
        #expect(try APIDaemonFixture.eventually(10) {
            (try String(contentsOfFile: api.logPath, encoding: .utf8)).contains("the takeover did not complete")
        }, "the running gwlbd says it carries on")
        #expect(api.daemon?.isRunning == true)
        let again = try lab.run(lab.lab.client, ["ping", "-c", "3", "-i", "0.2", "-W", "2", Lab.serverAddress])
        #expect(again.output.contains("3 received"), "it forwards again: \(again.output)")
        #expect(try api.gwlb(["register-targets", "--target-group-arn", spare, "--targets", "Id=198.18.9.9"]).status == 0,
                "its control plane takes changes again")
        #expect(try api.hello()?["upgradedFrom"] != nil, "the same gwlbd as before answers")
    }
}
