import Foundation
import Synchronization
import Testing
@testable import ControlClient

/// A stream's reader that stops reading holds back the server: the client stops asking for the
/// body once `LineFeed.capacity` lines wait, so the server's writes block in the kernel instead of
/// the client buffering all it can send. Judged by what the server managed to write.
@Suite struct StreamBackPressureTests {
    @Test func aSlowReaderHoldsBackTheServer() async throws {
        let path = "/tmp/gwlb-pressure-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).sock"
        let listener = try ScriptedServer.listen(at: path)
        defer {
            shutdown(listener, Int32(SHUT_RDWR))
            unlink(path)
        }
        let written = Atomic<Int>(0)
        let limit = 64 << 20
        Thread {
            defer { close(listener) }
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else { return }
            defer { close(connection) }
            var request = [UInt8](repeating: 0, count: 65_536)
            _ = read(connection, &request, request.count)
            let head = Array("HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nConnection: close\r\n\r\n".utf8)
            _ = send(connection, head, head.count, Int32(MSG_NOSIGNAL))
            // 64 KiB of 100-byte lines at a time, until the client goes away or 64 MiB went.
            let block = [UInt8](Array(String(repeating: String(repeating: "x", count: 99) + "\n", count: 655).utf8))
            while written.load(ordering: .relaxed) < limit {
                let count = send(connection, block, block.count, Int32(MSG_NOSIGNAL))
                guard count > 0 else { return }
                written.add(count, ordering: .relaxed)
            }
        }.start()
        var during = 0
        try await UnixHTTPClient(socketPath: path, timeoutSeconds: 10).streamLines("/v1/stream") { _ in
            // The reader dawdles over its first line: 2 s in which the server writes all it can.
            try await Task.sleep(for: .seconds(2))
            during = written.load(ordering: .relaxed)
            return false
        }
        // Held back: the kernel's socket buffers, 1,024 waiting lines and one read (about 0.5 MiB here).
        #expect(during > 0 && during < 3 << 19, "the server wrote \(during) bytes while the reader took one line")
    }
}
