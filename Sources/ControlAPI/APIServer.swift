import Catalog
import ControlContract
import ControlInput
import DataPlane
import Foundation
import Health
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import NIOCore
import NIOPosix
import NIOSSL
import ServiceLifecycle
import Synchronization
import Telemetry
#if canImport(Glibc)
import Glibc
#endif

/// gwlbd's API on a Unix socket: `POST /` speaks the elbv2 Query protocol; under `/v1/` JSON for
/// observability: `stats` (counters), `drops` (recent drops), `flows` (which target flows are pinned
/// to) and `stream` (newline-delimited JSON, `EventStream`). The socket's mode (0660) is the access
/// control: no signatures here.
public enum APIServer {
    public static let defaultSocketPath = "/run/gwlb/gwlb.sock"
    /// `/v1/stream` subscribers at once (each a console or a script watching).
    public static let maximumStreams = 32

    /// Why the server cannot start.
    public struct StartupError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Prepares `path`: creates its directory, refuses when another gwlbd answers on it, removes a
    /// stale socket file left by a crash.
    public static func claim(socketPath path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var status = stat()
        guard lstat(path, &status) == 0 else { return }
        // Only a socket is ever removed: a directory or file given as --socket by mistake (the
        // state directory, say) stays as it is.
        guard status.st_mode & S_IFMT == S_IFSOCK else {
            throw StartupError(description: "\(path) exists and is not a socket: gwlbd will not remove it; give --socket a path of its own")
        }
        if isAnswering(path) {
            throw StartupError(description: "another gwlbd is running on \(path): stop it first, or give this one --socket PATH")
        }
        guard unlink(path) == 0 else {
            throw StartupError(description: "cannot remove the stale socket \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// Serves until the task is cancelled, or `stop` stops it gracefully.
    /// The socket is created beside `socketPath` under gwlbd's umask (0077: nobody else can connect
    /// while it is set up), given to `group` if any and opened to it (0660), then renamed into
    /// place: a gwlbd taking over from another replaces its socket in one step, so every client
    /// reaches one or the other. `onRunning` runs once it is in place.
    public static func run(socketPath: String, actions: ELBActions, observatory: Observatory, metrics: MetricsExporter? = nil,
                           group: gid_t? = nil, stop: GracefulStop? = nil, onRunning: @escaping @Sendable () -> Void = {}) async throws {
        let router = Router(context: CallerContext.self)
        if let metrics { router.get("/metrics") { _, _ in exposition(metrics) } }
        router.post("/") { request, context -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            let caller = AuditCaller.localUser(uid: await context.peerUID(), socketPath: socketPath,
                                               userAgent: request.headers[.userAgent] ?? "unknown")
            let answer = await actions.handle(String(buffer: body), caller: caller)
            return Response(status: .init(code: answer.status), headers: [.contentType: "text/xml"],
                            body: .init(byteBuffer: ByteBuffer(string: answer.body)))
        }
        router.get("/v1/stats") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"],
                     body: .init(byteBuffer: ByteBuffer(bytes: try ContractCoding.encode(observatory.statisticsReport()))))
        }
        router.get("/v1/drops") { _, _ in
            let statistics = observatory.statistics()
            var counts: [String: UInt64] = [:]
            for reason in DropReason.allCases { counts[reason.name] = statistics.drops(reason) }
            let answer = DropsAnswer(counts: counts, recent: observatory.recentDrops().reversed().map(StatisticsReport.row))
            return Response(status: .ok, headers: [.contentType: "application/json"],
                            body: .init(byteBuffer: ByteBuffer(bytes: try ContractCoding.encode(answer))))
        }
        router.get("/v1/cluster") { _, _ -> Response in
            guard let answer = try await observatory.cluster() else {
                return Response(status: .notFound, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: try ContractCoding.encode(
                    ErrorAnswer("this gwlbd is a single node (its configuration is in SQLite); gwlbd --database postgres://… makes it a node of a cluster")))))
            }
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: try ContractCoding.encode(answer))))
        }
        router.get("/v1/flows") { request, _ -> Response in
            let parameters = Dictionary(request.uri.queryParameters.map { (String($0.key), String($0.value)) }) { _, last in last }
            // The workers answer between batches; wait for them on NIO's thread pool, off Swift's
            // cooperative threads and without a thread per request.
            let (body, ok): (Data, Bool) = try await NIOThreadPool.singleton.runIfActive {
                do { return (try ContractCoding.encode(observatory.flowsAnswer(parameters)), true) } catch {
                    return (encode(ErrorAnswer("\(error)")), false)
                }
            }
            return Response(status: ok ? .ok : .badRequest, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: body)))
        }
        router.get("/v1/capture") { request, _ -> Response in
            let parameters = Dictionary(request.uri.queryParameters.map { (String($0.key), String($0.value)) }) { _, last in last }
            return CaptureStream.response(parameters, observatory: observatory)
        }
        let streams = Atomic<Int>(0)
        router.get("/v1/stream") { _, _ -> Response in
            let service = actions.service
            // Each subscriber costs a snapshot a second: a bounded number of them (consoles).
            guard streams.add(1, ordering: .relaxed).newValue <= maximumStreams else {
                streams.subtract(1, ordering: .relaxed)
                return Response(status: .serviceUnavailable, headers: [.contentType: "application/json"],
                                body: .init(byteBuffer: ByteBuffer(bytes: encode(ErrorAnswer("\(maximumStreams) streams are open already: close a console first")))))
            }
            return Response(status: .ok, headers: [.contentType: "application/x-ndjson"], body: ResponseBody { writer in
                defer { streams.subtract(1, ordering: .relaxed) }
                var stream = EventStream(service: service, observatory: observatory)
                // Whoever can connect to the socket can write to it (connect needs write permission).
                for message in stream.opening(role: "operator") { try await writer.write(line(message)) }
                // A stream ends when gwlbd stops (its clients reconnect to the next one).
                while !Task.isCancelled, !Task.isShuttingDownGracefully {
                    try await Task.sleep(for: .seconds(1))
                    for message in stream.tick() { try await writer.write(line(message)) }
                }
                try await writer.finish(nil)
            })
        }
        let binding = "\(socketPath).\(getpid())"
        unlink(binding)
        let application = Application(router: router, configuration: .init(address: .unixDomainSocket(path: binding)),
                                      onServerRunning: { _ in
                                          if let group { chown(binding, uid_t.max, group) }
                                          chmod(binding, 0o660)
                                          rename(binding, socketPath)
                                          onRunning()
                                      })
        try await (stop ?? GracefulStop()).run(application)
    }

    /// The elbv2 Query API on TCP (`--api-listen`), every request signed with Signature Version 4
    /// by a key of `verifier`'s; unsigned or wrongly signed ones get AWS's error and change nothing.
    /// Only `POST /` (the Query protocol); the observability endpoints stay on the Unix socket.
    /// With `tls` (PEM certificate chain and private key files) it speaks HTTPS.
    public static func runTCP(host: String, port: Int, actions: ELBActions, verifier: SignatureV4Verifier,
                              tls: (certificate: String, key: String)? = nil, limits: ListenerLimits = ListenerLimits(),
                              counter: ConnectionCounter? = nil, stop: GracefulStop? = nil,
                              onRunning: @escaping @Sendable (Int) -> Void = { _ in }) async throws {
        let router = Router(context: CallerContext.self)
        router.post("/") { request, context -> Response in
            var headers = request.headers.map { ($0.name.canonicalName, $0.value) }
            if let authority = request.head.authority { headers.append(("host", authority)) }
            var caller = AuditCaller(type: "IAMUser", principalId: "anonymous", sourceIPAddress: context.peerAddress,
                                     userAgent: String((request.headers[.userAgent] ?? "unknown").prefix(256)))
            var body: ByteBuffer?
            // Either the request is verified and runs, or it is refused.
            let answer: ELBActions.Response
            do throws(ELBError) {
                // The headers are judged before the body is read: an unsigned or stale request
                // costs no body read and no parse.
                let authorization = try verifier.authorization(headers: headers)
                if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limits.maximumBody {
                    throw ELBError(.validationError, "The request body is larger than \(limits.maximumBody) bytes")
                }
                let collected: ByteBuffer
                do { collected = try await request.body.collect(upTo: limits.maximumBody) } catch {
                    throw ELBError(.validationError, "The request body is larger than \(limits.maximumBody) bytes or was cut short")
                }
                body = collected
                let signed = SignatureV4Verifier.Request(method: request.method.rawValue, path: request.uri.path, query: request.uri.query ?? "",
                                                         headers: headers, body: Data(buffer: collected))
                let key = try verifier.verify(signed, authorization: authorization)
                caller.principalId = key
                caller.accessKeyId = key
                answer = await actions.handle(String(buffer: collected), caller: caller, signedFor: authorization.service)
            } catch {
                let requestID = UUID().uuidString.lowercased()
                actions.recordRefusal(error, body: body.map { String(buffer: $0) }, caller: caller, requestID: requestID)
                // A refusal in the shape of the API the caller speaks (its credential scope says which).
                let ec2 = (request.headers[.authorization] ?? "").contains("/ec2/aws4_request")
                let xml = ec2 ? EC2Shapes.error(code: error.code.rawValue, message: error.message, requestID: requestID)
                    : QueryResponse.error(code: error.code.rawValue, message: error.message, requestID: requestID)
                answer = ELBActions.Response(status: error.code.httpStatus, body: xml)
            }
            return Response(status: .init(code: answer.status), headers: [.contentType: "text/xml"],
                            body: .init(byteBuffer: ByteBuffer(string: answer.body)))
        }
        let counter = counter ?? ConnectionCounter(limits: limits)
        var server = guarded(counter)
        if let tls {
            let chain = try NIOSSLCertificate.fromPEMFile(tls.certificate).map { NIOSSLCertificateSource.certificate($0) }
            let key = try NIOSSLPrivateKey(file: tls.key, format: .pem)
            server = try .tls(guarded(counter), tlsConfiguration: .makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key)))
        }
        let application = Application(router: router, server: server, configuration: .init(address: .hostname(host, port: port)),
                                      onServerRunning: { channel in onRunning(channel.localAddress?.port ?? port) })
        try await (stop ?? GracefulStop()).run(application)
    }

    /// Prometheus's scrape endpoint alone on TCP (`--metrics-listen`): read-only, unsigned, as
    /// exporters are; bind it where only the monitoring system reaches.
    public static func runMetrics(host: String, port: Int, metrics: MetricsExporter, limits: ListenerLimits = ListenerLimits(),
                                  stop: GracefulStop? = nil, onRunning: @escaping @Sendable (Int) -> Void = { _ in }) async throws {
        let router = Router()
        router.get("/metrics") { _, _ in exposition(metrics) }
        let application = Application(router: router, server: guarded(ConnectionCounter(limits: limits)),
                                      configuration: .init(address: .hostname(host, port: port)),
                                      onServerRunning: { channel in onRunning(channel.localAddress?.port ?? port) })
        try await (stop ?? GracefulStop()).run(application)
    }

    /// HTTP/1 with a listener's limits: a connection cap, and head, request and idle timeouts.
    static func guarded(_ counter: ConnectionCounter) -> HTTPServerBuilder {
        .http1(configuration: .init(additionalChannelHandlers: [ConnectionGuard(counter: counter)], idleTimeout: counter.limits.idleTimeout))
    }

    static func exposition(_ metrics: MetricsExporter) -> Response {
        Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                 body: .init(byteBuffer: ByteBuffer(string: metrics.exposition())))
    }

    /// Hummingbird's request context plus the connection, to name the caller in the audit trail.
    struct CallerContext: RequestContext {
        var coreContext: CoreRequestContextStorage
        let channel: any Channel

        init(source: ApplicationRequestContextSource) {
            coreContext = .init(source: source)
            channel = source.channel
        }

        /// The uid of the process at the other end of the Unix socket (SO_PEERCRED).
        func peerUID() async -> UInt32? {
            guard let provider = channel as? SocketOptionProvider else { return nil }
            let credentials: PeerCredentials? = try? await provider.unsafeGetSocketOption(level: .init(rawValue: SOL_SOCKET),
                                                                               name: .init(rawValue: SO_PEERCRED)).get()
            return credentials?.uid
        }

        /// The TCP peer's address, without the port (CloudTrail's sourceIPAddress).
        var peerAddress: String { channel.remoteAddress?.ipAddress ?? "unknown" }
    }

    /// Linux's `struct ucred` (Swift's Glibc module hides it behind _GNU_SOURCE).
    struct PeerCredentials {
        var pid: Int32
        var uid: UInt32
        var gid: UInt32
    }

    static func encode(_ value: some Encodable) -> Data {
        (try? ContractCoding.encode(value)) ?? Data("{}".utf8)
    }

    /// One NDJSON line.
    static func line(_ value: some Encodable) -> ByteBuffer {
        var data = encode(value)
        data.append(0x0A)
        return ByteBuffer(bytes: data)
    }

    /// True when something accepts connections on the Unix socket at `path`.
    static func isAnswering(_ path: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { bytes in
            for (index, byte) in path.utf8.prefix(bytes.count - 1).enumerated() { bytes[index] = byte }
        }
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        } == 0
    }
}
