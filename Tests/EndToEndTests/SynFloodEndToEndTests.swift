import Foundation
import Lab
import Testing
import TestTraits

/// A SYN flood from a tool we did not write (hping3, Debian's) through the lab, against a small
/// flow table (2 × 1,024 entries): 3,000 SYNs at 150 a second from a spoofed address that never
/// answers, each a new flow the appliance and the server see. Half-open flows live 10 s, so the
/// table never fills (with the old 350 s it would, and every new connection would be refused):
/// 50 established connections carry on, a new connection opens every half second, nothing is
/// dropped as `flow_table_full`.
@Suite(.serialized, .blocking) struct SynFloodEndToEndTests {
    /// New connections during the flood, one every half second for `SECONDS`: each sends and gets
    /// its echo; prints how many succeeded and the failures.
    static let newConnections = """
        import json, socket, sys, time
        address, port, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
        result = {'opened': 0, 'failures': []}
        end = time.time() + seconds
        while time.time() < end:
            try:
                with socket.create_connection((address, port), timeout=3) as s:
                    s.sendall(b'hello'.ljust(100, b'x'))
                    received = b''
                    while len(received) < 100:
                        chunk = s.recv(100 - len(received))
                        if not chunk: raise ConnectionResetError('closed')
                        received += chunk
                result['opened'] += 1
            except OSError as error:
                result['failures'].append(repr(error))
            time.sleep(0.5)
        print(json.dumps(result), flush=True)
        """

    @Test func establishedAndNewConnectionsSurviveAnHping3Flood() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/hping3") else {
            Issue.record("hping3 is missing: apt-get install -y hping3 (.ci/run installs it)")
            return
        }
        let api = try APIDaemonFixture()
        defer { api.tearDown() }
        let lab = api.lab
        let small = "/tmp/\(lab.lab.prefix)-small-table.json"
        defer { unlink(small) }
        try #"{"geneveAddress": "\#(Lab.geneveAddress)", "flowsPerWorker": 1024}"#.write(toFile: small, atomically: true, encoding: .utf8)
        try api.start(extra: ["--config", small])
        let (_, tg) = try api.gettingStarted(targets: [1, 2])
        _ = try api.json(["modify-target-group", "--target-group-arn", tg, "--health-check-interval-seconds", "5",
                          "--healthy-threshold-count", "2"])
        #expect(try APIDaemonFixture.eventually(30) { try api.health(tg).values.allSatisfy { $0.state == "healthy" } })
        let port = CrashRestartEndToEndTests.port
        try lab.serve(lab.lab.server, ["python3", "-c", LabPrograms.tcpEcho, String(port)], port: port)

        let established = try ChildProcess(["ip", "netns", "exec", lab.lab.client, "python3", "-c", CrashRestartEndToEndTests.client(seconds: 26)],
                                           output: .pipe, errors: .pipe)
        let establishedErrors = Shell.PipeReader(established.standardError!)
        sleep(3)
        // The flood: a spoofed client-side address no host has (its SYN-ACKs find nobody), the
        // source port counting up, so each SYN is a flow of its own.
        let flood = try ChildProcess(["ip", "netns", "exec", lab.lab.client, "hping3", "-S", "-p", String(port), "-a", "198.18.10.250",
                                      "-i", "u6667", "-c", "3000", Lab.serverAddress], output: .pipe, errors: .pipe)
        let floodOutput = Shell.PipeReader(flood.standardOutput!), floodErrors = Shell.PipeReader(flood.standardError!)
        let fresh = try ChildProcess(["ip", "netns", "exec", lab.lab.client, "python3", "-c", Self.newConnections, Lab.serverAddress,
                                      String(port), "20"], output: .pipe)
        let freshText = String(decoding: fresh.standardOutput!.readDataToEndOfFile(), as: UTF8.self)
        let floodStatus = flood.waitUntilExit()
        let floodText = String(decoding: floodOutput.wait() + floodErrors.wait(), as: UTF8.self)
        let establishedText = String(decoding: established.standardOutput!.readDataToEndOfFile(), as: UTF8.self)
        let establishedProblems = String(decoding: establishedErrors.wait(), as: UTF8.self)

        #expect(floodText.contains("3000 packets transmitted"), "hping3 (status \(floodStatus)): \(floodText.suffix(500))")
        let stats = try api.observe("/v1/stats")
        let flows = stats["flows"] as? [String: Any] ?? [:]
        let drops = stats["drops"] as? [String: Any] ?? [:]
        print("SYN flood: \(flows), drops \(drops.filter { ($0.value as? Int ?? 0) > 0 })")
        #expect((flows["new"] as? Int ?? 0) >= 3000, "gwlbd saw the flood's SYNs as new flows: \(flows)")
        #expect(drops["flow_table_full"] as? Int == 0 && flows["rejected"] as? Int == 0, "the table never filled: \(flows) \(drops)")
        let result = try #require((try? JSONSerialization.jsonObject(with: Data(establishedText.utf8))) as? [String: Any],
                                  "\(establishedText) \(establishedProblems)")
        #expect(result["resets"] as? Int == 0 && (result["errors"] as? [String])?.isEmpty == true && result["mismatches"] as? Int == 0, "\(result)")
        let rounds = result["rounds"] as? Int ?? 0
        #expect(rounds >= 100 && result["bytes"] as? Int == rounds * 50 * 100, "established connections carried on: \(result)")
        let opened = try #require((try? JSONSerialization.jsonObject(with: Data(freshText.utf8))) as? [String: Any], "\(freshText)")
        #expect((opened["opened"] as? Int ?? 0) >= 30 && (opened["failures"] as? [String])?.isEmpty == true, "new connections opened: \(opened)")
    }
}
