/// Refers to one entry of a `FlowTable`; valid until the flow is removed.
public struct FlowHandle: Hashable, Sendable {
    public let index: Int
}

/// Where `insert` puts a new flow: the empty index slot the lookup ended on.
public struct FlowInsertionPoint: Hashable, Sendable {
    let slot: Int
    let tag: UInt32
}

/// The result of looking a key up.
public enum FlowLookup: Hashable, Sendable {
    case found(FlowHandle)
    /// No live flow; an expired one, if there was one, has been removed (and reported).
    case absent(FlowInsertionPoint)
}

/// Totals since the table was made; `FlowTable.count` is the active flow count.
public struct FlowTableCounters: Hashable, Sendable {
    public var created: UInt64 = 0
    public var expired: UInt64 = 0
    /// New flows refused because the table was full (CloudWatch's RejectedFlowCount).
    public var rejected: UInt64 = 0
    /// Of those, TCP flows (CloudWatch's RejectedFlowCount_TCP).
    public var rejectedTCP: UInt64 = 0
    /// Flows removed by `remove` (reset, end of drain), not by expiry.
    public var removed: UInt64 = 0
    /// Active flows whose key says TCP or UDP (2-tuple keys carry no protocol: neither).
    public var activeTCP = 0
    public var activeUDP = 0
}

/// Memory a `FlowTable` keeps its entries and their traffic in when it does not allocate them:
/// `capacity` of each, zero where never used. `adopt`: the entries hold an earlier process's
/// flows, which the table takes over; `written`: entries from there on were never written (zero),
/// so taking over need not read (and so populate) them.
public struct FlowTableMemory {
    public let entries: UnsafeMutablePointer<FlowEntry>
    public let traffic: UnsafeMutablePointer<FlowTraffic>
    public let adopt: Bool
    public let written: Int

    public init(entries: UnsafeMutablePointer<FlowEntry>, traffic: UnsafeMutablePointer<FlowTraffic>, adopt: Bool, written: Int) {
        self.entries = entries
        self.traffic = traffic
        self.adopt = adopt
        self.written = written
    }
}
