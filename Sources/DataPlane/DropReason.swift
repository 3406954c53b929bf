import Wire

/// Why the data plane dropped a packet. Every drop has one; each has its own counter.
public enum DropReason: UInt8, CaseIterable, Sendable, Hashable {
    /// From an endpoint, and not a valid IP packet (the record's `detail` says what was wrong).
    case malformedPacket
    /// Inner packet larger than 8,500 bytes (README "gwlbd", MTU): dropped without fragmentation, and answered
    /// with ICMP "packet too big" unless `path_mtu_discovery.enabled` is off.
    case oversize
    /// A new flow with no target group or no registered target to send it to.
    case noTargets
    /// A new flow while this worker's flow table is full (RejectedFlowCount).
    case flowTableFull
    /// A TCP packet other than a SYN with no flow.
    case tcpWithoutFlow
    /// The flow's target failed or left and `send_tcp_reset.*` says reset: RST sent, flow removed.
    case targetReset
    /// A datagram on the GENEVE port that breaks the receiver rules (`detail` says which).
    case badGeneve
    /// A returned packet names no endpoint of this gwlbd (or a packet came from an endpoint being deleted).
    case unknownEndpoint
    /// Returned by an appliance, and the inner packet is not a valid IP packet.
    case malformedReturn
    /// Returned with a cookie that matches no live flow of that endpoint (expired, forged, changed).
    case unknownFlow
    /// Returned from an address that is not the target the flow is pinned to.
    case returnFromNonTarget
    /// The worker that owns the flow had no room in its hand-off queue.
    case handoffOverflow
    /// The kernel refused to send the GENEVE datagram.
    case sendFailed
    /// The kernel refused the packet written into the endpoint.
    case endpointWriteFailed
    /// Returned with a live flow's cookie, from its target, but the inner packet belongs to another
    /// flow (README "Security: who can do what"); `inner_flow_check.enabled` false turns the check off.
    case returnFlowMismatch

    /// Stable snake_case name for counters, metrics labels and the console.
    public var name: String {
        switch self {
        case .malformedPacket: "malformed_packet"
        case .oversize: "oversize"
        case .noTargets: "no_targets"
        case .flowTableFull: "flow_table_full"
        case .tcpWithoutFlow: "tcp_without_flow"
        case .targetReset: "target_reset"
        case .badGeneve: "bad_geneve"
        case .unknownEndpoint: "unknown_endpoint"
        case .malformedReturn: "malformed_return"
        case .unknownFlow: "unknown_flow"
        case .returnFromNonTarget: "return_from_non_target"
        case .handoffOverflow: "handoff_overflow"
        case .sendFailed: "send_failed"
        case .endpointWriteFailed: "endpoint_write_failed"
        case .returnFlowMismatch: "return_flow_mismatch"
        }
    }
}

/// One dropped packet, as the recent-drops ring keeps it. Fixed size: recording one allocates nothing.
public struct DropRecord: Sendable, Hashable {
    /// Wall-clock time, nanoseconds since 1970.
    public var time: Int64
    public var reason: DropReason
    /// The wire error behind `malformedPacket`, `malformedReturn` and `badGeneve`.
    public var detail: WireError?
    public var source: IPv6Address
    public var destination: IPv6Address
    public var sourcePort: UInt16
    public var destinationPort: UInt16
    public var `protocol`: IPProtocol
    /// Bytes of the packet as received (inner packet, or whole datagram on the return path).
    public var size: Int
    /// The endpoint it came from or was going to, when known.
    public var endpoint: UInt8?
    /// The appliance it came from (return path), when known.
    public var appliance: IPv4Address?

    public init(time: Int64, reason: DropReason, detail: WireError? = nil, source: IPv6Address = .zero,
                destination: IPv6Address = .zero, sourcePort: UInt16 = 0, destinationPort: UInt16 = 0,
                protocol proto: IPProtocol = IPProtocol(rawValue: 0), size: Int, endpoint: UInt8? = nil,
                appliance: IPv4Address? = nil) {
        self.time = time
        self.reason = reason
        self.detail = detail
        self.source = source
        self.destination = destination
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.protocol = proto
        self.size = size
        self.endpoint = endpoint
        self.appliance = appliance
    }
}

/// A bounded ring of the most recent drops; the oldest is overwritten.
public struct DropRing: Sendable {
    public let capacity: Int
    private var records: [DropRecord]
    /// Total ever recorded; the next write goes to `written % capacity`.
    public private(set) var written: UInt64 = 0

    public init(capacity: Int) {
        self.capacity = capacity
        records = Array(repeating: DropRecord(time: 0, reason: .malformedPacket, size: 0), count: capacity)
    }

    @inline(__always)
    public mutating func append(_ record: DropRecord) {
        records[Int(written % UInt64(capacity))] = record
        written += 1
    }

    /// The records still held, oldest first.
    public var recent: [DropRecord] {
        let held = Int(min(written, UInt64(capacity)))
        let start = Int((written - UInt64(held)) % UInt64(capacity))
        return (0..<held).map { records[(start + $0) % capacity] }
    }

    /// Copies in place from `other` (same capacity): no allocation while this ring's storage is unshared.
    mutating func copy(from other: DropRing) {
        for index in 0..<capacity { records[index] = other.records[index] }
        written = other.written
    }
}
