import Flows
import PacketIO

/// Which target slot each appliance has in the forwarding snapshots. A target keeps its slot as
/// long as it exists; a slot given up is not handed to another appliance while any flow still
/// points at it (flows pinned to a removed target keep going there until they end: AWS's
/// no_rebalance), however long that flow lives.
public struct TargetSlotTable: Hashable, Sendable {
    /// A slot stays retired at least this long, so the flow counts it is judged by were published
    /// after every worker stopped placing new flows on it (workers publish once a second).
    public static let minimumRetirement: UInt64 = 10

    public private(set) var peers: [UDPPeer?] = []
    /// When each slot without a current target was given up (monotonic seconds); absent for live slots.
    private var releasedAt: [Int: UInt64] = [:]
    public let capacity: Int

    public init(capacity: Int = 1024) { self.capacity = capacity }

    /// Assigns slots for `current` (keeping every existing one), releases slots of targets no longer
    /// current, and returns the slots of the current targets in `current`'s order. A released slot
    /// is free again once `flows` (live flows per slot, as the data plane last published them; a
    /// slot past the end has none) says nothing uses it. Throws, changing nothing, when more slots
    /// would be needed than `capacity`.
    public mutating func update(current: [UDPPeer], now: UInt64, flows: [Int64] = []) throws(SlotsExhausted) -> [TargetSlot] {
        var next = self
        let slots = try next.assign(current, now: now, flows: flows)
        self = next
        return slots
    }

    private mutating func assign(_ current: [UDPPeer], now: UInt64, flows: [Int64]) throws(SlotsExhausted) -> [TargetSlot] {
        let wanted = Set(current)
        for (slot, peer) in peers.enumerated() {
            guard let peer else { continue }
            if wanted.contains(peer) {
                releasedAt[slot] = nil
            } else if releasedAt[slot] == nil {
                releasedAt[slot] = now
            }
        }
        // Slots no flow uses any more are free again.
        for (slot, time) in releasedAt where now >= time + Self.minimumRetirement && (slot < flows.count ? flows[slot] : 0) == 0 {
            peers[slot] = nil
            releasedAt[slot] = nil
        }
        var result: [TargetSlot] = []
        for peer in current {
            if let slot = peers.firstIndex(of: peer) {
                result.append(TargetSlot(slot))
            } else if let free = peers.firstIndex(of: nil) {
                peers[free] = peer
                result.append(TargetSlot(free))
            } else {
                guard peers.count < capacity else { throw SlotsExhausted(capacity: capacity) }
                peers.append(peer)
                result.append(TargetSlot(peers.count - 1))
            }
        }
        return result
    }

    /// Slots whose target is gone but that flows may still use.
    public var retired: [TargetSlot] { releasedAt.keys.sorted().map { TargetSlot($0) } }
}

public struct SlotsExhausted: Error, CustomStringConvertible {
    public let capacity: Int
    public var description: String { "all \(capacity) target slots are in use or waiting for their flows to end" }
}
