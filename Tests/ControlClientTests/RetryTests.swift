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
