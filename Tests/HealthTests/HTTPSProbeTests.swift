import Foundation
import Lab
import Testing
@testable import Health
import TestTraits

/// A real TLS server on loopback (Python's http.server wrapped in ssl, with a self-signed
/// certificate made by openssl): GET /ok answers 200, anything else 503.
final class TLSTestServer {
    let port: Int
    private let process: ChildProcess
    private let directory = NSTemporaryDirectory() + "gwlb-tls-\(UUID().uuidString.prefix(8))"

    init() throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let (certificate, key) = (directory + "/cert.pem", directory + "/key.pem")
        let openssl = try ChildProcess(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=appliance", "-days", "1",
                                        "-keyout", key, "-out", certificate])
        guard openssl.waitUntilExit() == 0 else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSLocalizedDescriptionKey: "openssl could not make a certificate (apt-get install openssl)"])
        }
        process = try ChildProcess(["python3", "-c", """
            import http.server, ssl, time
            class Handler(http.server.BaseHTTPRequestHandler):
                def do_GET(self):
                    if self.path == '/huge':
                        # A 4 GiB body, trickled: a probe that waited for it would time out.
                        self.send_response(200); self.send_header('Content-Length', str(4 << 30)); self.end_headers()
                        try:
                            while True: self.wfile.write(b'x' * 65536); time.sleep(0.01)
                        except Exception: return
                    self.send_response(200 if self.path == '/ok' else 503)
                    self.send_header('Content-Length', '0'); self.end_headers()
                def log_message(self, *arguments): pass
            server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); context.load_cert_chain('\(certificate)', '\(key)')
            server.socket = context.wrap_socket(server.socket, server_side=True)
            print(server.server_address[1], flush=True)
            server.serve_forever()
            """], output: .pipe)
        let line = String(decoding: process.standardOutput!.availableData, as: UTF8.self)
        guard let port = Int(line.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            process.signal(SIGKILL)
            process.waitUntilExit()
            throw CocoaError(.fileNoSuchFile, userInfo: [NSLocalizedDescriptionKey: "the TLS test server did not start: \(line)"])
        }
        self.port = port
    }

    deinit {
        // SIGKILL: the test process's threads may block SIGTERM, and a child inherits that mask.
        process.signal(SIGKILL)
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: directory)
    }
}

@Suite(.blocking) struct HTTPSProbeTests {
    @Test func httpsProbeSpeaksTLSAndMatchesTheStatus() async throws {
        let server = try TLSTestServer()
        let codes = Set(200...399)
        #expect(await Probe.run(.https(path: "/ok", codes: codes), address: "127.0.0.1", port: server.port, timeout: 2) == .success)
        #expect(await Probe.run(.https(path: "/failing", codes: codes), address: "127.0.0.1", port: server.port, timeout: 2) == .responseCodeMismatch(503))
        // The status is judged from the answer's head; its body is never read into memory.
        #expect(await Probe.run(.https(path: "/huge", codes: codes), address: "127.0.0.1", port: server.port, timeout: 2) == .success)
        // Plain HTTP where TLS is expected, and a server that never answers.
        let plain = try TestServer()
        defer { plain.close() }
        #expect(await Probe.run(.https(path: "/", codes: codes), address: "127.0.0.1", port: plain.port, timeout: 2) == .connectionFailed)
        let silent = try TestServer(.silent)
        defer { silent.close() }
        #expect(await Probe.run(.https(path: "/", codes: codes), address: "127.0.0.1", port: silent.port, timeout: 0.5) == .timeout)
    }
}
