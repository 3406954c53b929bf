/// Packets and bytes through one target, each way, and the flows pinned to it.
public struct TargetCounters: Sendable, Hashable {
    /// Sent to the appliance.
    public var packetsToTarget: UInt64 = 0
    public var bytesToTarget: UInt64 = 0
    /// Accepted back from the appliance.
    public var packetsFromTarget: UInt64 = 0
    public var bytesFromTarget: UInt64 = 0
    /// Flows pinned to it now.
    public var activeFlows: Int64 = 0
    /// Flows pinned to it since start.
    public var newFlows: UInt64 = 0

    public init() {}

    mutating func add(_ other: TargetCounters) {
        packetsToTarget += other.packetsToTarget
        bytesToTarget += other.bytesToTarget
        packetsFromTarget += other.packetsFromTarget
        bytesFromTarget += other.bytesFromTarget
        activeFlows += other.activeFlows
        newFlows += other.newFlows
    }
}

/// Counters of the data plane: each worker keeps its own plain integers and publishes a copy now
/// and then; readers sum the copies (`DataPlane.statistics()`).
public struct DataPlaneStatistics: Sendable, Hashable {
    /// By target slot.
    public var targets: [TargetCounters]
    /// By `DropReason.rawValue`.
    public var drops: [UInt64]
    public var activeFlows: Int64 = 0
    /// Of the active flows, those of TCP and of UDP (the rest: other protocols, or 2-tuple keys).
    public var activeTCPFlows: Int64 = 0
    public var activeUDPFlows: Int64 = 0
    public var newFlows: UInt64 = 0
    public var expiredFlows: UInt64 = 0
    /// New flows refused because the table was full (CloudWatch's RejectedFlowCount).
    public var rejectedFlows: UInt64 = 0
    /// Of those, TCP flows (RejectedFlowCount_TCP).
    public var rejectedTCPFlows: UInt64 = 0
    /// TCP RSTs sent (CloudWatch's TCP_ELB_Reset_Count).
    public var resetsSent: UInt64 = 0
    /// Packets read from endpoints, and their bytes.
    public var endpointPackets: UInt64 = 0
    public var endpointBytes: UInt64 = 0
    /// Datagrams received on the GENEVE port, and their bytes.
    public var genevePackets: UInt64 = 0
    public var geneveBytes: UInt64 = 0
    /// Packets passed to the worker that owns their flow.
    public var handedOff: UInt64 = 0
    /// On a node of a cluster: returns accepted by their cluster cookie for flows this node does
    /// not hold (another node sent them).
    public var returnsOfOtherNodes: UInt64 = 0
    /// ICMP "fragmentation needed" / "packet too big" messages sent for oversize packets.
    public var packetTooBigSent: UInt64 = 0
    /// Offloads: returned segments joined into super-packets for one endpoint write (user-space
    /// GRO), those writes, and returned datagrams that arrived coalesced by the kernel (UDP GRO).
    public var coalescedSegments: UInt64 = 0
    public var coalescedWrites: UInt64 = 0
    public var coalescedDatagramsReceived: UInt64 = 0
    /// Super-packets read from endpoints (TSO/USO), the packets cut from them, and those dropped
    /// whole because their virtio header did not agree with their headers.
    public var superPacketsRead: UInt64 = 0
    public var superPacketSegments: UInt64 = 0
    public var malformedSuperPackets: UInt64 = 0
    /// Times a worker found an endpoint device gone from under gwlbd (deleted) and stopped using it.
    public var endpointsLost: UInt64 = 0
    /// The snapshot version in use (summed over workers: the oldest any worker uses).
    public var snapshotVersion: UInt64 = 0
    /// From the last snapshot's publication to its pickup by the worker (summed: the slowest).
    public var snapshotPickupNanoseconds: Int64 = 0

    public init(targetSlots: Int) {
        targets = Array(repeating: TargetCounters(), count: targetSlots)
        drops = Array(repeating: 0, count: DropReason.allCases.count)
    }

    public func drops(_ reason: DropReason) -> UInt64 { drops[Int(reason.rawValue)] }

    public var totalDrops: UInt64 { drops.reduce(0, +) }

    /// Adds another worker's counters (same number of target slots).
    public mutating func add(_ other: DataPlaneStatistics) {
        for slot in targets.indices { targets[slot].add(other.targets[slot]) }
        for reason in drops.indices { drops[reason] += other.drops[reason] }
        activeFlows += other.activeFlows
        activeTCPFlows += other.activeTCPFlows
        activeUDPFlows += other.activeUDPFlows
        newFlows += other.newFlows
        expiredFlows += other.expiredFlows
        rejectedFlows += other.rejectedFlows
        rejectedTCPFlows += other.rejectedTCPFlows
        resetsSent += other.resetsSent
        endpointPackets += other.endpointPackets
        endpointBytes += other.endpointBytes
        genevePackets += other.genevePackets
        geneveBytes += other.geneveBytes
        handedOff += other.handedOff
        returnsOfOtherNodes += other.returnsOfOtherNodes
        packetTooBigSent += other.packetTooBigSent
        coalescedSegments += other.coalescedSegments
        coalescedWrites += other.coalescedWrites
        coalescedDatagramsReceived += other.coalescedDatagramsReceived
        superPacketsRead += other.superPacketsRead
        superPacketSegments += other.superPacketSegments
        malformedSuperPackets += other.malformedSuperPackets
        endpointsLost += other.endpointsLost
        snapshotVersion = min(snapshotVersion, other.snapshotVersion)
        snapshotPickupNanoseconds = max(snapshotPickupNanoseconds, other.snapshotPickupNanoseconds)
    }

    /// Copies `other` element by element, so storage this value owns alone is reused, not reallocated.
    mutating func copy(from other: DataPlaneStatistics) {
        for slot in targets.indices { targets[slot] = other.targets[slot] }
        for reason in drops.indices { drops[reason] = other.drops[reason] }
        activeFlows = other.activeFlows
        activeTCPFlows = other.activeTCPFlows
        activeUDPFlows = other.activeUDPFlows
        newFlows = other.newFlows
        expiredFlows = other.expiredFlows
        rejectedFlows = other.rejectedFlows
        rejectedTCPFlows = other.rejectedTCPFlows
        resetsSent = other.resetsSent
        endpointPackets = other.endpointPackets
        endpointBytes = other.endpointBytes
        genevePackets = other.genevePackets
        geneveBytes = other.geneveBytes
        handedOff = other.handedOff
        returnsOfOtherNodes = other.returnsOfOtherNodes
        packetTooBigSent = other.packetTooBigSent
        coalescedSegments = other.coalescedSegments
        coalescedWrites = other.coalescedWrites
        coalescedDatagramsReceived = other.coalescedDatagramsReceived
        superPacketsRead = other.superPacketsRead
        superPacketSegments = other.superPacketSegments
        malformedSuperPackets = other.malformedSuperPackets
        endpointsLost = other.endpointsLost
        snapshotVersion = other.snapshotVersion
        snapshotPickupNanoseconds = other.snapshotPickupNanoseconds
    }
}
