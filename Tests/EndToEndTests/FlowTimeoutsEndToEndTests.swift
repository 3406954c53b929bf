import Foundation
import Lab
import Testing
import TestTraits

/// A closed TCP connection's entry leaves the table within the listener's closing timeout, while
/// an open connection beside it stays; `gwlb flows` shows each one's state. Real curl, a real
/// HTTP server, gwlbd in the API form.
///
///   lab (client ─ router[gwlbd] ─ server :80, appliance 198.18.1.11)
@Suite(.serialized, .blocking) struct FlowTimeoutsEndToEndTests {
    @Test func aClosedConnectionLeavesTheTableWithinTheClosingTimeout() throws {
        let api = try APIDaemonFixture()
        defer { api.tearDown() }
        let lab = api.lab
        try api.start()
        let (lb, _) = try api.gettingStarted(targets: [1])
        let listener = try APIDaemonFixture.first(try api.json(["describe-listeners", "--load-balancer-arn", lb]), "Listeners", "ListenerArn")
        _ = try api.json(["modify-listener-attributes", "--listener-arn", listener, "--attributes", "Key=tcp.closing_timeout.seconds,Value=5"])
        try lab.serve(lab.lab.server, ["python3", "-m", "http.server", "80", "--bind", Lab.serverAddress], port: 80)
        // An open connection from port 41001 that says nothing for 60 s.
        try lab.background(lab.lab.client, ["python3", "-c", """
            import socket, time
            s = socket.socket(); s.bind(('', 41001))
            for _ in range(50):
                try: s.connect(('\(Lab.serverAddress)', 80)); break
                except OSError: time.sleep(0.1)
            time.sleep(60)
            """])
        func state(_ port: Int) throws -> String? {
            let flows = try api.json(["flows", "--port", String(port), "--output", "json"])["flows"] as? [[String: Any]] ?? []
            return flows.first?["state"] as? String
        }
        #expect(try APIDaemonFixture.eventually(10) { try state(41001) == "established" }, "\((try? state(41001)) ?? "no flow")")
        // A whole HTTP exchange from port 41002: both FINs go through gwlbd.
        var fetched: (status: Int32, output: String) = (1, "")
        for _ in 0..<20 {
            fetched = try lab.run(lab.lab.client, ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--local-port", "41002",
                                                   "http://\(Lab.serverAddress)/"])
            if fetched.output == "200" { break }
            usleep(200_000)
        }
        #expect(fetched.output == "200", "\(fetched)")
        let closedAt = Date()
        #expect(try state(41002) == "closing")
        let table = try api.gwlb(["flows", "--port", "41002"]).output
        #expect(table.contains("STATE") && table.contains("closing"), "\(table)")
        // Gone after 5 s idle (plus the sweep), long before the TCP idle timeout (350 s).
        #expect(try APIDaemonFixture.eventually(15) { try state(41002) == nil }, "still listed")
        let gone = Date().timeIntervalSince(closedAt)
        #expect(gone >= 4 && gone < 15, "left the table after \(gone) s (its last packet came just before curl returned)")
        #expect(try state(41001) == "established", "the open connection stays")
    }
}
