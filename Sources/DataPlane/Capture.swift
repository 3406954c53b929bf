import Synchronization
import Wire

/// What `gwlb capture` takes: every dropped packet, or the packets of flows with an end at
/// `address` and/or on `port`, both ways.
public struct CaptureFilter: Sendable, Hashable {
    public var drops: Bool
    public var address: IPv6Address?
    public var port: UInt16?

    public init(drops: Bool = false, address: IPv6Address? = nil, port: UInt16? = nil) {
        self.drops = drops
        self.address = address
        self.port = port
    }

    /// A forwarded or returned packet this capture wants.
    @inline(__always)
    func matches(_ summary: PacketSummary) -> Bool {
        guard !drops, address != nil || port != nil else { return false }
        if let address, summary.source != address && summary.destination != address { return false }
        if let port, summary.sourcePort != port && summary.destinationPort != port { return false }
        return true
    }
}

/// Why a packet was captured.
public enum CaptureEvent: Sendable, Hashable {
    case dropped(DropReason, WireError?)
    /// Forwarded to, or accepted back from, this appliance.
    case toTarget(IPv4Address)
    case fromTarget(IPv4Address)
}

/// One captured packet. `bytes` is an inner IP packet, or with `isGeneveDatagram` the UDP payload
/// of a GENEVE datagram from `appliance` (a drop on the return path before the inner packet was found).
public struct CapturedPacket: Sendable, Hashable {
    public var time: Int64
    public var event: CaptureEvent
    public var endpoint: Int?
    public var appliance: IPv4Address?
    public var isGeneveDatagram: Bool
    public var originalLength: Int
    public var bytes: [UInt8]
}

/// Copies of captured packets from one worker to the API (an `SPSCRing` of snap-length slots). A
/// full ring loses the packet and counts it: capturing never makes a worker wait.
final class CaptureRing: Sendable {
    static let snapLength = 9216

    struct Metadata {
        var time: Int64 = 0
        var event = CaptureEvent.toTarget(IPv4Address(rawValue: 0))
        var endpoint = -1
        var appliance: IPv4Address?
        var isGeneveDatagram = false
        var originalLength = 0
    }

    private let ring: SPSCRing<Metadata>
    let lost = Atomic<UInt64>(0)

    init(capacity: Int = 128) {
        ring = SPSCRing(capacity: capacity, slotSize: Self.snapLength, filler: Metadata())
    }

    /// Producer (the worker): copies the packet in, cut at the snap length.
    func push(_ packet: UnsafeRawBufferPointer, time: Int64, event: CaptureEvent, endpoint: Int?, appliance: IPv4Address?, isGeneveDatagram: Bool) {
        let metadata = Metadata(time: time, event: event, endpoint: endpoint ?? -1, appliance: appliance,
                                isGeneveDatagram: isGeneveDatagram, originalLength: packet.count)
        if !ring.push(metadata, UnsafeRawBufferPointer(rebasing: packet.prefix(Self.snapLength))) { lost.add(1, ordering: .relaxed) }
    }

    /// Consumer: every waiting packet, copied out.
    func drain(_ body: (CapturedPacket) -> Void) {
        ring.drain { meta, bytes in
            body(CapturedPacket(time: meta.time, event: meta.event, endpoint: meta.endpoint < 0 ? nil : meta.endpoint,
                                appliance: meta.appliance, isGeneveDatagram: meta.isGeneveDatagram,
                                originalLength: meta.originalLength, bytes: Array(bytes)))
        }
    }
}

/// The one capture a data plane runs at a time: its filter for the workers, and their rings.
final class CaptureControl: Sendable {
    let filter = Mutex<CaptureFilter?>(nil)
    /// The running capture's session and the last one given out. The rings are drained only under
    /// this lock, by the current session: one consumer at a time, and a capture that was stopped
    /// (its client stalled past its deadline, say) takes nothing from the next one.
    let sessions = Mutex<(current: UInt64?, last: UInt64)>((nil, 0))
    /// Moves whenever the filter changes; workers compare it once per pass.
    let generation = Atomic<UInt64>(0)
    let rings: [CaptureRing]

    init(workers: Int) {
        rings = (0..<workers).map { _ in CaptureRing() }
    }
}

extension DataPlane {
    /// Starts capturing `filter`'s packets: the session's number, or nil when another capture runs.
    public func startCapture(_ filter: CaptureFilter) -> UInt64? {
        capture.sessions.withLock { sessions in
            guard sessions.current == nil else { return nil }
            capture.filter.withLock { $0 = filter }
            capture.generation.add(1, ordering: .releasing)
            sessions.last += 1
            sessions.current = sessions.last
            return sessions.last
        }
    }

    /// Stops capture `session`, if it is still the one running.
    public func stopCapture(_ session: UInt64) {
        capture.sessions.withLock { sessions in
            guard sessions.current == session else { return }
            capture.filter.withLock { $0 = nil }
            capture.generation.add(1, ordering: .releasing)
            // What the workers copied after the last read is dropped with the capture.
            for ring in capture.rings { ring.drain { _ in } }
            sessions.current = nil
        }
    }

    /// The packets captured for `session` since the last call, and how many were lost to full
    /// rings in all; nothing for a session that is not the running one.
    public func takeCaptured(_ session: UInt64) -> (packets: [CapturedPacket], lost: UInt64) {
        capture.sessions.withLock { sessions in
            let lost = capture.rings.reduce(0) { $0 + $1.lost.load(ordering: .relaxed) }
            guard sessions.current == session else { return ([], lost) }
            var packets: [CapturedPacket] = []
            for ring in capture.rings { ring.drain { packets.append($0) } }
            return (packets.sorted { $0.time < $1.time }, lost)
        }
    }
}
