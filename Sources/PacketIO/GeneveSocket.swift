import CGWLBLinux
import Wire
#if canImport(Glibc)
import Glibc
#endif

/// A non-blocking UDP socket for GENEVE, read and written a batch per system call
/// (recvmmsg/sendmmsg). Several may share one port (SO_REUSEPORT), one per worker.
public final class GeneveSocket {
    public let descriptor: Int32
    public let local: UDPPeer
    private let capacity: Int
    private let messages: UnsafeMutablePointer<gwlb_mmsghdr>
    private let vectors: UnsafeMutablePointer<iovec>
    private let addresses: UnsafeMutablePointer<sockaddr_in>

    /// Binds `local`; `batchCapacity` is the largest batch `receive`/`send` will handle.
    public init(bind local: UDPPeer, reusePort: Bool = true, batchCapacity: Int = 64) throws(PacketIOError) {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw PacketIOError.system("socket", "UDP") }
        var one: Int32 = 1
        var bufferSize: Int32 = 8 << 20
        if reusePort { setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, socklen_t(MemoryLayout<Int32>.size)) }
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufferSize, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bufferSize, socklen_t(MemoryLayout<Int32>.size))
        var address = Self.socketAddress(local)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else {
            let error = PacketIOError.system("bind", "UDP \(local)")
            _ = close(fd)
            throw error
        }
        descriptor = fd
        self.local = local
        capacity = batchCapacity
        messages = .allocate(capacity: batchCapacity)
        vectors = .allocate(capacity: batchCapacity)
        addresses = .allocate(capacity: batchCapacity)
        messages.initialize(repeating: gwlb_mmsghdr(), count: batchCapacity)
        vectors.initialize(repeating: iovec(), count: batchCapacity)
        addresses.initialize(repeating: sockaddr_in(), count: batchCapacity)
    }

    deinit {
        _ = close(descriptor)
        messages.deallocate()
        vectors.deallocate()
        addresses.deallocate()
    }

    static func socketAddress(_ peer: UDPPeer) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = peer.port.bigEndian
        address.sin_addr.s_addr = peer.address.rawValue.bigEndian
        return address
    }

    /// Receives waiting datagrams into `batch` (data at offset 0 of each slot; truncated ones are
    /// given length 0 so the caller drops them), senders into `peers`. Sets `batch.count`.
    public func receive(into batch: PacketBatch) {
        let count = min(capacity, batch.capacity)
        for index in 0..<count {
            let slot = batch.slot(index)
            vectors[index] = iovec(iov_base: slot.baseAddress, iov_len: slot.count)
            messages[index].msg_hdr = msghdr()
            messages[index].msg_hdr.msg_iov = vectors + index
            messages[index].msg_hdr.msg_iovlen = 1
            messages[index].msg_hdr.msg_name = UnsafeMutableRawPointer(addresses + index)
            messages[index].msg_hdr.msg_namelen = socklen_t(MemoryLayout<sockaddr_in>.size)
        }
        let received = gwlb_recvmmsg(descriptor, messages, UInt32(count), Int32(MSG_DONTWAIT))
        guard received > 0 else {
            batch.count = 0
            return
        }
        for index in 0..<Int(received) {
            batch.offsets[index] = 0
            let truncated = messages[index].msg_hdr.msg_flags & Int32(MSG_TRUNC) != 0
            batch.lengths[index] = truncated ? 0 : Int(messages[index].msg_len)
            batch.peers[index] = UDPPeer(address: IPv4Address(rawValue: UInt32(bigEndian: addresses[index].sin_addr.s_addr)),
                                         port: UInt16(bigEndian: addresses[index].sin_port))
        }
        batch.count = Int(received)
    }

    /// Sends the data of each slot with a nonzero length to its peer, as few system calls as the
    /// kernel allows. Returns how many were sent; a message the kernel refuses (unreachable target,
    /// full buffer) is skipped and the rest still go.
    public func send(_ batch: PacketBatch) -> Int {
        var count = 0
        for slot in 0..<batch.count where batch.lengths[slot] > 0 && count < capacity {
            let data = batch.data(slot)
            vectors[count] = iovec(iov_base: data.baseAddress, iov_len: data.count)
            addresses[count] = Self.socketAddress(batch.peers[slot])
            messages[count].msg_hdr = msghdr()
            messages[count].msg_hdr.msg_iov = vectors + count
            messages[count].msg_hdr.msg_iovlen = 1
            messages[count].msg_hdr.msg_name = UnsafeMutableRawPointer(addresses + count)
            messages[count].msg_hdr.msg_namelen = socklen_t(MemoryLayout<sockaddr_in>.size)
            count += 1
        }
        var sent = 0, next = 0
        while next < count {
            let result = gwlb_sendmmsg(descriptor, messages + next, UInt32(count - next), Int32(MSG_DONTWAIT))
            if result > 0 {
                sent += Int(result)
                next += Int(result)
            } else {
                next += 1
            }
        }
        return sent
    }
}
