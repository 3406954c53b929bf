import Foundation
import Synchronization
import Testing
@testable import ControlClient

/// The client retries what gwlbd did not take (a connection closed before any answer, or
/// `ServiceUnavailable` while it hands over to its successor), with backoff, for `retrySeconds`;
/// it never repeats a request that got an answer or was cut off mid-answer. Against a real Unix
/// socket server that plays a script of answers, one per connection.
@Suite struct RetryTests {
    static let ok = answer(200, "<DescribeLoadBalancersResponse><DescribeLoadBalancersResult><LoadBalancers/></DescribeLoadBalancersResult></DescribeLoadBalancersResponse>")
    static let unavailable = answer(503, "<ErrorResponse><Error><Code>ServiceUnavailable</Code><Message>handing over</Message></Error></ErrorResponse>")
    static let notFound = answer(400, "<ErrorResponse><Error><Code>LoadBalancerNotFound</Code><Message>no</Message></Error></ErrorResponse>")

    static func answer(_ status: Int, _ body: String) -> String {
        "HTTP/1.1 \(status) X\r\nContent-Type: text/xml\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
    }

    /// Serves `script` on a fresh socket, one entry per connection (nil: close without answering),
    /// then closes the listener; returns the path and how many requests arrived.
    final class ScriptedServer: Sendable {
        let path = "/tmp/gwlb-retry-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).sock"
        final class Counter: Sendable { let value = Atomic(0) }
        private let counter = Counter()
        var requests: Int { counter.value.load(ordering: .relaxed) }
        private let listener: Int32

        init(_ script: [String?]) throws {
            let listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            self.listener = listener
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            guard bound == 0, listen(listener, 8) == 0 else { throw POSIXError(.EADDRINUSE) }
            let counter = self.counter
            // The thread closes the listener itself, after `deinit` shut it down: closed from
            // here, its number could go to the next test's listener while this thread still (or
            // only then) accepts on it, and it would answer that test's client.
            Thread {
                defer { close(listener) }
                for entry in script {
                    let connection = accept(listener, nil, nil)
                    guard connection >= 0 else { return }
                    // Read the request (head and form body) before answering, as a server does.
                    var buffer = [UInt8](repeating: 0, count: 65_536)
                    _ = read(connection, &buffer, buffer.count)
                    counter.value.add(1, ordering: .relaxed)
                    if let entry { _ = entry.withCString { write(connection, $0, strlen($0)) } }
                    close(connection)
                }
                // Past the script: connections are closed unanswered until the shut-down.
                while true {
                    let connection = accept(listener, nil, nil)
                    guard connection >= 0 else { return }
                    close(connection)
                }
            }.start()
        }

        deinit {
            shutdown(listener, Int32(SHUT_RDWR))   // ends the thread's accept; the thread closes it
            unlink(path)
        }
    }

    func client(_ server: ScriptedServer, retrySeconds: Double = 10) -> ELBClient {
        var client = ELBClient(socketPath: server.path)
        client.retrySeconds = retrySeconds
        return client
    }

    @Test func aConnectionClosedUnansweredAndServiceUnavailableAreRetried() throws {
        let server = try ScriptedServer([nil, Self.unavailable, Self.unavailable, Self.ok])
        _ = try client(server).call("DescribeLoadBalancers", [])
        #expect(server.requests == 4)
    }

    @Test func anAnswerIsNeverRepeated() throws {
        let server = try ScriptedServer([Self.notFound, Self.ok])
        #expect(throws: ELBClient.APIError.self) { try client(server).call("DescribeLoadBalancers", []) }
        #expect(server.requests == 1)
    }

    @Test func anAnswerCutOffMidwayIsNotRepeated() throws {
        // The head came: gwlbd may have acted on the request.
        let server = try ScriptedServer([String(Self.ok.prefix(80)), Self.ok])
        let error = #expect(throws: UnixHTTPClient.ConnectionError.self) { try client(server).call("DescribeLoadBalancers", []) }
        #expect(error?.description.contains("mid-answer") == true, "\(String(describing: error))")
        #expect(server.requests == 1)
    }

    @Test func retriesEndAfterRetrySeconds() throws {
        let server = try ScriptedServer(Array(repeating: Self.unavailable, count: 100))
        let start = ContinuousClock.now
        let error = #expect(throws: ELBClient.APIError.self) { try client(server, retrySeconds: 1).call("DescribeLoadBalancers", []) }
        #expect(error?.code == "ServiceUnavailable")
        #expect(ContinuousClock.now - start < .seconds(3))
        // 50, 100, 200, 400 ms: four retries fit in a second, the fifth pause would not.
        #expect((2...6).contains(server.requests), "\(server.requests)")
    }

    @Test func noServerAtAllFailsAtOnce() throws {
        var client = ELBClient(socketPath: "/tmp/gwlb-retry-nobody-\(getpid()).sock")
        client.retrySeconds = 10
        let start = ContinuousClock.now
        #expect(throws: UnixHTTPClient.ConnectionError.self) { try client.call("DescribeLoadBalancers", []) }
        #expect(ContinuousClock.now - start < .seconds(1), "gwlbd not running is said at once, not after the retries")
    }
}
