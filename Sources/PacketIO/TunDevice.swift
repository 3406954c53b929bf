import CGWLBLinux
import Synchronization
import Wire
#if canImport(Glibc)
import Glibc
#endif

/// A layer-3 TUN device: no packet-information header, one file descriptor per queue (multi-queue,
/// so each worker reads and writes its own). A device gwlbd makes is persistent and says so in its
/// alias (`gwlbd endpoint`): it stays while gwlbd restarts, so the routes into it stay too, until
/// `remove()` (delete-endpoint, `gwlbd --cleanup`). A device someone else made (`ip tuntap add`)
/// is only attached to, and left in place.
///
/// With `offloads`, every packet read or written is preceded by a `VirtioNetHeader`
/// (`IFF_VNET_HDR`), and the kernel may hand over TCP and UDP super-packets of up to 64 KiB with
/// their checksums left partial (`TUNSETOFFLOAD`: checksum, TSO4/6 with ECN, and USO4/6 where the
/// kernel has it), and takes such super-packets in a write.
/// Sendable: its properties never change, and each queue's descriptor is used by one worker.
public final class TunDevice: @unchecked Sendable {
    public let name: String
    /// One non-blocking descriptor per queue.
    public let queues: [Int32]
    /// The TUNSETOFFLOAD flags in force; 0 without offloads (no virtio header either).
    public let offloadFlags: UInt32
    public var hasVirtioHeader: Bool { offloadFlags != 0 }
    /// The largest read: a super-packet and its header.
    public static let maximumRead = VirtioNetHeader.length + 65_536
    /// Set by a worker that found the device gone from under gwlbd (`ip link del`): its queues
    /// then report an error to every poll and read; the control side re-attaches the endpoint.
    private let lost = Atomic<Bool>(false)
    public var isLost: Bool { lost.load(ordering: .acquiring) }
    public func markLost() { lost.store(true, ordering: .releasing) }

    /// What a device gwlbd made carries as its alias (`ip link show` prints it).
    public static let alias = "gwlbd endpoint"

