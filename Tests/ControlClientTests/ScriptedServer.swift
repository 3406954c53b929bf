import Foundation
import Synchronization

/// Serves `script` on a fresh socket, one entry per connection (nil: close without answering),
/// then closes the listener; returns the path and how many requests arrived.
final class ScriptedServer: Sendable {
    let path = "/tmp/gwlb-retry-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).sock"
    final class Counter: Sendable { let value = Atomic(0) }
    private let counter = Counter()
    var requests: Int { counter.value.load(ordering: .relaxed) }
    private let listener: Int32

    init(_ script: [String?]) throws {
        let listener = try Self.listen(at: path)
        self.listener = listener
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

    /// A listening Unix socket at `path`.
    static func listen(at path: String) throws -> Int32 {
        let listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0, Glibc.listen(listener, 8) == 0 else {
            close(listener)
            throw POSIXError(.EADDRINUSE)
        }
        return listener
    }
}
