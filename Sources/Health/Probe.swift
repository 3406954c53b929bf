import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One health check against a target: a TCP connection, or an HTTP or HTTPS GET whose status must
/// match. Blocking, with its own timeout; run off the data-plane threads.
public enum Probe {
    public enum Kind: Sendable, Hashable {
        case tcp
        /// Path and the accepted status codes.
        case http(path: String, codes: Set<Int>)
        /// As HTTP, over TLS. Like AWS, the target's certificate is not verified: appliances use
        /// self-signed ones, and the check is about liveness, not identity.
        case https(path: String, codes: Set<Int>)
    }

    /// The longest status line read: an answer without a line end by then is not HTTP.
    public static let maximumStatusLine = 1024

    /// Failures of this machine's, not the target's: out of descriptors, buffers, memory or ports.
    static func isLocal(_ code: Int32) -> Bool {
        [EMFILE, ENFILE, ENOBUFS, ENOMEM, EADDRNOTAVAIL].contains(code)
    }

    public static func run(_ kind: Kind, address: String, port: Int, timeout: Double) -> ProbeResult {
        if case .https(let path, let codes) = kind { return HTTPSProbe.run(address: address, port: port, path: path, codes: codes, timeout: timeout) }
        let deadline = ContinuousClock.now + .milliseconds(Int64(timeout * 1000))
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return .localError(errno) }
        defer { close(fd) }
        var target = sockaddr_in()
        target.sin_family = sa_family_t(AF_INET)
        target.sin_port = UInt16(port).bigEndian
        guard inet_pton(AF_INET, address, &target.sin_addr) == 1 else { return .connectionFailed }
        let started = withUnsafePointer(to: &target) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if started != 0 {
            guard errno == EINPROGRESS else { return isLocal(errno) ? .localError(errno) : .connectionFailed }
            switch wait(fd, for: Int16(POLLOUT), until: deadline) {
            case .timedOut: return .timeout
            case .failed: return .connectionFailed
            case .ready: break
            }
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
            guard error == 0 else { return .connectionFailed }
        }
        guard case .http(let path, let codes) = kind else { return .success }
        let request = "GET \(path) HTTP/1.1\r\nHost: \(address):\(port)\r\nUser-Agent: gwlb-health-checker\r\nConnection: close\r\n\r\n"
        let sent = request.utf8CString.withUnsafeBufferPointer { send(fd, $0.baseAddress, $0.count - 1, Int32(MSG_NOSIGNAL)) }
        // A responder that answered and closed at once may have reset the connection before the
        // request went out: what it answered is still to be read.
        if sent <= 0, isLocal(errno) { return .localError(errno) }
        return readStatus(fd, codes: codes, until: deadline)
    }

    /// Reads up to the end of the status line (at most `maximumStatusLine` bytes, each looked at
    /// once) and judges its code. What arrived is read before an error or the end of the
    /// connection is: an appliance that writes its answer and resets is healthy if the answer is.
    static func readStatus(_ fd: Int32, codes: Set<Int>, until deadline: ContinuousClock.Instant) -> ProbeResult {
        var line = [UInt8](repeating: 0, count: maximumStatusLine)
        var count = 0
        var ended = false
        while count < line.count {
            switch wait(fd, for: Int16(POLLIN), until: deadline) {
            case .timedOut: return .timeout
            case .failed, .ready: break
            }
            let received = line.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + count, $0.count - count, Int32(MSG_DONTWAIT)) }
            if received < 0, errno == EAGAIN || errno == EINTR {
                guard ContinuousClock.now < deadline else { return .timeout }
                continue
            }
            guard received > 0 else { break }
            let end = line[count..<(count + received)].firstIndex(of: 10)
            count += received
            if let end {
                count = end
                ended = true
                break
            }
        }
        // "HTTP/1.1 200 OK": a line cut by the end of the connection still says its code.
        guard ended || count > 0, count < line.count || ended else { return .connectionFailed }
        let statusLine = String(decoding: line[..<count].prefix { $0 != 13 && $0 != 10 }, as: UTF8.self).split(separator: " ")
        guard statusLine.count >= 2, statusLine[0].hasPrefix("HTTP/"), let code = Int(statusLine[1]) else { return .connectionFailed }
        return codes.contains(code) ? .success : .responseCodeMismatch(code)
    }

    enum Readiness { case ready, timedOut, failed }

    static func wait(_ fd: Int32, for events: Int16, until deadline: ContinuousClock.Instant) -> Readiness {
        while true {
            let left = deadline - ContinuousClock.now
            let remaining = Int32(max(0, left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000))
            var descriptor = pollfd(fd: fd, events: events, revents: 0)
            let result = poll(&descriptor, 1, remaining)
            // Readable data counts first: an error or hang-up after it is seen once it is read.
            if result > 0 {
                let readable = descriptor.revents & events != 0
                return readable || descriptor.revents & Int16(POLLERR | POLLNVAL | POLLHUP) == 0 ? .ready : .failed
            }
            if result == 0 { return .timedOut }
            if errno != EINTR { return .failed }
        }
    }
}