    /// Creates `name` (or attaches to the device of that name) with `queueCount` queues, sets its
    /// MTU and brings it up. A device it creates is persistent and gets gwlbd's alias.
    public init(name: String, queueCount: Int = 1, mtu: Int, offloads: Bool = false) throws(PacketIOError) {
        guard !name.isEmpty, name.utf8.count < Int(IFNAMSIZ) else {
            throw PacketIOError(.system, "interface name '\(name)' must be 1-\(IFNAMSIZ - 1) bytes")
        }
        guard access("/dev/net/tun", F_OK) == 0 else {
            throw PacketIOError(.tunUnavailable, "/dev/net/tun does not exist: load the tun module (modprobe tun) or give the container the device")
        }
        self.name = name
        let existed = if_nametoindex(name) != 0
        var opened: [Int32] = []
        for _ in 0..<max(1, queueCount) {
            let fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC)
            guard fd >= 0 else {
                let error = PacketIOError.system("open", "/dev/net/tun")
                opened.forEach { _ = close($0) }
                throw error
            }
            var request = Self.interfaceRequest(name)
            request.ifr_ifru.ifru_flags = gwlb_IFF_TUN | gwlb_IFF_NO_PI | gwlb_IFF_MULTI_QUEUE | (offloads ? gwlb_IFF_VNET_HDR : 0)
            guard gwlb_ioctl_ifreq(fd, gwlb_TUNSETIFF, &request) == 0 else {
                let code = errno
                _ = close(fd)
                opened.forEach { _ = close($0) }
                if code == EBUSY || code == EINVAL {
                    throw PacketIOError(.system, "cannot create TUN device \(name): an interface of that name exists (another gwlbd, or a leftover: ip link del \(name))")
                }
                throw PacketIOError.system("TUNSETIFF", name, errno: code)
            }
            opened.append(fd)
        }
        queues = opened
        if !existed, let first = opened.first {
            _ = gwlb_tun_set_persist(first, 1)
            Self.setAlias(name, Self.alias)
        }
        var flags: UInt32 = 0
        if offloads, let first = opened.first {
            _ = gwlb_tun_set_vnet_header_size(first, Int32(VirtioNetHeader.length))
            let tso = gwlb_TUN_F_CSUM | gwlb_TUN_F_TSO4 | gwlb_TUN_F_TSO6 | gwlb_TUN_F_TSO_ECN
            // USO where the kernel has it (6.2 and later), else TCP alone, else checksums alone.
            for candidate in [tso | gwlb_TUN_F_USO4 | gwlb_TUN_F_USO6, tso, gwlb_TUN_F_CSUM] where gwlb_tun_set_offload(first, candidate) == 0 {
                flags = candidate
                break
            }
            if flags == 0 {
                // A virtio header without offloads still works: every packet comes whole.
                flags = gwlb_TUN_F_CSUM
                _ = gwlb_tun_set_offload(first, 0)
            }
        }
        // A persistent device keeps the offloads an earlier owner enabled; without a virtio header
        // to describe super-packets they must be off.
        if !offloads, let first = opened.first { _ = gwlb_tun_set_offload(first, 0) }
        offloadFlags = flags
        // Every stored property is set: if this throws, `deinit` runs and closes the queues
        // (closing them here too would close their numbers twice, whatever holds them by then).
        try Self.configure(name, mtu: mtu)
    }

    /// Takes over the queues another gwlbd opened on device `name` (received in a takeover), with
    /// the offloads it enabled; the device's MTU, alias and persistence stay as they are. The
    /// descriptors close with this object.
    public init(adopting queues: [Int32], name: String, offloadFlags: UInt32) {
        self.name = name
        self.queues = queues
        self.offloadFlags = offloadFlags
    }

    deinit {
        queues.forEach { _ = close($0) }
    }

    /// Whether gwlbd made the device (its alias says so), rather than an operator.
    public var madeByGwlbd: Bool { Self.readAlias(name) == Self.alias }

    /// Ends the device's persistence when gwlbd made it, so it disappears with this object's last
    /// queue; a device made by someone else stays (only the queues go).
    public func remove() {
        if madeByGwlbd, let first = queues.first { _ = gwlb_tun_set_persist(first, 0) }
    }

    /// Removes the persistent device `name` if gwlbd made it (`gwlbd --cleanup`): attaches, ends
    /// its persistence, closes. Returns whether it did; a device made by someone else is left.
    public static func removePersistent(_ name: String) -> Bool {
        guard if_nametoindex(name) != 0, readAlias(name) == alias else { return false }
        // The queue flags must match the device's: with the virtio header or without.
        for vnet in [gwlb_IFF_VNET_HDR, 0] {
            let fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC)
            guard fd >= 0 else { return false }
            defer { _ = close(fd) }
            var request = interfaceRequest(name)
            request.ifr_ifru.ifru_flags = gwlb_IFF_TUN | gwlb_IFF_NO_PI | gwlb_IFF_MULTI_QUEUE | vnet
            if gwlb_ioctl_ifreq(fd, gwlb_TUNSETIFF, &request) == 0 { return gwlb_tun_set_persist(fd, 0) == 0 }
        }
        return false
    }

    /// The interface's alias (/sys/class/net/NAME/ifalias), empty when it has none.
    static func readAlias(_ name: String) -> String {
        let fd = open("/sys/class/net/\(name)/ifalias", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return "" }
        defer { _ = close(fd) }
        var bytes = [UInt8](repeating: 0, count: 256)
        let count = Glibc.read(fd, &bytes, bytes.count)
        guard count > 0 else { return "" }
        var text = String(decoding: bytes[..<count], as: UTF8.self)
        while text.last == "\n" { text.removeLast() }
        return text
    }

    static func setAlias(_ name: String, _ alias: String) {
        let fd = open("/sys/class/net/\(name)/ifalias", O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        defer { _ = close(fd) }
        let bytes = Array(alias.utf8)
        _ = Glibc.write(fd, bytes, bytes.count)
    }

    /// Reads one packet from `queue` into `buffer`; nil when none is waiting.
    @inline(__always)
    public func read(queue: Int, into buffer: UnsafeMutableRawBufferPointer) -> Int? {
        let count = Glibc.read(queues[queue], buffer.baseAddress, buffer.count)
        return count > 0 ? count : nil
    }

    /// Writes one packet into `queue` (with the plain virtio header when the device has one).
    /// False if the kernel refused it.
    @inline(__always)
    public func write(queue: Int, packet: UnsafeRawBufferPointer) -> Bool {
        guard hasVirtioHeader else { return Glibc.write(queues[queue], packet.baseAddress, packet.count) == packet.count }
        return write(queue: queue, packet: packet, header: .plain)
    }

    /// Writes one packet, maybe a super-packet `header` describes, into `queue` (a device with a
    /// virtio header only). False if the kernel refused it.
    @inline(__always)
    public func write(queue: Int, packet: UnsafeRawBufferPointer, header: VirtioNetHeader) -> Bool {
        var bytes: (UInt64, UInt16) = (0, 0)
        return withUnsafeMutableBytes(of: &bytes) { headerBytes in
            header.write(to: headerBytes)
            var vectors = (iovec(iov_base: headerBytes.baseAddress, iov_len: VirtioNetHeader.length),
                           iovec(iov_base: UnsafeMutableRawPointer(mutating: packet.baseAddress), iov_len: packet.count))
            return withUnsafePointer(to: &vectors) {
                $0.withMemoryRebound(to: iovec.self, capacity: 2) { writev(queues[queue], $0, 2) }
            } == VirtioNetHeader.length + packet.count
        }
    }

    static func interfaceRequest(_ name: String) -> ifreq {
        var request = ifreq()
        withUnsafeMutableBytes(of: &request.ifr_ifrn.ifrn_name) { bytes in
            for (index, byte) in name.utf8.prefix(bytes.count - 1).enumerated() { bytes[index] = byte }
        }
        return request
    }

    /// MTU and link up, through an ordinary socket's interface ioctls.
    static func configure(_ name: String, mtu: Int) throws(PacketIOError) {
        let control = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard control >= 0 else { throw PacketIOError.system("socket", "for interface control") }
        defer { _ = close(control) }
        var request = interfaceRequest(name)
        request.ifr_ifru.ifru_mtu = Int32(mtu)
        guard gwlb_ioctl_ifreq(control, UInt(SIOCSIFMTU), &request) == 0 else {
            throw PacketIOError.system("SIOCSIFMTU", "\(name) mtu \(mtu)")
        }
        request = interfaceRequest(name)
        guard gwlb_ioctl_ifreq(control, UInt(SIOCGIFFLAGS), &request) == 0 else {
            throw PacketIOError.system("SIOCGIFFLAGS", name)
        }
        request.ifr_ifru.ifru_flags |= Int16(IFF_UP) | Int16(IFF_RUNNING)
        guard gwlb_ioctl_ifreq(control, UInt(SIOCSIFFLAGS), &request) == 0 else {
            throw PacketIOError.system("SIOCSIFFLAGS", "\(name) up")
        }
    }
}
