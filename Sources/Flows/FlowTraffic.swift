import Wire

/// One direction of a flow since its last flow-log export.
public struct DirectionTraffic: Sendable, Hashable {
    public var packets: UInt32 = 0
    public var bytes: UInt64 = 0
    /// Wall-clock seconds of the first and last packet.
    public var first: UInt32 = 0
    public var last: UInt32 = 0

    public init() {}

    @inline(__always)
    mutating func add(bytes: Int, at wallSeconds: UInt32) {
        if packets == 0 { first = wallSeconds }
        packets &+= 1
        self.bytes &+= UInt64(bytes)
        last = wallSeconds
    }
}

/// What a flow carried: totals since it began (flow listings), and each direction since the last
/// flow-log export (VPC flow logs have a record per direction). 64 bytes, kept beside the flow table's
/// entries so the entries stay small.
public struct FlowTraffic: Sendable, Hashable {
    public var packets: UInt64 = 0
    public var bytes: UInt64 = 0
    /// Packets from the key's low end (its low address and port) to its high end.
    public var fromLow = DirectionTraffic()
    public var fromHigh = DirectionTraffic()

    public init() {}
}

extension FlowKey {
    /// True when a packet from `source`:`sourcePort` travels from this key's low end.
    @inline(__always)
    public func isFromLow(source: IPv6Address, sourcePort: UInt16) -> Bool {
        source == lowAddress && (lowAddress != highAddress || sourcePort == lowPort)
    }
}
