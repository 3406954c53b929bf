import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One health check against a target: a TCP connection, or an HTTP or HTTPS GET whose status must
/// match. Asynchronous, with its own timeout: a check waits on SwiftNIO's event loops, never
/// blocks a thread.
public enum Probe {
    public enum Kind: Sendable, Hashable {
        case tcp
        /// Path and the accepted status codes.
        case http(path: String, codes: Set<Int>)
        /// As HTTP, over TLS. Like AWS, the target's certificate is not verified: appliances use
        /// self-signed ones, and the check is about liveness, not identity.
        case https(path: String, codes: Set<Int>)
    }

    /// Failures of this machine's, not the target's: out of descriptors, buffers, memory or ports.
    static func isLocal(_ code: Int32) -> Bool {
        [EMFILE, ENFILE, ENOBUFS, ENOMEM, EADDRNOTAVAIL].contains(code)
    }

    public static func run(_ kind: Kind, address: String, port: Int, timeout: Double) async -> ProbeResult {
        let milliseconds = Int64(timeout * 1000)
        switch kind {
        case .tcp: return await connect(address: address, port: port, milliseconds: milliseconds)
        case .http(let path, let codes): return await get("http", address: address, port: port, path: path, codes: codes, milliseconds: milliseconds)
        case .https(let path, let codes): return await get("https", address: address, port: port, path: path, codes: codes, milliseconds: milliseconds)
        }
    }

    /// A TCP connection that opens within the timeout, closed at once.
    static func connect(address: String, port: Int, milliseconds: Int64) async -> ProbeResult {
        do {
            let connecting = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.milliseconds(milliseconds))
                .connect(host: address, port: port)
            // A check given up opens nothing that stays open.
            let channel = try await connecting.valueUnlessCancelled { connecting.whenSuccess { $0.close(promise: nil) } }
            try? await channel.close()
            return .success
        } catch ChannelError.connectTimeout {
            return .timeout
        } catch let error as IOError where isLocal(error.errnoCode) {
            return .localError(error.errnoCode)
        } catch {
            return .connectionFailed
        }
    }

    /// One client for every HTTP and HTTPS check, on NIO's shared event loops: no redirects
    /// followed, no certificate checked, one connection per target at a time.
    static let client: HTTPClient = {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .none
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls, redirectConfiguration: .disallow)
        configuration.connectionPool = .init(idleTimeout: .seconds(1), concurrentHTTP1ConnectionsPerHostSoftLimit: 1)
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    /// A GET whose status line is judged as soon as the answer's head arrives: the body, whatever
    /// its size, is never read, and an answer followed by a reset is judged by the answer.
    static func get(_ scheme: String, address: String, port: Int, path: String, codes: Set<Int>, milliseconds: Int64) async -> ProbeResult {
        let host = address.contains(":") ? "[\(address)]" : address
        do {
            var request = try HTTPClient.Request(url: "\(scheme)://\(host):\(port)\(path)", method: .GET)
            request.headers.add(name: "User-Agent", value: "gwlb-health-checker")
            request.headers.add(name: "Connection", value: "close")
            let delegate = StatusOnly()
            let code: Int
            do {
                let task = client.execute(request: request, delegate: delegate, deadline: .now() + .milliseconds(milliseconds))
                code = try await task.futureResult.valueUnlessCancelled { task.cancel() }
            } catch is StatusOnly.Enough {
                code = delegate.status.withLock { $0 }
            }
            return codes.contains(code) ? .success : .responseCodeMismatch(code)
        } catch let error as HTTPClientError where [.deadlineExceeded, .readTimeout, .connectTimeout].contains(error) {
            return .timeout
        } catch let error as IOError where isLocal(error.errnoCode) {
            return .localError(error.errnoCode)
        } catch {
            return .connectionFailed
        }
    }
}

/// Keeps the status of the answer's head and ends the request there.
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

extension EventLoopFuture where Value: Sendable {
    /// The future's value, or `CancellationError` as soon as the waiting task is cancelled; the
    /// work behind the future goes on unless `onCancel` stops it.
    func valueUnlessCancelled(onCancel: @escaping @Sendable () -> Void = {}) async throws -> Value {
        let promise = eventLoop.makePromise(of: Value.self)
        cascade(to: promise)
        return try await withTaskCancellationHandler {
            try await promise.futureResult.get()
        } onCancel: {
            // A promise already completed ignores this.
            promise.fail(CancellationError())
            onCancel()
        }
    }
}
