import ControlAPI
@testable import DataPlane
import Foundation
import Synchronization
import Testing
import Wire

/// A `/v1/capture` client that stops reading must not hold the capture past its deadline: the
/// next capture can start a few seconds after the stalled one's duration.
@Suite struct CaptureDeadlineTests {
    /// A data plane stand-in with one capture slot by session whose captures never run dry: 8 KiB
    /// packets, many at a time, so a client that does not read fills its socket at once.
    final class EndlessCapture: Sendable {
        let current = Mutex<UInt64?>(nil)
        let last = Mutex<UInt64>(0)

        func install(into observatory: inout Observatory) {
            observatory.startCapture = { _ in
                self.current.withLock { current in
                    guard current == nil else { return nil }
                    let session = self.last.withLock { last in last += 1; return last }
                    current = session
                    return session
                }
            }
            observatory.stopCapture = { session in self.current.withLock { if $0 == session { $0 = nil } } }
            observatory.takeCaptured = { session in
                guard self.current.withLock({ $0 }) == session else { return ([], 0) }
                let packet = CapturedPacket(time: 1, event: .dropped(.oversize, nil), endpoint: 0, appliance: nil, isGeneveDatagram: false,
                                            originalLength: 8192, bytes: Array(repeating: 0x45, count: 8192))
                return (Array(repeating: packet, count: 64), 0)
            }
        }
    }

    @Test func aStalledClientDoesNotHoldTheCapture() async throws {
        var observatory = APIServerFixture.quietObservatory()
        let capture = EndlessCapture()
        capture.install(into: &observatory)
        let api = try await APIServerFixture(observatory: observatory)
        let script = """
            import socket, time
            def ask(path):
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect('\(api.socketPath)')
                s.sendall(('GET ' + path + ' HTTP/1.1\\r\\nHost: gwlb\\r\\n\\r\\n').encode())
                return s
            stalled = ask('/v1/capture?drops=1&duration=1&count=1000000')
            time.sleep(0.5)   # it reads nothing from here on
            busy = ask('/v1/capture?drops=1&duration=1&count=1')
            print(busy.recv(64).split(b'\\r\\n')[0].decode())
            # Its deadline is 1 s; the slot must come free soon after (3 s here, more on a loaded machine).
            deadline = time.time() + 30
            status = ''
            while time.time() < deadline:
                later = ask('/v1/capture?drops=1&duration=1&count=1')
                status = later.recv(64).split(b'\\r\\n')[0].decode()
                later.close()
                if status.endswith('200 OK'): break
                time.sleep(0.5)
            print(status)
            """
        let result = await AWSClientTests.run(["python3", "-c", script])
        #expect(result.output == "HTTP/1.1 409 Conflict\nHTTP/1.1 200 OK\n", "\(result.output) \(result.errors)")
    }
}
