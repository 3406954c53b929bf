import Flows
import PacketIO

/// A target as slots know it: its appliance address in its target group. An appliance registered
/// in the target groups of two load balancers has a slot in each, so its counters, flows and
/// health stay apart per load balancer.
public struct SlotOwner: Hashable, Sendable {
    /// The target group's ARN (empty for the first-form daemon's single group).
    public var group: String
    public var peer: UDPPeer

    public init(group: String = "", peer: UDPPeer) {
        self.group = group
        self.peer = peer
    }
}

/// Which target slot each target has in the forwarding snapshots. A target keeps its slot as
/// long as it exists; a slot given up is not handed to another appliance while any flow still
/// points at it (flows pinned to a removed target keep going there until they end: AWS's
/// no_rebalance), however long that flow lives.
public struct TargetSlotTable: Hashable, Sendable {
    /// A slot stays retired at least this long, so the flow counts it is judged by were published
    /// after every worker stopped placing new flows on it (workers publish once a second).
    public static let minimumRetirement: UInt64 = 10

    public private(set) var owners: [SlotOwner?] = []
    /// Appliance addresses by slot, as the snapshots carry them.
    public var peers: [UDPPeer?] { owners.map { $0?.peer } }
    /// When each slot without a current target was given up (monotonic seconds); absent for live slots.
    private var releasedAt: [Int: UInt64] = [:]
    public let capacity: Int

    public init(capacity: Int = 1024) { self.capacity = capacity }

    /// A table as an earlier process left it (`releaseTimes` in monotonic seconds, which hold
    /// across processes within one boot).
    public init(capacity: Int, owners: [SlotOwner?], releaseTimes: [Int: UInt64]) {
        self.capacity = capacity
        self.owners = Array(owners.prefix(capacity))
        releasedAt = releaseTimes.filter { $0.key < self.owners.count }
    }

    /// When each slot without a current target was given up.
    public var releaseTimes: [Int: UInt64] { releasedAt }

    /// Assigns slots for `current` (keeping every existing one), releases slots of targets no longer
    /// current, and returns the slots of the current targets in `current`'s order. A released slot
    /// is free again once `flows` (live flows per slot, as the data plane last published them; a
    /// slot past the end has none) says nothing uses it. Throws, changing nothing, when more slots
    /// would be needed than `capacity`.
    public mutating func update(current: [SlotOwner], now: UInt64, flows: [Int64] = []) throws(SlotsExhausted) -> [TargetSlot] {
        var next = self
        let slots = try next.assign(current, now: now, flows: flows)
        self = next
        return slots
    }

    private mutating func assign(_ current: [SlotOwner], now: UInt64, flows: [Int64]) throws(SlotsExhausted) -> [TargetSlot] {
        let wanted = Set(current)
        for (slot, owner) in owners.enumerated() {
            guard let owner else { continue }
            if wanted.contains(owner) {
                releasedAt[slot] = nil
            } else if releasedAt[slot] == nil {
                releasedAt[slot] = now
            }
        }
        // Slots no flow uses any more are free again.
        for (slot, time) in releasedAt where now >= time + Self.minimumRetirement && (slot < flows.count ? flows[slot] : 0) == 0 {
            owners[slot] = nil
            releasedAt[slot] = nil
        }
        var result: [TargetSlot] = []
        for owner in current {
            if let slot = owners.firstIndex(of: owner) {
                result.append(TargetSlot(slot))
            } else if let free = owners.firstIndex(of: nil) {
                owners[free] = owner
                result.append(TargetSlot(free))
            } else {
                guard owners.count < capacity else { throw SlotsExhausted(capacity: capacity) }
                owners.append(owner)
                result.append(TargetSlot(owners.count - 1))
            }
        }
        return result
    }

    /// The slot of `owner`, current or retired.
    public func slot(of owner: SlotOwner) -> Int? { owners.firstIndex(of: owner) }

    /// Slots whose target is gone but that flows may still use.
    public var retired: [TargetSlot] { releasedAt.keys.sorted().map { TargetSlot($0) } }
}

public struct SlotsExhausted: Error, CustomStringConvertible {
    public let capacity: Int
    public var description: String { "all \(capacity) target slots are in use or waiting for their flows to end" }
}
