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
}

/// Idle timeouts in seconds (README "How the flow engine behaves").
public struct FlowTimeouts: Hashable, Sendable {
    /// TCP, listener attribute `tcp.idle_timeout.seconds`: 350 by default, 60–6000.
    public var tcp: UInt32
    /// Every other protocol: 120, fixed by AWS.
    public var other: UInt32
    /// A flow that got nothing back from its target within this time after it began is dropped.
    public var unconfirmed: UInt32
    /// Idle timeout of a half-open TCP flow (handshake not completed): 10 s, as firewalls' TCP
    /// half-open timers (FortiOS `tcp-halfopen-timer`, PAN-OS's TCP handshake timeout). A SYN
    /// retransmitted later simply opens the flow again, on the same appliance.
    public var tcpHalfOpen: UInt32

    public static let tcpRange: ClosedRange<UInt32> = 60...6000

    public init(tcp: UInt32 = 350, other: UInt32 = 120, unconfirmed: UInt32 = 30, tcpHalfOpen: UInt32 = 10) {
        self.tcp = tcp
        self.other = other
        self.unconfirmed = unconfirmed
        self.tcpHalfOpen = tcpHalfOpen
    }

    /// True when `entry` has outlived its timeout at `now`. Whole seconds, and strictly longer than
    /// the timeout, so a flow never expires early.
    @inline(__always)
    public func isExpired(_ entry: FlowEntry, now: UInt32) -> Bool {
        let idle = now > entry.lastSeen ? now - entry.lastSeen : 0
        if !entry.isConfirmed, now > entry.created, now - entry.created > unconfirmed { return true }
        return idle > (entry.isHalfOpen ? tcpHalfOpen : entry.isTCP ? tcp : other)
    }
}
