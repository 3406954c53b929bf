import CGWLBLinux
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One connection between a running gwlbd and the one taking over from it: a Unix
/// `SOCK_SEQPACKET` socket, so each message (a JSON document) arrives whole, with the descriptors
/// sent beside it (`SCM_RIGHTS`: the receiver gets its own descriptors of the same open devices
/// and sockets, so a packet queued in them is read by whichever process reads next).
final class TakeoverChannel {
    let descriptor: Int32
    /// Most descriptors beside one message (the kernel's limit is 253).
    static let descriptorsPerMessage = 250
    static let maximumMessage = 1 << 16

    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    init(descriptor: Int32) { self.descriptor = descriptor }

    deinit { _ = close(descriptor) }

    /// Connects to the running gwlbd's takeover socket at `path`.
    static func connect(path: String) throws -> TakeoverChannel {
        let fd = socket(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Failure("socket: \(String(cString: strerror(errno)))") }
        let channel = TakeoverChannel(descriptor: fd)
        var address = try socketAddress(path)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else {
            throw Failure("no gwlbd to take over from on \(path): \(String(cString: strerror(errno))) (is one running with the same --socket?)")
        }
        return channel
    }

    /// A listening socket at `path` (a stale file there is replaced), mode 0600: only root may take over.
    static func listen(path: String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Failure("socket: \(String(cString: strerror(errno)))") }
        unlink(path)
        var address = try socketAddress(path)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0, chmod(path, 0o600) == 0, Glibc.listen(fd, 1) == 0 else {
            let reason = String(cString: strerror(errno))
            _ = close(fd)
            throw Failure("cannot listen for takeovers on \(path): \(reason)")
        }
        return fd
    }

    static func socketAddress(_ path: String) throws -> sockaddr_un {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { throw Failure("socket path too long: \(path)") }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in raw.copyBytes(from: bytes) }
        return address
    }

    /// Sends `message` as JSON with `descriptors` beside it (several messages when there are many:
    /// the rest follow as empty documents, `{}`, each with its share).
    func send<Message: Encodable>(_ message: Message, descriptors: [Int32] = []) throws {
        var chunks = stride(from: 0, to: descriptors.count, by: Self.descriptorsPerMessage).map {
            Array(descriptors[$0..<min($0 + Self.descriptorsPerMessage, descriptors.count)])
        }
        if chunks.isEmpty { chunks = [[]] }
        for (index, chunk) in chunks.enumerated() {
            let body = index == 0 ? try JSONEncoder().encode(message) : Data("{}".utf8)
            let sent = body.withUnsafeBytes { bytes in
                chunk.withUnsafeBufferPointer { gwlb_send_descriptors(descriptor, bytes.baseAddress, UInt(bytes.count), $0.baseAddress, Int32($0.count)) }
            }
            guard sent == body.count else { throw Failure("the other gwlbd went away (send: \(String(cString: strerror(errno))))") }
        }
    }

    /// Receives one message, and as many descriptors as `descriptorCount` says it comes with
    /// (beside it and in the messages that carry the rest); waits at most `seconds` for each part.
    func receive<Message: Decodable>(_ type: Message.Type, descriptorCount: (Message) -> Int = { _ in 0 },
                                     seconds: Int32) throws -> (Message, [Int32]) {
        var descriptors: [Int32] = []
        do {
            let (first, firstDescriptors) = try receiveOne(seconds: seconds)
            descriptors = firstDescriptors
            let message = try JSONDecoder().decode(type, from: first)
            let expected = descriptorCount(message)
            while descriptors.count < expected { descriptors += try receiveOne(seconds: seconds).descriptors }
            return (message, descriptors)
        } catch {
            descriptors.forEach { _ = close($0) }
            throw error
        }
    }

    private func receiveOne(seconds: Int32) throws -> (body: Data, descriptors: [Int32]) {
        var ready = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        guard poll(&ready, 1, seconds * 1000) == 1 else { throw Failure("the other gwlbd did not answer within \(seconds) s") }
        var buffer = [UInt8](repeating: 0, count: Self.maximumMessage)
        var descriptors = [Int32](repeating: -1, count: Self.descriptorsPerMessage)
        var received: Int32 = 0
        let count = buffer.withUnsafeMutableBytes { bytes in
            descriptors.withUnsafeMutableBufferPointer {
                gwlb_receive_descriptors(descriptor, bytes.baseAddress, UInt(bytes.count), $0.baseAddress, Int32($0.count), &received)
            }
        }
        let taken = Array(descriptors.prefix(Int(received)))
        guard count > 0 else {
            taken.forEach { _ = close($0) }
            throw Failure(count == 0 ? "the other gwlbd closed the connection" : "receive: \(String(cString: strerror(errno)))")
        }
        return (Data(buffer[..<count]), taken)
    }
}
