import Foundation
import Testing
@testable import Health
import TestTraits

/// Probes against responders real appliances have: one that answers and closes without reading
/// the request (the connection ends in a reset after the full answer), one that never ends its
/// status line; and what the probe does with failures of its own machine.
/// Not `.blocking`: nothing here blocks (the responders run on threads of their own), and the
/// time a probe takes is judged.
@Suite struct ProbeRobustnessTests {
    /// A one-shot TCP server on loopback: for each connection, writes `answer` at once and closes
    /// (without reading what the client sent, so the close resets the connection).
    final class BlurtingServer: @unchecked Sendable {
        let port: Int
        private let listener: Int32

        /// `holdSeconds`: keeps each connection open that long after the answer.
        init(answer: [UInt8], connections: Int, holdSeconds: Double = 0) throws {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let bound = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && listen(fd, 16) == 0 && getsockname(fd, $0, &length) == 0 }
            }
            guard bound else { throw CocoaError(.fileNoSuchFile) }
            listener = fd
            port = Int(UInt16(bigEndian: address.sin_port))
            Thread.detachNewThread { [listener] in
                for _ in 0..<connections {
                    let client = accept(listener, nil, nil)
                    guard client >= 0 else { continue }
                    // Let the request arrive unread, so closing sends a reset after the answer.
                    usleep(20_000)
                    _ = answer.withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                    usleep(UInt32(holdSeconds * 1_000_000))
                    Glibc.close(client)
                }
                Glibc.close(listener)
            }
        }
    }

    @Test func anAnswerFollowedByAResetIsJudgedByTheAnswer() async throws {
        let server = try BlurtingServer(answer: Array("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".utf8), connections: 10)
        for attempt in 0..<10 {
            let result = await Probe.run(.http(path: "/health", codes: [200]), address: "127.0.0.1", port: server.port, timeout: 2)
            #expect(result == .success, "attempt \(attempt)")
        }
    }

    /// 200 kB that are not HTTP, and the connection held open past the probe's timeout: a probe
    /// that read on, waiting for a line end, would time out; it fails on the first bytes instead.
    @Test func aStatusLineThatNeverEndsFailsWithoutReadingOn() async throws {
        let server = try BlurtingServer(answer: Array(repeating: UInt8(ascii: "A"), count: 200_000), connections: 1, holdSeconds: 4)
        let result = await Probe.run(.http(path: "/", codes: [200]), address: "127.0.0.1", port: server.port, timeout: 2)
        #expect(result == .connectionFailed, "judged on the first bytes, not read on until the timeout")
    }

    @Test func aLocalFailureKeepsTheTargetsState() {
        var machine = HealthStateMachine(healthyThreshold: 2, unhealthyThreshold: 2)
        machine.record(.success)
        machine.record(.success)
        #expect(machine.state.state == .healthy)
        for _ in 0..<5 { #expect(machine.record(.localError(EMFILE)) == nil) }
        #expect(machine.state.state == .healthy && machine.consecutiveFailures == 0)
        #expect(Probe.isLocal(EMFILE) && Probe.isLocal(ENOBUFS) && !Probe.isLocal(ECONNREFUSED))
    }
}
