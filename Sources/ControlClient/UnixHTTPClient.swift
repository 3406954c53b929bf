import ControlContract
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// HTTP/1.1 to gwlbd's Unix socket, blocking: one request per connection (`Connection: close`),
/// which is all a CLI call or the console's stream needs. No library speaks HTTP over AF_UNIX
/// without an event loop, and this is small.
public struct UnixHTTPClient: Sendable {
    public let socketPath: String
    /// Seconds a read may wait; the stream reader sets its own.
    public var timeoutSeconds: Int
    /// Names the program in gwlbd's audit trail.
    public var userAgent = "gwlb-cli"

    /// A stream line longer than this is an error (gwlbd's are a few KiB).
    public static let maximumLineLength = 16 << 20

    public init(socketPath: String, timeoutSeconds: Int = 30) {
        self.socketPath = socketPath
        self.timeoutSeconds = timeoutSeconds
    }

    public struct Response: Sendable {
        public let status: Int
        public let headers: [String: String]
        public let body: Data
    }

    /// Why a request did not get an answer, said so an operator knows what to do.
    public struct ConnectionError: Error, CustomStringConvertible {
        public let description: String
        /// The request got no answer at all: gwlbd closed the connection before a byte of one. A
        /// gwlbd handing over to its successor does that to connections it accepted but will not
        /// serve, having acted on nothing; one that crashed may have acted. Either way the request
        /// can be sent again: elbv2's calls are idempotent, which is why botocore retries them too.
        public var unanswered: Bool
        public init(description: String, unanswered: Bool = false) {
            self.description = description
            self.unanswered = unanswered
        }
    }

    public func request(_ method: String, _ path: String, body: Data = Data(), contentType: String? = nil) throws -> Response {
        try request(over: Connection(socketPath: socketPath, timeoutSeconds: timeoutSeconds), method, path, body: body, contentType: contentType)
    }

    /// `request` over a descriptor already connected (the fuzzer's end of a socket pair), which
    /// this call closes.
    package func request(descriptor: Int32, _ method: String, _ path: String) throws -> Response {
        try request(over: Connection(descriptor: descriptor, label: socketPath), method, path, body: Data(), contentType: nil)
    }

    private func request(over connection: Connection, _ method: String, _ path: String, body: Data, contentType: String?) throws -> Response {
        do {
            try connection.send(method: method, path: path, body: body, contentType: contentType, userAgent: userAgent)
        } catch {
            // The server may refuse a request before reading all of it (413 for a body too large)
            // and stop reading: its answer, if it sent one, says why.
            guard let head = try? connection.readHead() else { throw error }
            return Response(status: head.status, headers: head.headers, body: Data())
        }
        let head = try connection.readHead()
        do {
            let body: Data
            if head.headers["transfer-encoding"]?.lowercased() == "chunked" {
                var collected = Data()
                while let chunk = try connection.readChunk() { collected.append(chunk) }
                body = collected
            } else if let text = head.headers["content-length"] {
                guard let length = Int(text), length >= 0, text.allSatisfy(\.isASCII) else {
                    throw UnixHTTPClient.ConnectionError(description: "bad Content-Length '\(text.prefix(40))'")
                }
                body = try connection.read(exactly: length)
            } else {
                body = try connection.readToEnd()
            }
            return Response(status: head.status, headers: head.headers, body: body)
        } catch var error as UnixHTTPClient.ConnectionError {
            // Cut off mid-answer: gwlbd may have acted on the request.
            error.unanswered = false
            throw error
        }
    }

    /// Opens a streaming GET and calls `line` for each newline-terminated line of the body until
    /// it returns false or the server closes. A read waits at most `timeoutSeconds`.
    public func streamLines(_ path: String, line: (String) -> Bool) throws {
        try streamLines(over: Connection(socketPath: socketPath, timeoutSeconds: timeoutSeconds), path, line: line)
    }

    /// `streamLines` over a descriptor already connected, which this call closes.
    package func streamLines(descriptor: Int32, _ path: String, line: (String) -> Bool) throws {
        try streamLines(over: Connection(descriptor: descriptor, label: socketPath), path, line: line)
    }

    private func streamLines(over connection: Connection, _ path: String, line: (String) -> Bool) throws {
        try connection.send(method: "GET", path: path, body: Data(), contentType: nil, userAgent: userAgent)
        let head = try connection.readHead()
        let chunked = head.headers["transfer-encoding"]?.lowercased() == "chunked"
        guard head.status == 200 else {
            // gwlbd says why in a JSON body: {"error": "…"}.
            var body = Data()
            while body.count < 65_536, let piece = chunked ? try connection.readChunk() : try connection.readSome() { body.append(piece) }
            let answer = try? ContractCoding.decode(ErrorAnswer.self, from: body)
            throw ConnectionError(description: answer?.error ?? "GET \(path) answered HTTP \(head.status)")
        }
        var pending = Data()
        while true {
            let piece = chunked ? try connection.readChunk() : try connection.readSome()
            guard let piece else { return }
            pending.append(piece)
            guard pending.count <= UnixHTTPClient.maximumLineLength || pending.contains(0x0A) else {
                throw ConnectionError(description: "a line of \(path) is longer than \(UnixHTTPClient.maximumLineLength) bytes")
            }
            while let newline = pending.firstIndex(of: 0x0A) {
                let text = String(decoding: pending[pending.startIndex..<newline], as: UTF8.self)
                pending.removeSubrange(pending.startIndex...newline)
                if !line(text) { return }
            }
        }
    }
}

/// One connection: a socket and what was read but not yet used.
private final class Connection {
    let descriptor: Int32
    var buffer = Data()
    let socketPath: String

