import Foundation
import Lab
import Testing
@testable import Console
import TestTraits

/// The console's stream client against a real Unix socket: a small Python server plays gwlbd's
/// `/v1/stream` (hello, snapshot, a heartbeat every 0.2 s), is killed, and comes back with a new
/// boot id; the client shows "disconnected" in between and goes live again on its own.
@Suite(.blocking) struct StreamConnectionTests {
    final class FakeGwlbd {
        let process: ChildProcess

        init(socket: String, boot: String) throws {
            process = try ChildProcess(["python3", "-c", """
                import json, os, socketserver, sys, time
                path, boot = sys.argv[1], sys.argv[2]
                if os.path.exists(path): os.unlink(path)
                class Stream(socketserver.StreamRequestHandler):
                    def handle(self):
                        self.rfile.readline()
                        while self.rfile.readline() not in (b'\\r\\n', b''): pass
                        self.wfile.write(b'HTTP/1.1 200 OK\\r\\nContent-Type: application/x-ndjson\\r\\nConnection: close\\r\\n\\r\\n')
                        messages = [{'type': 'hello', 'seq': 1, 'bootId': boot, 'version': 'test', 'role': 'operator'},
                                    {'type': 'snapshot', 'seq': 2,
                                     'flows': {'active': 1, 'tcp': 1, 'udp': 0, 'capacity': 10, 'new': 1, 'expired': 0, 'rejected': 0},
                                     'targets': [{'id': '198.18.1.11', 'address': '198.18.1.11', 'port': 6081, 'zone': 'local',
                                                  'state': 'healthy', 'activeFlows': 1, 'newFlows': 1, 'packetsToTarget': 5,
                                                  'bytesToTarget': 500, 'packetsFromTarget': 5, 'bytesFromTarget': 500}]}]
                        seq = 2
                        while True:
                            for message in messages: self.wfile.write((json.dumps(message) + '\\n').encode())
                            self.wfile.flush()
                            seq += 1
                            messages = [{'type': 'heartbeat', 'seq': seq}]
                            time.sleep(0.2)
                class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer): daemon_threads = True
                Server(path, Stream).serve_forever()
                """, socket, boot])
        }

        func kill() {
            process.signal(SIGKILL)
            process.waitUntilExit()
        }
    }

    func eventually(_ seconds: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(50_000)
        }
        return condition()
    }

    @Test func reconnectsAfterARestartAndStartsFresh() throws {
        let socket = NSTemporaryDirectory() + "gwlb-stream-\(UUID().uuidString.prefix(8)).sock"
        defer { try? FileManager.default.removeItem(atPath: socket) }
        let connection = StreamConnection(socketPath: socket)
        connection.start(on: TestServers.executor)
        defer { connection.stop() }
        #expect(eventually(3) { if case .disconnected = connection.model.withLock({ $0.connection }) { true } else { false } },
                "nothing listens yet: disconnected, retrying")
        let first = try FakeGwlbd(socket: socket, boot: "first")
        #expect(eventually(10) { connection.model.withLock { $0.bootID == "first" && $0.connection == .live && $0.targets.count == 1 } })
        first.kill()
        #expect(eventually(5) { if case .disconnected = connection.model.withLock({ $0.connection }) { true } else { false } })
        #expect(connection.model.withLock { $0.targets.count } == 1, "the last data stays on screen")
        let second = try FakeGwlbd(socket: socket, boot: "second")
        defer { second.kill() }
        #expect(eventually(10) { connection.model.withLock { $0.bootID == "second" && $0.connection == .live } })
        #expect(connection.model.withLock { $0.lastSequence } >= 2)
    }
}
