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

    public static func run(_ kind: Kind, address: String, port: Int, timeout: Double) -> ProbeResult {
        if case .https(let path, let codes) = kind { return HTTPSProbe.run(address: address, port: port, path: path, codes: codes, timeout: timeout) }
        let deadline = Date().addingTimeInterval(timeout)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return .connectionFailed }
        defer { close(fd) }
        var target = sockaddr_in()
        target.sin_family = sa_family_t(AF_INET)
        target.sin_port = UInt16(port).bigEndian
        guard inet_pton(AF_INET, address, &target.sin_addr) == 1 else { return .connectionFailed }
        let started = withUnsafePointer(to: &target) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if started != 0 {
            guard errno == EINPROGRESS else { return .connectionFailed }
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
        guard sent > 0 else { return .connectionFailed }
        var response = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 1024)
        while !response.contains(10) {
            switch wait(fd, for: Int16(POLLIN), until: deadline) {
            case .timedOut: return .timeout
            case .failed: return .connectionFailed
            case .ready: break
            }
            let count = recv(fd, &buffer, buffer.count, 0)
            guard count > 0 else { return .connectionFailed }
            response += buffer[..<count]
        }
        // "HTTP/1.1 200 OK"
        let statusLine = String(decoding: response.prefix { $0 != 13 && $0 != 10 }, as: UTF8.self).split(separator: " ")
        guard statusLine.count >= 2, let code = Int(statusLine[1]) else { return .connectionFailed }
        return codes.contains(code) ? .success : .responseCodeMismatch(code)
    }

    enum Readiness { case ready, timedOut, failed }

    static func wait(_ fd: Int32, for events: Int16, until deadline: Date) -> Readiness {
        while true {
            let remaining = Int32(max(0, deadline.timeIntervalSinceNow * 1000))
            var descriptor = pollfd(fd: fd, events: events, revents: 0)
            let result = poll(&descriptor, 1, remaining)
            if result > 0 { return descriptor.revents & Int16(POLLERR | POLLNVAL) != 0 ? .failed : .ready }
            if result == 0 { return .timedOut }
            if errno != EINTR { return .failed }
        }
    }
}
