import AsyncHTTPClient
import Foundation
import NIOCore
import NIOSSL

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
            let response = try client.execute(request: request, deadline: .now() + .milliseconds(Int64(timeout * 1000))).wait()
            let code = Int(response.status.code)
            return codes.contains(code) ? .success : .responseCodeMismatch(code)
        } catch let error as HTTPClientError where [.deadlineExceeded, .readTimeout, .connectTimeout].contains(error) {
            return .timeout
        } catch {
            return .connectionFailed
        }
    }
}
