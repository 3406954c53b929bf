/// Receive-side coalescing in user space (GRO): consecutive in-order TCP segments of one flow,
/// as they come back from an appliance, become one super-packet that a TUN device with offloads
/// takes in one write; the kernel cuts it again where it must, and fills the checksums.
///
/// It joins only what Linux's own GRO joins: segments of the same flow (addresses, ports), same
/// IP header fields (TOS, DF, TTL; IPv6 traffic class, flow label, hop limit), same TCP header
/// length, options and acknowledgment number, each starting where the last ended, carrying data,
/// with no flag but ACK (PSH ends a super-packet: it is set on it, and nothing follows). A segment
/// shorter than the first ends it too (all but the last must be the same size). Anything else is
/// passed through alone, after what was pending, so order within a flow is kept.
public final class TCPCoalescer {
    /// The largest super-packet: an IP packet's length field.
    public static let maximumLength = 65535
    /// What `emit` receives: the endpoint, the packet, its virtio header, and how many segments it holds.
    public typealias Emit = (_ endpoint: Int, _ packet: UnsafeRawBufferPointer, _ header: VirtioNetHeader, _ segments: Int) -> Void

    /// One flow's super-packet in the making.
    final class Pending {
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: TCPCoalescer.maximumLength, alignment: 64)
        var endpoint = -1
        var length = 0
        var segments = 0
        var segmentPayload = 0
        var nextSequence: UInt32 = 0
        var transportOffset = 0
        var transportHeaderLength = 0
        var closed = false
        /// When it was started, to emit the oldest first when every place is taken.
        var started: UInt64 = 0
        deinit { storage.deallocate() }
    }

    /// Flows coalesced at once (Linux's GRO keeps 8 per queue).
    public let capacity: Int
    private let pending: [Pending]
    private var started: UInt64 = 0
    private var inUse = 0

    public init(flows: Int = 8) {
        capacity = flows
        pending = (0..<flows).map { _ in Pending() }
    }

    public var isEmpty: Bool { inUse == 0 }

    /// Takes `packet` (its first `summary.length` bytes) bound for `endpoint`: joins it to its
    /// flow's pending super-packet, starts a new one, or emits it alone. Whatever is emitted comes
    /// out through `emit`, in order within each flow.
    public func add(_ packet: UnsafeRawBufferPointer, summary: PacketSummary, endpoint: Int, emit: Emit) {
        let packet = UnsafeRawBufferPointer(rebasing: packet[..<summary.length])
        let candidate = Candidate(packet, summary)
        // The same flow's pending packet, if any: it goes first (or takes this one).
        if inUse > 0 {
            for entry in pending where entry.segments > 0 && entry.endpoint == endpoint && Self.sameFlow(entry, packet, summary) {
                if let candidate, !entry.closed, joins(entry, candidate, packet) {
                    append(entry, candidate, packet)
                    return
                }
                emitPending(entry, emit: emit)
            }
        }
        guard let candidate, !candidate.push else {
            emit(endpoint, packet, .plain, 1)
            return
        }
        let entry = freeEntry(emit: emit)
        UnsafeMutableRawBufferPointer(rebasing: entry.storage[..<packet.count]).copyMemory(from: packet)
        entry.endpoint = endpoint
        entry.length = packet.count
        entry.segments = 1
        entry.segmentPayload = candidate.payload
        entry.nextSequence = candidate.sequence &+ UInt32(candidate.payload)
        entry.transportOffset = candidate.transportOffset
        entry.transportHeaderLength = candidate.transportHeaderLength
        entry.closed = false
        started += 1
        entry.started = started
        inUse += 1
    }

    /// Emits every pending super-packet, oldest first.
    public func flush(emit: Emit) {
        while inUse > 0 {
            var oldest: Pending?
            for entry in pending where entry.segments > 0 && (oldest == nil || entry.started < oldest!.started) { oldest = entry }
            guard let oldest else { break }
            emitPending(oldest, emit: emit)
        }
    }

    /// A place for a new flow: a free one, or the oldest emitted to make room.
    private func freeEntry(emit: Emit) -> Pending {
        var oldest = pending[0]
        for entry in pending {
            if entry.segments == 0 { return entry }
            if entry.started < oldest.started { oldest = entry }
        }
        emitPending(oldest, emit: emit)
        return oldest
    }

    private func emitPending(_ entry: Pending, emit: Emit) {
        let packet = UnsafeMutableRawBufferPointer(rebasing: entry.storage[..<entry.length])
        defer {
            entry.segments = 0
            inUse -= 1
        }
        guard entry.segments > 1 else {
            emit(entry.endpoint, UnsafeRawBufferPointer(packet), .plain, 1)
            return
        }
        let transportOffset = entry.transportOffset
        let isIPv4 = UnsafeRawBufferPointer(packet).u8(0) >> 4 == 4
        if isIPv4 {
            packet.setU16(UInt16(entry.length), at: 2)
            packet.setU16(0, at: 10)
            packet.setU16(InternetChecksum.of(UnsafeRawBufferPointer(rebasing: packet[..<transportOffset])), at: 10)
        } else {
            packet.setU16(UInt16(entry.length - IPv6View.fixedLength), at: 4)
        }
        // A partial checksum, as the kernel expects with NEEDS_CSUM: the pseudo-header sum, not
        // complemented; the kernel adds the header and data of each segment it cuts.
        var pseudo = InternetChecksum()
        SuperPacket.addPseudoHeader(UnsafeRawBufferPointer(packet), protocol: .tcp, transportLength: entry.length - transportOffset, to: &pseudo)
        packet.setU16(~pseudo.value, at: transportOffset + 16)
        let header = VirtioNetHeader(flags: VirtioNetHeader.flagNeedsChecksum,
                                     gsoType: isIPv4 ? VirtioNetHeader.gsoTCPv4 : VirtioNetHeader.gsoTCPv6,
                                     headerLength: UInt16(transportOffset + entry.transportHeaderLength), gsoSize: UInt16(entry.segmentPayload),
                                     checksumStart: UInt16(transportOffset), checksumOffset: 16)
        emit(entry.endpoint, UnsafeRawBufferPointer(packet), header, entry.segments)
    }

    /// What matters of a segment that may be coalesced.
    struct Candidate {
        let transportOffset: Int
        let transportHeaderLength: Int
        let sequence: UInt32
        let payload: Int
        let push: Bool

        init?(_ packet: UnsafeRawBufferPointer, _ summary: PacketSummary) {
            guard summary.protocol == .tcp, !summary.isFragment,
                  summary.transportOffset == (summary.version == .v4 ? IPv4View.minimumLength : IPv6View.fixedLength) else { return nil }
            let flags = summary.tcpFlags
            guard flags.contains(.ack), flags.subtracting([.ack, .psh]).isEmpty else { return nil }
            transportOffset = summary.transportOffset
            transportHeaderLength = Int(packet.u8(transportOffset + 12) >> 4) * 4
            payload = packet.count - transportOffset - transportHeaderLength
            guard payload > 0 else { return nil }
            sequence = packet.u32(transportOffset + 4)
            push = flags.contains(.psh)
        }
    }

    /// Same version, addresses and ports, in the same direction: the packets whose order matters.
    private static func sameFlow(_ entry: Pending, _ packet: UnsafeRawBufferPointer, _ summary: PacketSummary) -> Bool {
        let pendingBytes = UnsafeRawBufferPointer(entry.storage)
        let version = packet.u8(0) >> 4
        guard summary.protocol == .tcp, !summary.isFragment, pendingBytes.u8(0) >> 4 == version,
              pendingBytes.u32(entry.transportOffset) == packet.u32(summary.transportOffset) else { return false }
        // Safe: the addresses lie within both packets' fixed IP headers.
        let addresses = version == 4 ? 12..<20 : 8..<40
        for offset in stride(from: addresses.lowerBound, to: addresses.upperBound, by: 4) where pendingBytes.u32(offset) != packet.u32(offset) {
            return false
        }
        return true
    }

    private func joins(_ entry: Pending, _ candidate: Candidate, _ packet: UnsafeRawBufferPointer) -> Bool {
        guard candidate.transportOffset == entry.transportOffset, candidate.transportHeaderLength == entry.transportHeaderLength,
              candidate.sequence == entry.nextSequence, candidate.payload <= entry.segmentPayload,
              entry.length + candidate.payload <= Self.maximumLength else { return false }
        let pendingBytes = UnsafeRawBufferPointer(entry.storage)
        func same(_ range: Range<Int>) -> Bool {
            // Safe: every range is within both packets' headers, whose lengths were compared above.
            for offset in range where pendingBytes.u8(offset) != packet.u8(offset) { return false }
            return true
        }
        let tcp = entry.transportOffset
        let ipSame = tcp == IPv4View.minimumLength
            ? same(0..<2) && same(6..<10)   // version, TOS; flags; TTL, protocol (addresses: same flow)
            : same(0..<4) && same(6..<8)    // version, class, label; next header, hop limit
        return ipSame && same((tcp + 8)..<(tcp + 13))                     // ack, data offset
            && same((tcp + 20)..<(tcp + entry.transportHeaderLength))    // options
    }

    private func append(_ entry: Pending, _ candidate: Candidate, _ packet: UnsafeRawBufferPointer) {
        let transportOffset = entry.transportOffset
        let payloadStart = transportOffset + entry.transportHeaderLength
        UnsafeMutableRawBufferPointer(rebasing: entry.storage[entry.length..<(entry.length + candidate.payload)])
            .copyMemory(from: UnsafeRawBufferPointer(rebasing: packet[payloadStart...]))
        entry.length += candidate.payload
        entry.segments += 1
        entry.nextSequence = candidate.sequence &+ UInt32(candidate.payload)
        // The latest window is the receiver's current one.
        entry.storage.setU16(packet.u16(transportOffset + 14), at: transportOffset + 14)
        if candidate.push {
            entry.storage.setU8(entry.storage[transportOffset + 13] | TCPFlags.psh.rawValue, at: transportOffset + 13)
            entry.closed = true
        }
        if candidate.payload < entry.segmentPayload { entry.closed = true }
    }
}
