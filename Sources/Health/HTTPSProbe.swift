import AsyncHTTPClient
import Foundation
import NIOCore
import NIOSSL
import NIOHTTP1
import Synchronization

/// HTTPS health checks through AsyncHTTPClient, one shared client on NIO's singleton event loops.
/// The probe thread waits for the answer (it is never an event-loop thread).
enum HTTPSProbe {
    static let client: HTTPClient = {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .none
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls, redirectConfiguration: .disallow)
        configuration.connectionPool = .init(idleTimeout: .seconds(1), concurrentHTTP1ConnectionsPerHostSoftLimit: 1)
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    static func run(address: String, port: Int, path: String, codes: Set<Int>, timeout: Double) -> ProbeResult {
        let host = address.contains(":") ? "[\(address)]" : address
        do {
            var request = try HTTPClient.Request(url: "https://\(host):\(port)\(path)", method: .GET)
            request.headers.add(name: "User-Agent", value: "gwlb-health-checker")
            request.headers.add(name: "Connection", value: "close")
            let delegate = StatusOnly()
            let code: Int
            do {
                code = try client.execute(request: request, delegate: delegate, deadline: .now() + .milliseconds(Int64(timeout * 1000))).wait()
            } catch is StatusOnly.Enough {
                code = delegate.status.withLock { $0 }
            }
            return codes.contains(code) ? .success : .responseCodeMismatch(code)
        } catch let error as HTTPClientError where [.deadlineExceeded, .readTimeout, .connectTimeout].contains(error) {
            return .timeout
        } catch {
            return .connectionFailed
        }
    }
}

/// Keeps the status of the answer's head and ends the request there: the body (whatever its size)
/// is never read into memory.
final class StatusOnly: HTTPClientResponseDelegate, Sendable {
    typealias Response = Int
    struct Enough: Error {}
    let status = Mutex(0)

    func didReceiveHead(task: HTTPClient.Task<Int>, _ head: HTTPResponseHead) -> EventLoopFuture<Void> {
        status.withLock { $0 = Int(head.status.code) }
        return task.eventLoop.makeFailedFuture(Enough())
    }

    func didFinishRequest(task: HTTPClient.Task<Int>) throws -> Int {
        status.withLock { $0 }
    }
}
