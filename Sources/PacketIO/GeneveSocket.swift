import CGWLBLinux
import Wire
#if canImport(Glibc)
import Glibc
#endif

/// A non-blocking UDP socket for GENEVE, read and written a batch per system call
/// (recvmmsg/sendmmsg). Several may share one port (SO_REUSEPORT), one per worker.
///
/// With `offloads`, runs of same-size datagrams to one peer go out as one UDP GSO message
/// (`UDP_SEGMENT`: the kernel cuts them, each an ordinary datagram on the wire), and datagrams the
/// kernel coalesced on the way in (`UDP_GRO`) arrive as one slot with its segment size; receive
/// slots must then hold 64 KiB.
public final class GeneveSocket {
    public let descriptor: Int32
    public let local: UDPPeer
    public let offloads: Bool
    /// Most datagrams in one GSO message (the kernel's UDP_MAX_SEGMENTS is at least this).
    public static let maximumSegments = 64
    /// Most bytes of UDP payload in one GSO message: an IPv4 datagram's 65,535 less its headers.
    public static let maximumGSOBytes = 65_535 - 20 - 8
    private let capacity: Int
    private let messages: UnsafeMutablePointer<gwlb_mmsghdr>
    private let vectors: UnsafeMutablePointer<iovec>
    private let addresses: UnsafeMutablePointer<sockaddr_in>
    private let controlSpace: Int
    private let control: UnsafeMutableRawPointer
    /// Per message of a send: how many datagrams it carries.
    private let segmentCounts: UnsafeMutableBufferPointer<Int>
    /// Per message of a send: room for a GSO run's vectors.
    private let gsoVectorSpace: UnsafeMutablePointer<iovec>
    /// Datagrams sent by the last `send` as GSO messages (for counters).
    public private(set) var lastGSOMessages = 0

