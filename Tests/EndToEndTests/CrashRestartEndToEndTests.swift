import Foundation
import Lab
import Testing
import TestTraits

/// gwlbd killed with SIGKILL under 50 long-lived TCP connections and started again: it takes its
/// flows over from the shared flow state, so every connection carries on (no reset, every byte
/// echoed) on the appliance it had; a restart with another flow-table size starts cold and says so.
@Suite(.serialized, .blocking) struct CrashRestartEndToEndTests {
    static let port = 5050

    /// 50 connections, each sending a numbered 100-byte message and reading it back, round after
    /// round, for `seconds`; prints what it saw as JSON (resets, mismatches, other errors).
    static func client(seconds: Int) -> String {
        """
        import json, socket, time
        connections = []
        for n in range(50):
            s = socket.create_connection(('\(Lab.serverAddress)', \(port)), timeout=10); connections.append(s)
        ports = [s.getsockname()[1] for s in connections]
        result = {'ports': ports, 'rounds': 0, 'resets': 0, 'mismatches': 0, 'errors': [], 'bytes': 0}
        end = time.time() + \(seconds)
        while time.time() < end and not result['errors']:
            for n, s in enumerate(connections):
                message = ('%04d-%08d-' % (n, result['rounds'])).encode().ljust(100, b'x')
                try:
                    s.sendall(message)
                    received = b''
                    while len(received) < 100:
                        chunk = s.recv(100 - len(received))
                        if not chunk: raise ConnectionResetError('closed by the peer')
                        received += chunk
                    if received != message: result['mismatches'] += 1
                    result['bytes'] += 100
                except ConnectionResetError as error:
                    result['resets'] += 1; result['errors'].append(str(error)); break
                except OSError as error:
                    result['errors'].append(repr(error)); break
            result['rounds'] += 1
            time.sleep(0.05)
        print(json.dumps(result))
        """
    }

    @Test func aKilledGwlbdComesBackWithEveryConnection() throws {
        let api = try APIDaemonFixture()
        defer { api.tearDown() }
        let lab = api.lab
        try api.start()
        #expect(try String(contentsOfFile: api.logPath, encoding: .utf8).contains("shared flow state: \(api.sharedState) created"))
        let (_, tg) = try api.gettingStarted(targets: [1, 2, 3])
        _ = try api.json(["modify-target-group", "--target-group-arn", tg, "--health-check-interval-seconds", "5",
                          "--health-check-timeout-seconds", "2", "--healthy-threshold-count", "2", "--unhealthy-threshold-count", "2"])
        func states() throws -> [String] { try api.health(tg).sorted { $0.key < $1.key }.map(\.value.state) }
        #expect(try APIDaemonFixture.eventually(30) { try states() == ["healthy", "healthy", "healthy"] }, "\((try? states()) ?? [])")
        try lab.serve(lab.lab.server, ["python3", "-c", LabPrograms.tcpEcho, String(Self.port)], port: Self.port)

        let output = Pipe()
        let client = try ChildProcess(["ip", "netns", "exec", lab.lab.client, "python3", "-c", Self.client(seconds: 12)],
                                      output: .descriptor(output.fileHandleForWriting.fileDescriptor),
                                      errors: .descriptor(output.fileHandleForWriting.fileDescriptor))
        try output.fileHandleForWriting.close()
        usleep(4_000_000)
        api.kill()
        let restarted = Date()
        try api.start()
        let answering = Date().timeIntervalSince(restarted)
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        client.waitUntilExit()
        let result = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "\(text)")
        #expect(result["resets"] as? Int == 0 && (result["errors"] as? [String])?.isEmpty == true && result["mismatches"] as? Int == 0, "\(result)")
        let rounds = result["rounds"] as? Int ?? 0
        #expect(rounds >= 50 && result["bytes"] as? Int == rounds * 50 * 100, "every message of every round echoed: \(result)")
        let log = try String(contentsOfFile: api.logPath, encoding: .utf8)
        let resumed = log.split(separator: "\n").first { $0.contains("shared flow state: resumed") }
        let flows = resumed.flatMap { line in line.split(separator: " ").drop { $0 != "resumed" }.dropFirst().first.flatMap { Int($0) } } ?? 0
        #expect(flows >= 50, "the new gwlbd took the connections' flows over: \(resumed ?? "no such line") (answered after \(answering) s)")
        let drops = try api.observe("/v1/stats")["drops"] as? [String: Any]
        #expect(drops?["tcp_without_flow"] as? Int == 0, "mid-connection segments all found their flow: \(drops ?? [:])")
        #expect(try states() == ["healthy", "healthy", "healthy"], "health resumed, not restarted from initial")
        // The stream's hello (what the console notes) and the metrics say what the new gwlbd took over.
        let hello = try api.hello()
        #expect(hello?["flowState"] as? String == "resumed" && (hello?["flowsTakenOver"] as? Int ?? 0) == flows, "\(hello ?? [:])")
        let metrics = try LabFixture.execute(["curl", "-s", "--max-time", "3", "--unix-socket", api.socket, "http://localhost/metrics"]).output
        #expect(metrics.contains("gwlb_flows_taken_over{availability_zone=\"local\"} \(flows)") && metrics.contains("process_start_time_seconds "),
                "\(metrics.prefix(600))")

        // Every connection stayed on one appliance (each appliance lists the flows it saw).
        let seenOn = try lab.appliancesCarrying(tcpPorts: Set((result["ports"] as? [Int]) ?? []))
        #expect(seenOn.count == 50 && seenOn.values.allSatisfy { $0.count == 1 }, "\(seenOn.filter { $0.value.count != 1 })")

        // Another flow-table size: the file cannot be taken over; gwlbd says why, starts cold and forwards.
        api.stop()
        let smaller = "/tmp/\(lab.lab.prefix)-smaller.json"
        defer { try? FileManager.default.removeItem(atPath: smaller) }
        try #"{"geneveAddress": "\#(Lab.geneveAddress)", "flowsPerWorker": 65536}"#.write(toFile: smaller, atomically: true, encoding: .utf8)
        try api.start(extra: ["--config", smaller])
        let cold = try String(contentsOfFile: api.logPath, encoding: .utf8)
        #expect(cold.contains("could not be taken over (built for 1048576 flows per worker, this gwlbd has 65536); starting cold"), "\(cold.suffix(1500))")
        let ping = try lab.run(lab.lab.client, ["ping", "-c", "3", "-i", "0.2", "-W", "2", Lab.serverAddress])
        #expect(ping.output.contains("3 received"), "\(ping.output)")
    }
}
