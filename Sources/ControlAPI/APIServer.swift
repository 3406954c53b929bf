import Foundation
import Hummingbird
#if canImport(Glibc)
import Glibc
#endif

/// gwlbd's API on a Unix socket: `POST /` speaks the elbv2 Query protocol, `GET /v1/stats` gives the
/// data plane's counters as JSON. The socket's mode (0660) is the access control: no signatures here.
public enum APIServer {
    public static let defaultSocketPath = "/run/gwlb/gwlb.sock"

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

    /// Serves until the task is cancelled. `statistics` is asked for each GET /v1/stats.
    public static func run(socketPath: String, actions: ELBActions,
                           statistics: @escaping @Sendable () -> [String: Any]) async throws {
        let router = Router()
        router.post("/") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            let answer = actions.handle(String(buffer: body))
            return Response(status: .init(code: answer.status), headers: [.contentType: "text/xml"],
                            body: .init(byteBuffer: ByteBuffer(string: answer.body)))
        }
        router.get("/v1/stats") { _, _ -> Response in
            let data = (try? JSONSerialization.data(withJSONObject: statistics(), options: [.sortedKeys])) ?? Data("{}".utf8)
            return Response(status: .ok, headers: [.contentType: "application/json"],
                            body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
        let application = Application(router: router, configuration: .init(address: .unixDomainSocket(path: socketPath)),
                                      onServerRunning: { _ in chmod(socketPath, 0o660) })
        try await application.runService(gracefulShutdownSignals: [])
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
