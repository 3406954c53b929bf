import CGWLBLinux
#if canImport(Glibc)
import Glibc
#endif

/// A layer-3 TUN device owned by this process: no packet-information header, one file descriptor
/// per queue (multi-queue, so each worker reads and writes its own). The device disappears when
/// the last queue is closed.
/// Sendable: its properties never change, and each queue's descriptor is used by one worker.
public final class TunDevice: @unchecked Sendable {
    public let name: String
    /// One non-blocking descriptor per queue.
    public let queues: [Int32]

    /// Creates `name` with `queueCount` queues, sets its MTU and brings it up.
    public init(name: String, queueCount: Int = 1, mtu: Int) throws(PacketIOError) {
        guard !name.isEmpty, name.utf8.count < Int(IFNAMSIZ) else {
            throw PacketIOError(.system, "interface name '\(name)' must be 1-\(IFNAMSIZ - 1) bytes")
        }
        guard access("/dev/net/tun", F_OK) == 0 else {
            throw PacketIOError(.tunUnavailable, "/dev/net/tun does not exist: load the tun module (modprobe tun) or give the container the device")
        }
        self.name = name
        var opened: [Int32] = []
        for _ in 0..<max(1, queueCount) {
            let fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC)
            guard fd >= 0 else {
                let error = PacketIOError.system("open", "/dev/net/tun")
                opened.forEach { _ = close($0) }
                throw error
            }
            var request = Self.interfaceRequest(name)
            request.ifr_ifru.ifru_flags = gwlb_IFF_TUN | gwlb_IFF_NO_PI | gwlb_IFF_MULTI_QUEUE
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
        do throws(PacketIOError) {
            try Self.configure(name, mtu: mtu)
        } catch {
            queues.forEach { _ = close($0) }
            throw error
        }
    }

    deinit {
        queues.forEach { _ = close($0) }
    }

    /// Reads one packet from `queue` into `buffer`; nil when none is waiting.
    @inline(__always)
    public func read(queue: Int, into buffer: UnsafeMutableRawBufferPointer) -> Int? {
        let count = Glibc.read(queues[queue], buffer.baseAddress, buffer.count)
        return count > 0 ? count : nil
    }

    /// Writes one packet into `queue`. False if the kernel refused it.
    @inline(__always)
    public func write(queue: Int, packet: UnsafeRawBufferPointer) -> Bool {
        Glibc.write(queues[queue], packet.baseAddress, packet.count) == packet.count
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