    /// Binds `local`; `batchCapacity` is the largest batch `receive`/`send` will handle.
    public convenience init(bind local: UDPPeer, reusePort: Bool = true, batchCapacity: Int = 64, offloads: Bool = false) throws(PacketIOError) {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw PacketIOError.system("socket", "UDP") }
        var one: Int32 = 1
        var bufferSize: Int32 = 8 << 20
        if reusePort { setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, socklen_t(MemoryLayout<Int32>.size)) }
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufferSize, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bufferSize, socklen_t(MemoryLayout<Int32>.size))
        // GRO is asked for; a kernel without it simply delivers datagrams one by one.
        if offloads { setsockopt(fd, gwlb_SOL_UDP, gwlb_UDP_GRO, &one, socklen_t(MemoryLayout<Int32>.size)) }
        var address = Self.socketAddress(local)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else {
            let error = PacketIOError.system("bind", "UDP \(local)")
            _ = close(fd)
            throw error
        }
        self.init(adopting: fd, local: local, batchCapacity: batchCapacity, offloads: offloads)
    }

    /// Takes over `descriptor`, a socket bound to `local` with the options above (another gwlbd's,
    /// received in a takeover): it is closed with this object.
    public init(adopting descriptor: Int32, local: UDPPeer, batchCapacity: Int = 64, offloads: Bool = false) {
        self.descriptor = descriptor
        self.local = local
        self.offloads = offloads
        capacity = batchCapacity
        messages = .allocate(capacity: batchCapacity)
        vectors = .allocate(capacity: batchCapacity)
        addresses = .allocate(capacity: batchCapacity)
        messages.initialize(repeating: gwlb_mmsghdr(), count: batchCapacity)
        vectors.initialize(repeating: iovec(), count: batchCapacity)
        addresses.initialize(repeating: sockaddr_in(), count: batchCapacity)
        controlSpace = Int(gwlb_cmsg_space(UInt32(MemoryLayout<Int32>.size)))
        control = .allocate(byteCount: controlSpace * batchCapacity, alignment: 8)
        control.initializeMemory(as: UInt8.self, repeating: 0, count: controlSpace * batchCapacity)
        segmentCounts = .allocate(capacity: batchCapacity)
        segmentCounts.initialize(repeating: 0)
        gsoVectorSpace = .allocate(capacity: batchCapacity * Self.maximumSegments)
        gsoVectorSpace.initialize(repeating: iovec(), count: batchCapacity * Self.maximumSegments)
    }

    deinit {
        _ = close(descriptor)
        messages.deallocate()
        vectors.deallocate()
        addresses.deallocate()
        control.deallocate()
        segmentCounts.deallocate()
        gsoVectorSpace.deallocate()
    }

    static func socketAddress(_ peer: UDPPeer) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = peer.port.bigEndian
        address.sin_addr.s_addr = peer.address.rawValue.bigEndian
        return address
    }

    /// Steers arriving datagrams among the sockets of this port's SO_REUSEPORT group (in the order
    /// they were bound) with a classic BPF `program`.
    public func attachReusePortProgram(_ program: [ReusePortProgram.Instruction]) throws(PacketIOError) {
        let result = program.withUnsafeBytes { gwlb_attach_reuseport_cbpf(descriptor, $0.baseAddress, UInt16(program.count)) }
        guard result == 0 else { throw PacketIOError.system("SO_ATTACH_REUSEPORT_CBPF", "UDP \(local)") }
    }

    /// Receives waiting datagrams into `batch` (data at offset 0 of each slot; truncated ones are
    /// given length 0 so the caller drops them), senders into `peers`, GRO segment sizes into
    /// `segmentSizes`. Sets `batch.count`.
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
            if offloads {
                messages[index].msg_hdr.msg_control = control + index * controlSpace
                messages[index].msg_hdr.msg_controllen = controlSpace
            }
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
            batch.segmentSizes[index] = offloads ? Int(gwlb_udp_gro_segment_size(&messages[index].msg_hdr)) : 0
        }
        batch.count = Int(received)
    }

    /// Sends the data of each slot with a nonzero length to its peer, as few system calls as the
    /// kernel allows: with offloads, consecutive slots to one peer of one size (the last of a run
    /// may be shorter) go as one GSO message. Returns how many datagrams were sent; a message the
    /// kernel refuses (unreachable target, full buffer) is skipped and the rest still go.
    public func send(_ batch: PacketBatch) -> Int {
        var count = 0
        var slot = 0
        lastGSOMessages = 0
        while slot < batch.count && count < capacity {
            guard batch.lengths[slot] > 0 else {
                slot += 1
                continue
            }
            let peer = batch.peers[slot]
            // A slot that holds several datagrams (as received with GRO) goes as one GSO message.
            let coalesced = batch.segmentSizes[slot]
            let size = coalesced > 0 ? min(coalesced, batch.lengths[slot]) : batch.lengths[slot]
            // The run: same peer, same size, within GSO's limits; a shorter datagram ends it.
            var segments = (batch.lengths[slot] + size - 1) / size
            var bytes = size
            var next = slot + 1
            while offloads, coalesced == 0, next < batch.count, segments < Self.maximumSegments {
                let length = batch.lengths[next]
                if length == 0 {
                    next += 1
                    continue
                }
                guard batch.peers[next] == peer, length <= size, bytes + length <= Self.maximumGSOBytes else { break }
                segments += 1
                bytes += length
                next += 1
                if length < size { break }
            }
            addresses[count] = Self.socketAddress(peer)
            messages[count].msg_hdr = msghdr()
            messages[count].msg_hdr.msg_name = UnsafeMutableRawPointer(addresses + count)
            messages[count].msg_hdr.msg_namelen = socklen_t(MemoryLayout<sockaddr_in>.size)
            if segments == 1 || coalesced > 0 {
                let data = batch.data(slot)
                vectors[count] = iovec(iov_base: data.baseAddress, iov_len: data.count)
                messages[count].msg_hdr.msg_iov = vectors + count
                messages[count].msg_hdr.msg_iovlen = 1
                messages[count].msg_len = UInt32(segments)   // datagrams in this message (read back below)
                if segments > 1 {
                    messages[count].msg_hdr.msg_control = control + count * controlSpace
                    gwlb_set_udp_segment(&messages[count].msg_hdr, UInt16(size))
                }
                slot += 1
            } else {
                messages[count].msg_hdr.msg_iov = gsoVectors(for: count)
                var vector = 0
                for index in slot..<next where batch.lengths[index] > 0 {
                    let data = batch.data(index)
                    messages[count].msg_hdr.msg_iov[vector] = iovec(iov_base: data.baseAddress, iov_len: data.count)
                    vector += 1
                }
                messages[count].msg_hdr.msg_iovlen = vector
                messages[count].msg_hdr.msg_control = control + count * controlSpace
                gwlb_set_udp_segment(&messages[count].msg_hdr, UInt16(size))
                messages[count].msg_len = UInt32(segments)
                slot = next
            }
            count += 1
        }
        // msg_len is overwritten by the kernel with bytes sent: keep the datagram counts apart.
        for index in 0..<count { segmentCounts[index] = Int(messages[index].msg_len) }
        var sent = 0, next = 0
        while next < count {
            let result = gwlb_sendmmsg(descriptor, messages + next, UInt32(count - next), Int32(MSG_DONTWAIT))
            if result > 0 {
                for index in next..<(next + Int(result)) {
                    sent += segmentCounts[index]
                    if segmentCounts[index] > 1 { lastGSOMessages += 1 }
                }
                next += Int(result)
            } else {
                next += 1
            }
        }
        return sent
    }


    private func gsoVectors(for message: Int) -> UnsafeMutablePointer<iovec> {
        gsoVectorSpace + message * Self.maximumSegments
    }
}
