import DataPlane
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import NIOSSL
import Resources
#if canImport(Glibc)
import Glibc
#endif

/// gwlbd's API on a Unix socket: `POST /` speaks the elbv2 Query protocol; under `/v1/` JSON for
/// observability: `stats` (counters), `drops` (recent drops), `flows` (which target flows are pinned
/// to) and `stream` (newline-delimited JSON, `EventStream`). The socket's mode (0660) is the access
/// control: no signatures here.
public enum APIServer {
    public static let defaultSocketPath = "/run/gwlb/gwlb.sock"
    static let executor = DedicatedExecutor(label: "gwlb.api")

    /// Why the server cannot start.
    public struct StartupError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Prepares `path`: creates its directory, refuses when another gwlbd answers on it, removes a
    /// stale socket file left by a crash.
    public static func claim(socketPath path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        guard FileManager.default.fileExists(atPath: path) else { return }
        if isAnswering(path) {
            throw StartupError(description: "another gwlbd is running on \(path): stop it first, or give this one --socket PATH")
        }
        try FileManager.default.removeItem(atPath: path)
    }

    /// Serves until the task is cancelled.
    public static func run(socketPath: String, actions: ELBActions, observatory: Observatory) async throws {
        let router = Router()
        router.post("/") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            let answer = actions.handle(String(buffer: body))
            return Response(status: .init(code: answer.status), headers: [.contentType: "text/xml"],
                            body: .init(byteBuffer: ByteBuffer(string: answer.body)))
        }
        router.get("/v1/stats") { _, _ in json(observatory.statisticsJSON()) }
        router.get("/v1/drops") { _, _ in
            let statistics = observatory.statistics()
            var counts: [String: UInt64] = [:]
            for reason in DropReason.allCases { counts[reason.name] = statistics.drops(reason) }
            return json(["counts": counts, "recent": observatory.recentDrops().reversed().map(StatisticsReport.json)])
        }
        router.get("/v1/flows") { request, _ -> Response in
            let parameters = Dictionary(request.uri.queryParameters.map { (String($0.key), String($0.value)) }) { _, last in last }
            // The workers answer between batches; wait for them off Swift's cooperative threads.
            let (body, ok): (Data, Bool) = await withCheckedContinuation { continuation in
                Thread.detachNewThread {
                    do { continuation.resume(returning: (encode(try observatory.flowsJSON(parameters)), true)) } catch {
                        continuation.resume(returning: (encode(["error": "\(error)"]), false))
                    }
                }
            }
            return Response(status: ok ? .ok : .badRequest, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: body)))
        }
        router.get("/v1/stream") { _, _ -> Response in
            let service = actions.service
            return Response(status: .ok, headers: [.contentType: "application/x-ndjson"], body: ResponseBody { writer in
                var stream = EventStream(service: service, observatory: observatory)
                // Whoever can connect to the socket can write to it (connect needs write permission).
                for message in stream.opening(role: "operator") { try await writer.write(line(message)) }
                while !Task.isCancelled {
                    try await Task.sleep(for: .seconds(1))
                    for message in stream.tick() { try await writer.write(line(message)) }
                }
                try await writer.finish(nil)
            })
        }
        let application = Application(router: router, configuration: .init(address: .unixDomainSocket(path: socketPath)),
                                      onServerRunning: { _ in chmod(socketPath, 0o660) })
        try await withTaskExecutorPreference(executor) {
            try await application.runService(gracefulShutdownSignals: [])
        }
    }

    /// The elbv2 Query API on TCP (`--api-listen`), every request signed with Signature Version 4
    /// by a key of `verifier`'s; unsigned or wrongly signed ones get AWS's error and change nothing.
    /// Only `POST /` (the Query protocol); the observability endpoints stay on the Unix socket.
    /// With `tls` (PEM certificate chain and private key files) it speaks HTTPS.
    public static func runTCP(host: String, port: Int, actions: ELBActions, verifier: SignatureV4Verifier,
                              tls: (certificate: String, key: String)? = nil,
                              onRunning: @escaping @Sendable (Int) -> Void = { _ in }) async throws {
        let router = Router()
        router.post("/") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            var headers = request.headers.map { ($0.name.canonicalName, $0.value) }
            if let authority = request.head.authority { headers.append(("host", authority)) }
            let signed = SignatureV4Verifier.Request(method: request.method.rawValue, path: request.uri.path, query: request.uri.query ?? "",
                                                     headers: headers, body: Data(buffer: body))
            let answer: ELBActions.Response
            do throws(ELBError) {
                try verifier.verify(signed)
                answer = actions.handle(String(buffer: body))
            } catch {
                let xml = QueryResponse.error(code: error.code.rawValue, message: error.message, requestID: UUID().uuidString.lowercased())
                answer = ELBActions.Response(status: error.code.httpStatus, body: xml)
            }
            return Response(status: .init(code: answer.status), headers: [.contentType: "text/xml"],
                            body: .init(byteBuffer: ByteBuffer(string: answer.body)))
        }
        var server = HTTPServerBuilder.http1()
        if let tls {
            let chain = try NIOSSLCertificate.fromPEMFile(tls.certificate).map { NIOSSLCertificateSource.certificate($0) }
            let key = try NIOSSLPrivateKey(file: tls.key, format: .pem)
            server = try .tls(.http1(), tlsConfiguration: .makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key)))
        }
        let application = Application(router: router, server: server, configuration: .init(address: .hostname(host, port: port)),
                                      onServerRunning: { channel in onRunning(channel.localAddress?.port ?? port) })
        try await withTaskExecutorPreference(executor) {
            try await application.runService(gracefulShutdownSignals: [])
        }
    }

    static func json(_ object: [String: Any]) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: encode(object))))
    }

    static func encode(_ object: [String: Any]) -> Data {
        (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
    }

    /// One NDJSON line.
    static func line(_ object: [String: Any]) -> ByteBuffer {
        var data = encode(object)
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
