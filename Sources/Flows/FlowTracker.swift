import Wire

/// Why the flow engine refused a packet.
public enum FlowDrop: Hashable, Sendable, CaseIterable {
    /// A TCP packet other than a SYN, with no flow: never seen, or expired (README "How the flow engine behaves").
    case tcpWithoutFlow
    /// A new flow, and every entry of the table in use (RejectedFlowCount).
    case flowTableFull
    /// A new flow, and no registered target to send it to.
    case noTarget
}

/// What happened to the flow of a forwarded packet.
public enum FlowEvent: Hashable, Sendable {
    /// An established flow, on its target.
    case established
    /// This packet created the flow.
    case created
    /// A rebalance moved the flow here from another target.
    case moved(from: TargetSlot)
}

/// The flow engine's answer for one packet from an endpoint.
public enum FlowVerdict: Hashable, Sendable {
    /// Send to `target` with `cookie`.
    case forward(FlowHandle, target: TargetSlot, cookie: UInt32, event: FlowEvent)
    case drop(FlowDrop)
    /// Failover policy says reset: the flow was removed; the caller sends a TCP RST and drops the packet.
    case reset(FlowEntry)
}

/// A packet's flow key and its table hash, computed once per packet.
public struct FlowProbe: Hashable, Sendable {
    public let key: FlowKey
    public let hash: UInt64
}

/// The per-packet flow rules for one worker, over its `FlowTable`: find or create the flow, apply
/// the TCP rule, place new flows through the snapshot's `TargetSelection`, and apply failover to
/// established ones.
public final class FlowTracker {
    public let table: FlowTable
    private var random: SplitMix64

    public init(table: FlowTable, seed: UInt64 = UInt64.random(in: .min ... .max)) {
        self.table = table
        random = SplitMix64(state: seed)
    }

    /// How far ahead of the packet being decided a batch prefetches flow entries. Further ahead
    /// than this, the prefetches of a whole batch overrun the CPU's outstanding-miss buffers and
    /// wait; measured on this machine kind, 8 beats 64 by about 12 % (gwlb-bench flows).
    public static let prefetchDistance = 8

    /// A packet read from an endpoint, on its own. For a batch: `probe` every packet (pass 1),
    /// then `track(_:probe:…)` each while calling `prefetch` on the probe `prefetchDistance` ahead.
    @inline(__always)
    public func track(_ packet: PacketSummary, mode: FlowKeyMode, selection: TargetSelection, now: UInt32) -> FlowVerdict {
        track(packet, probe: probe(packet, mode: mode), selection: selection, now: now)
    }

    /// Batch pass 1: the packet's key and hash; starts loading its index slot.
    @inline(__always)
    public func probe(_ packet: PacketSummary, mode: FlowKeyMode, endpoint: UInt8 = 0) -> FlowProbe {
        let key = FlowKey(packet, mode: mode, endpoint: endpoint)
        let hash = table.hasher.hash(key)
        table.prefetchSlot(hash: hash)
        return FlowProbe(key: key, hash: hash)
    }

    /// Starts loading the entry the probe's slot points at (a few packets ahead of deciding it).
    @inline(__always)
    public func prefetch(_ probe: FlowProbe) {
        table.prefetchEntry(hash: probe.hash)
    }

    /// The verdict for a probed packet, with its memory already on its way.
    @inline(__always)
    public func track(_ packet: PacketSummary, probe: FlowProbe, selection: TargetSelection, now: UInt32) -> FlowVerdict {
        let key = probe.key, hash = probe.hash
        let isTCP = packet.protocol == .tcp
        let flags = packet.tcpFlags
        let establishes = isTCP && flags.contains(.ack) && !flags.contains(.syn) && !flags.contains(.rst)
        let opens = isTCP && flags.contains(.syn) && !flags.contains(.ack) && !flags.contains(.rst)
        switch table.lookup(key, hash: hash, now: now) {
        case .found(let handle):
            let entry = table[handle]
            let isUDP = packet.protocol == .udp
            if isTCP, !flags.isDisjoint(with: [.syn, .fin, .rst]) {
                table.noteTCPControl(handle, flags: flags, fromLow: entry.key.isFromLow(source: packet.source, sourcePort: packet.sourcePort))
            }
            switch selection.decide(established: entry.target, key: key, isTCP: isTCP || entry.isTCP) {
            case .keep:
                table.touch(handle, now: now, isTCP: isTCP, isUDP: isUDP, establishes: establishes, opens: opens)
                return .forward(handle, target: entry.target, cookie: table.cookie(handle), event: .established)
            case .move(let target):
                table.retarget(handle, to: target)
                table.touch(handle, now: now, isTCP: isTCP, isUDP: isUDP, establishes: establishes, opens: opens)
                return .forward(handle, target: target, cookie: table.cookie(handle), event: .moved(from: entry.target))
            case .reset:
                table.remove(handle)
                return .reset(entry)
            }
        case .absent(let point):
            if isTCP, !packet.isFragment, !Self.opensConnection(flags),
               !(selection.picksUpMidConnection && !flags.contains(.rst) && !selection.maglev.isEmpty) {
                return .drop(.tcpWithoutFlow)
            }
            let target: TargetSlot
            switch selection.placeNewFlow(placementHash: selection.placementHasher.hash(key), random: random.next()) {
            case .target(let slot), .failOpen(let slot): target = slot
            case .none: return .drop(.noTarget)
            }
            guard let handle = table.insert(key, at: point, target: target, isTCP: isTCP, isUDP: packet.protocol == .udp, now: now) else {
                return .drop(.flowTableFull)
            }
            return .forward(handle, target: target, cookie: table.cookie(handle), event: .created)
        }
    }

    /// Only a SYN (without ACK: a SYN-ACK answers a SYN that created the flow) starts a TCP flow.
    @inline(__always)
    static func opensConnection(_ flags: TCPFlags) -> Bool {
        flags.contains(.syn) && !flags.contains(.ack) && !flags.contains(.rst)
    }
}

/// A small fast PRNG for fail-open choices (not for secrets): Vigna's SplitMix64.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public var state: UInt64

    public init(state: UInt64) { self.state = state }

    @inline(__always)
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
