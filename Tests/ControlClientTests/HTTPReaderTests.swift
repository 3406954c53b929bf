import Foundation
import Testing
@testable import ControlClient

/// The client's HTTP reader against answers a broken (or hostile) server could send: each is an
/// error that says what was wrong, never a crash or a read past the answer. Found by `.ci/fuzz stream`.
@Suite struct HTTPReaderTests {
    /// Writes `answer` into one end of a socket pair, shuts it, and reads it at the other.
    func read(_ answer: String, stream: Bool = false) throws -> (status: Int, body: String, lines: [String]) {
        var pair: [Int32] = [0, 0]
        #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair) == 0)
        defer { close(pair[0]) }
        let bytes = Array(answer.utf8)
        #expect(write(pair[0], bytes, bytes.count) == bytes.count)
        shutdown(pair[0], Int32(SHUT_WR))
        let client = UnixHTTPClient(socketPath: "test")
        if stream {
            var lines: [String] = []
            try client.streamLines(descriptor: pair[1], "/v1/stream") { lines.append($0); return true }
            return (200, "", lines)
        }
        let response = try client.request(descriptor: pair[1], "GET", "/v1/stats")
        return (response.status, String(decoding: response.body, as: UTF8.self), [])
    }

    func error(_ answer: String, stream: Bool = false) -> String? {
        do {
            _ = try read(answer, stream: stream)
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test func wellFormedAnswersAreRead() throws {
        #expect(try read("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}").body == "{}")
        #expect(try read("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;ext=1\r\n{}\r\n1\r\n \r\n0\r\n\r\n").body == "{} ")
        #expect(try read("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\na\nb\r\n2\r\n\nc\r\n0\r\n\r\n", stream: true).lines == ["a", "b"])
    }

    @Test(arguments: [
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n{}\r\n0\r\n\r\n", "bad chunk size"),   // empty size line
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\n{}\r\n0\r\n\r\n", "bad chunk size"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n+2\r\n{}\r\n0\r\n\r\n", "bad chunk size"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1000000000\r\n{}\r\n", "bad chunk size"),
        ("HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n{}", "bad Content-Length"),
        ("HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n{}", "closed the connection mid-answer"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n9\r\n{}", "closed the connection mid-answer"),
        ("\r\n\r\n", "not an HTTP answer"),
        ("garbage", "closed the connection before answering"),
    ])
    func malformedAnswersAreErrors(answer: String, message: String) {
        let text = error(answer)
        #expect(text?.contains(message) == true, "\(text ?? "no error")")
    }

    @Test func theStreamRefusesMalformedChunksToo() {
        let text = error("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n", stream: true)
        #expect(text?.contains("bad chunk size") == true, "\(text ?? "no error")")
    }
}

extension HTTPReaderTests {
    @Test func aHeadThatNeverEndsIsRefused() {
        let text = error("HTTP/1.1 200 OK\r\n" + String(repeating: "X-A: b\r\n", count: 10_000))
        #expect(text?.contains("longer than 64 KiB") == true, "\(text ?? "no error")")
    }
}
