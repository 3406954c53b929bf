import Synchronization
import Wire
#if canImport(Glibc)
import Glibc
#endif

/// Tokens of the data-path probes that came back (README "Health checks through the data path"):
/// workers note each returned probe here, the prober looks for its own. A lock, not a lock-free
/// structure: probes are a few per target and interval, never on the per-packet path (a worker
/// meets one only where a datagram names no endpoint).
public final class DataPathProbeReplies: Sendable {
    /// The attachment id probes carry: random per process, so a datagram without it is no probe.
    public let key: UInt64
    /// Each returned probe's token and the address it came back from.
    private let ring: Mutex<(tokens: [(token: UInt64, from: IPv4Address)], next: Int)>
    /// Probes returned, for statistics.
    public let returned = Atomic<UInt64>(0)

    public init(capacity: Int = 4096, key: UInt64 = UInt64.random(in: 1 ... .max)) {
        self.key = key
        ring = Mutex((Array(repeating: (0, IPv4Address(rawValue: 0)), count: capacity), 0))
    }

    /// A worker saw a probe with `token` come back from `address`.
    func received(token: UInt64, from address: IPv4Address) {
        returned.add(1, ordering: .relaxed)
        ring.withLock { ring in
            ring.tokens[ring.next] = (token, address)
            ring.next = (ring.next + 1) % ring.tokens.count
        }
    }

    /// Whether the probe with `token` came back from `address`: from the target it went through
    /// (someone who saw the probe on the appliance network and sends it back from elsewhere does
    /// not make a broken target look alive).
    func contains(_ token: UInt64, from address: IPv4Address) -> Bool {
        ring.withLock { $0.tokens.contains { $0.token == token && $0.from == address } }
    }
}

/// Sends data-path probes from gwlbd's GENEVE address (a socket of its own, any source port: the
/// appliance returns to port 6081, where the workers read) and waits for them to come back.
public final class DataPathProber: Sendable {
    public let replies: DataPathProbeReplies
    private let address: IPv4Address
    private let sequence = Atomic<UInt16>(0)

    public init(address: IPv4Address, replies: DataPathProbeReplies) {
        self.address = address
        self.replies = replies
    }

    public enum Outcome: Sendable, Equatable {
        /// Came back after this many seconds.
        case returned(Double)
        /// Did not come back within the timeout.
        case lost
        /// Could not be sent (errno): says nothing of the target.
        case localError(Int32)
    }

    /// Sends one probe through `target` (its GENEVE port) and waits up to `timeout` seconds for
    /// it to come back. Blocks the calling thread.
    public func probe(_ target: IPv4Address, port: UInt16 = Geneve.udpPort, timeout: Double) -> Outcome {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return .localError(errno) }
        defer { close(fd) }
        var local = sockaddr_in(address: address, port: 0)
        guard withUnsafePointer(to: &local, { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        } }) == 0 else { return .localError(errno) }
        let token = UInt64.random(in: 1 ... .max)
        var datagram = [UInt8](repeating: 0, count: DataPathProbe.datagramLength)
        let length = datagram.withUnsafeMutableBytes {
            DataPathProbe.write(into: $0, address: address, key: replies.key, sequence: sequence.add(1, ordering: .relaxed).newValue,
                                token: token)
        }
        var remote = sockaddr_in(address: target, port: port)
        let started = ContinuousClock.now, limit = Duration.milliseconds(Int64(timeout * 1000))
        let sent = withUnsafePointer(to: &remote) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, datagram, length, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard sent == length else { return .localError(errno) }
        while ContinuousClock.now - started < limit {
            if replies.contains(token, from: target) {
                let elapsed = ContinuousClock.now - started
                return .returned(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
            }
            usleep(1000)
        }
        return .lost
    }
}

extension sockaddr_in {
    init(address: IPv4Address, port: UInt16) {
        self.init()
        sin_family = sa_family_t(AF_INET)
        sin_port = port.bigEndian
        sin_addr = in_addr(s_addr: address.rawValue.bigEndian)
    }
}