    init(descriptor: Int32, label: String) {
        self.descriptor = descriptor
        socketPath = label
    }

    init(socketPath: String, timeoutSeconds: Int) throws {
        self.socketPath = socketPath
        descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw UnixHTTPClient.ConnectionError(description: "socket: \(String(cString: strerror(errno)))") }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        // On a throw below, `deinit` runs (every stored property is set) and closes the socket:
        // closing it here as well closed the number a second time, whatever another thread had
        // opened under it meanwhile (a full test run saw SwiftNIO's new socket fail with EBADF).
        guard socketPath.utf8.count < capacity else {
            throw UnixHTTPClient.ConnectionError(description: "socket path \(socketPath) is longer than \(capacity - 1) bytes")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { bytes in
            for (index, byte) in socketPath.utf8.enumerated() { bytes[index] = byte }
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else {
            let reason = errno
            let advice = switch reason {
            case ENOENT, ECONNREFUSED: "is gwlbd running with --state-dir? (or give --socket PATH)"
            case EACCES: "the socket is mode 0660: run as root or as a member of its group"
            default: ""
            }
            throw UnixHTTPClient.ConnectionError(description: "cannot connect to \(socketPath): \(String(cString: strerror(reason))); \(advice)")
        }
    }

    deinit { if descriptor >= 0 { close(descriptor) } }

    func send(method: String, path: String, body: Data, contentType: String?, userAgent: String) throws {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: gwlbd\r\nConnection: close\r\nUser-Agent: \(userAgent)\r\n"
        if let contentType { head += "Content-Type: \(contentType)\r\n" }
        head += "Content-Length: \(body.count)\r\n\r\n"
        var message = Data(head.utf8)
        message.append(body)
        try message.withUnsafeBytes { bytes in
            var sent = 0
            while sent < bytes.count {
                let count = Glibc.send(descriptor, bytes.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL))
                guard count > 0 else { throw failure("send") }
                sent += count
            }
        }
    }

    func readHead() throws -> (status: Int, headers: [String: String]) {
        let terminator = Data("\r\n\r\n".utf8)
        while buffer.range(of: terminator) == nil {
            guard buffer.count <= 65_536 else { throw UnixHTTPClient.ConnectionError(description: "gwlbd's answer has a head longer than 64 KiB") }
            guard let more = try receive() else {
                throw UnixHTTPClient.ConnectionError(description: "gwlbd closed the connection before answering", unanswered: buffer.isEmpty)
            }
            buffer.append(more)
        }
        let end = buffer.range(of: terminator)!
        let lines = String(decoding: buffer[buffer.startIndex..<end.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
        buffer.removeSubrange(buffer.startIndex..<end.upperBound)
        let statusParts = lines[0].split(separator: " ")
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else {
            throw UnixHTTPClient.ConnectionError(description: "not an HTTP answer: \(lines[0])")
        }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return (status, headers)
    }

    /// The next chunk of a chunked body; nil after the last.
    func readChunk() throws -> Data? {
        let sizeLine = try readLine()
        // 1 to 7 hex digits (a chunk under 256 MiB), an optional extension after ';'.
        let digits = sizeLine.prefix { $0 != ";" }.trimmingCharacters(in: .whitespaces)
        guard (1...7).contains(digits.count), digits.allSatisfy(\.isHexDigit), let size = Int(digits, radix: 16) else {
            throw UnixHTTPClient.ConnectionError(description: "bad chunk size '\(sizeLine.prefix(40))'")
        }
        if size == 0 { return nil }
        let chunk = try read(exactly: size)
        _ = try readLine()
        return chunk
    }

    func readLine() throws -> String {
        while buffer.firstIndex(of: 0x0A) == nil {
            guard let more = try receive() else { throw UnixHTTPClient.ConnectionError(description: "gwlbd closed the connection mid-answer") }
            buffer.append(more)
        }
        let newline = buffer.firstIndex(of: 0x0A)!
        let line = String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self)
        buffer.removeSubrange(buffer.startIndex...newline)
        return line.hasSuffix("\r") ? String(line.dropLast()) : line
    }

    func read(exactly count: Int) throws -> Data {
        while buffer.count < count {
            guard let more = try receive() else { throw UnixHTTPClient.ConnectionError(description: "gwlbd closed the connection mid-answer") }
            buffer.append(more)
        }
        let result = buffer.prefix(count)
        buffer.removeFirst(count)
        return Data(result)
    }

    func readToEnd() throws -> Data {
        while let more = try receive() { buffer.append(more) }
        defer { buffer.removeAll() }
        return buffer
    }

    /// What was buffered, else the next read from the socket; nil at end of stream.
    func readSome() throws -> Data? {
        if !buffer.isEmpty {
            defer { buffer.removeAll() }
            return buffer
        }
        return try receive()
    }

    /// The next read from the socket; nil at end of stream.
    private func receive() throws -> Data? {
        var bytes = [UInt8](repeating: 0, count: 65536)
        let count = recv(descriptor, &bytes, bytes.count, 0)
        if count < 0 {
            if errno == EAGAIN || errno == EWOULDBLOCK { throw UnixHTTPClient.ConnectionError(description: "gwlbd did not answer in time (\(socketPath))") }
            throw failure("recv")
        }
        return count == 0 ? nil : Data(bytes[0..<count])
    }

    private func failure(_ call: String) -> UnixHTTPClient.ConnectionError {
        let reason = errno
        // A reset before any answer came: see `unanswered` (a reset mid-answer is cleared by the caller).
        return UnixHTTPClient.ConnectionError(description: "\(call) on \(socketPath): \(String(cString: strerror(reason)))",
                                              unanswered: buffer.isEmpty && (reason == ECONNRESET || reason == EPIPE))
    }
}
