import Wire

/// A target's place in the forwarding snapshot. Flows store it, so it stays stable while the
/// target exists (the control plane never reuses a slot while flows may point at it).
public struct TargetSlot: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public init(_ index: Int) { rawValue = UInt16(index) }
    public var index: Int { Int(rawValue) }
    public var description: String { "target#\(rawValue)" }
}

/// Per-flow state bits.
public struct FlowFlags: OptionSet, Hashable, Sendable {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// The entry holds a flow (else it is free).
    public static let live = FlowFlags(rawValue: 1)
    /// A packet of the flow came back from its target: the flow is established (the 30-second
    /// rule no longer applies).
    public static let confirmed = FlowFlags(rawValue: 2)
    /// The flow carries TCP, so the TCP idle timeout applies (also in 2-tuple mode, where the key
    /// has no protocol).
    public static let tcp = FlowFlags(rawValue: 4)
    /// A TCP flow whose handshake has not completed: no segment with ACK but without SYN or RST
    /// yet (a SYN flood's flows stay so; they get `FlowTimeouts.tcpHalfOpen`, not the TCP idle
    /// timeout). Set when a TCP packet creates the flow (a SYN, or a fragment: its flags unknown).
    public static let halfOpen = FlowFlags(rawValue: 8)
    /// The flow carries UDP (the UDP idle timeout applies; with two-tuple keys the key does not
    /// say the protocol).
    public static let udp = FlowFlags(rawValue: 16)
    /// A FIN came from the key's low end, or from its high end.
    public static let finFromLow = FlowFlags(rawValue: 32)
    public static let finFromHigh = FlowFlags(rawValue: 64)
    /// A RST went through (either way).
    public static let reset = FlowFlags(rawValue: 128)
    /// What ends a TCP connection: both FINs, or a RST.
    static let closingBits: FlowFlags = [.finFromLow, .finFromHigh, .reset]
}

/// Where a flow is in its life, as listings show it.
public enum FlowState: String, Hashable, Sendable {
    /// TCP, handshake not completed.
    case syn
    case established
    /// TCP, a FIN or a RST seen (after both FINs or a RST the closing timeout applies).
    case closing
    /// Not TCP: no connection state.
    case active
}

/// One flow, 52 bytes: the key, its target, the generation of its entry (the cookie is computed
/// from entry index, owner and generation: `FlowTable.cookie(_:)`), and two timestamps in seconds
/// of the caller's monotonic clock. Per-flow counters live elsewhere (telemetry), keeping the table
/// within 64 bytes per flow with its index.
public struct FlowEntry: Hashable, Sendable {
    public var key: FlowKey
    public var flags: FlowFlags
    public var target: TargetSlot
    /// Advances each time the entry is reused, so a new flow gets a new cookie.
    public var generation: UInt16
    public var created: UInt32
    /// Last packet in either direction. For a free entry: the next free entry's index.
    public var lastSeen: UInt32

    public init(key: FlowKey, flags: FlowFlags, target: TargetSlot, generation: UInt16, created: UInt32, lastSeen: UInt32) {
        self.key = key
        self.flags = flags
        self.target = target
        self.generation = generation
        self.created = created
        self.lastSeen = lastSeen
    }

    public var isConfirmed: Bool { flags.contains(.confirmed) }
    public var isTCP: Bool { flags.contains(.tcp) }
    public var isHalfOpen: Bool { flags.contains(.halfOpen) }
    /// Both FINs or a RST: the connection is over, only stragglers may follow.
    public var isClosed: Bool { flags.contains(.reset) || flags.isSuperset(of: [.finFromLow, .finFromHigh]) }

    public var state: FlowState {
        guard isTCP else { return .active }
        return isHalfOpen ? .syn : flags.isDisjoint(with: FlowFlags.closingBits) ? .established : .closing
    }
}

/// Idle timeouts in seconds (README "How the flow engine behaves").
public struct FlowTimeouts: Hashable, Sendable {
    /// TCP, listener attribute `tcp.idle_timeout.seconds`: 350 by default, 60–6000.
    public var tcp: UInt32
    /// UDP, listener attribute `udp.idle_timeout.seconds`: 120 by default (AWS's fixed value).
    public var udp: UInt32
    /// Every other protocol, listener attribute `other.idle_timeout.seconds`: 120 by default (AWS's).
    public var other: UInt32
    /// A flow that got nothing back from its target within this time after it began is dropped.
    public var unconfirmed: UInt32
    /// Idle timeout of a half-open TCP flow (handshake not completed): 10 s, as firewalls' TCP
    /// half-open timers (FortiOS `tcp-halfopen-timer`, PAN-OS's TCP handshake timeout). A SYN
    /// retransmitted later simply opens the flow again, on the same appliance.
    public var tcpHalfOpen: UInt32
    /// Idle timeout of a TCP flow after both FINs or a RST, listener attribute
    /// `tcp.closing_timeout.seconds`: 15 by default (PAN-OS's TCP time-wait), so closed
    /// connections do not hold entries for 350 s.
    public var tcpClosing: UInt32

    public static let tcpRange: ClosedRange<UInt32> = 60...6000
    public static let udpRange: ClosedRange<UInt32> = 10...6000
    public static let closingRange: ClosedRange<UInt32> = 1...350

    public init(tcp: UInt32 = 350, udp: UInt32 = 120, other: UInt32 = 120, unconfirmed: UInt32 = 30, tcpHalfOpen: UInt32 = 10,
                tcpClosing: UInt32 = 15) {
        self.tcp = tcp
        self.udp = udp
        self.other = other
        self.unconfirmed = unconfirmed
        self.tcpHalfOpen = tcpHalfOpen
        self.tcpClosing = tcpClosing
    }

    /// True when `entry` has outlived its timeout at `now`. Whole seconds, and strictly longer than
    /// the timeout, so a flow never expires early.
    @inline(__always)
    public func isExpired(_ entry: FlowEntry, now: UInt32) -> Bool {
        let idle = now > entry.lastSeen ? now - entry.lastSeen : 0
        if !entry.isConfirmed, now > entry.created, now - entry.created > unconfirmed { return true }
        let timeout = entry.isHalfOpen ? tcpHalfOpen : entry.isTCP ? tcp : entry.flags.contains(.udp) ? udp : other
        return idle > (entry.isClosed ? min(timeout, tcpClosing) : timeout)
    }
}
