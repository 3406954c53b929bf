import ControlContract
import Foundation
import Testing
@testable import ControlClient

/// The client against answers a broken (or hostile) server could send, over a real Unix socket:
/// each is an error that says what was wrong, never a crash, a hang or a read past the answer.
@Suite struct MalformedAnswerTests {
    func read(_ answer: String) throws -> UnixHTTPClient.Response {
        let server = try ScriptedServer([answer])
        return try UnixHTTPClient(socketPath: server.path, timeoutSeconds: 5).request("GET", "/v1/stats")
    }

    func lines(_ answer: String) async throws -> [String] {
        let server = try ScriptedServer([answer])
        var lines: [String] = []
        try await UnixHTTPClient(socketPath: server.path, timeoutSeconds: 5).streamLines("/v1/stream") { lines.append($0); return true }
        return lines
    }

    func error(_ body: () throws -> Any) -> String? {
        do {
            _ = try body()
            return nil
        } catch {
            return "\(error)"
        }
    }

    func error(_ body: () async throws -> Any) async -> String? {
        do {
            _ = try await body()
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test func wellFormedAnswersAreRead() async throws {
        let plain = try read("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Gwlb: yes\r\n\r\n{}")
        #expect(String(decoding: plain.body, as: UTF8.self) == "{}" && plain.headers["x-gwlb"] == "yes")
        #expect(try read("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;ext=1\r\n{}\r\n1\r\n \r\n0\r\n\r\n").body == Data("{} ".utf8))
        #expect(try await lines("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\na\nb\r\n2\r\n\nc\r\n0\r\n\r\n") == ["a", "b"])
    }

    @Test(arguments: [
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n{}\r\n0\r\n\r\n", "not valid HTTP"),   // empty size line
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\n{}\r\n0\r\n\r\n", "not valid HTTP"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n", "not valid HTTP"),
        ("HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n{}", "not valid HTTP"),
        ("HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n{}", "mid-answer"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n9\r\n{}", "mid-answer"),
        ("garbage\r\n\r\n", "not valid HTTP"),
        ("", "before answering"),
    ])
    func malformedAnswersAreErrors(answer: String, message: String) {
        let text = error { try read(answer) }
        #expect(text?.contains(message) == true, "\(text ?? "no error")")
    }

    /// 160 KB of header lines, then the end: an error, not an answer.
    @Test func aHeadCutOffIsAnError() {
        let text = error { try read("HTTP/1.1 200 OK\r\n" + String(repeating: "X-A: b\r\n", count: 20_000)) }
        #expect(text?.contains("mid-answer") == true, "\(text ?? "no error")")
    }

    @Test func theStreamRefusesMalformedChunksToo() async {
        let text = await error { try await lines("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n") }
        #expect(text?.contains("not valid HTTP") == true, "\(text ?? "no error")")
    }

    /// A stream refused says gwlbd's reason, from its JSON body.
    @Test func aRefusedStreamSaysWhy() async {
        let body = #"{"error":"no such load balancer"}"#
        let text = await error { try await lines("HTTP/1.1 404 Not Found\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)") }
        #expect(text == "no such load balancer")
    }

    @Test func anEndlessLineIsRefused() throws {
        var splitter = LineSplitter(limit: 8)
        #expect(try splitter.append(Array("12345678\nab".utf8)) == ["12345678"])
        #expect(try splitter.append(Array("cd\n".utf8)) == ["abcd"])
        #expect(throws: UnixHTTPClient.ConnectionError.self) { try splitter.append(Array("123456789".utf8)) }
    }

    /// A server that answers nothing within the timeout is said so, after about the timeout.
    @Test func aSilentServerTimesOut() throws {
        let listener = try SilentListener()
        let start = ContinuousClock.now
        let text = error { try UnixHTTPClient(socketPath: listener.path, timeoutSeconds: 1).request("GET", "/v1/stats") }
        #expect(text?.contains("did not answer in time") == true, "\(text ?? "no error")")
        #expect(ContinuousClock.now - start < .seconds(5))
    }

    @Test func noServerSaysWhatToDo() {
        let text = error { try UnixHTTPClient(socketPath: "/tmp/gwlb-nobody-\(getpid()).sock").request("GET", "/v1/stats") }
        #expect(text?.contains("is gwlbd running") == true, "\(text ?? "no error")")
    }
}

/// Accepts connections (the kernel's backlog does) and never answers.
final class SilentListener {
    let path = "/tmp/gwlb-silent-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).sock"
    private let listener: Int32

    init() throws {
        listener = try ScriptedServer.listen(at: path)
    }

    deinit {
        close(listener)
        unlink(path)
    }
}
