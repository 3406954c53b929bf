/// A target's state as the data plane sees it (DescribeTargetHealth's states, README "AWS's rules, and choices").
public enum TargetHealth: UInt8, Hashable, Sendable, CaseIterable {
    case initial, healthy, unhealthy, draining, unused, unavailable

    /// Only healthy targets get new flows (fail-open aside).
    public var takesNewFlows: Bool { self == .healthy }
    /// Registered and not leaving: the fail-open pool when nothing is healthy.
    public var isRegistered: Bool { self == .initial || self == .healthy || self == .unhealthy || self == .unavailable }
}

/// `target_failover.on_deregistration` / `target_failover.on_unhealthy`.
public enum FailoverMode: Hashable, Sendable {
    /// Existing flows stay on their target (AWS's default).
    case noRebalance
    /// Existing flows move to a healthy target once theirs is unhealthy or has finished draining.
    case rebalance
}

/// What happens to established flows whose target fails or leaves (README "AWS's rules, and choices").
public struct FailoverPolicy: Hashable, Sendable {
    public var onDeregistration: FailoverMode
    public var onUnhealthy: FailoverMode
    /// `send_tcp_reset.on_unhealthy.enabled`
    public var resetOnUnhealthy: Bool
    /// `send_tcp_reset.on_deregistration.enabled`
    public var resetOnDeregistration: Bool

    public init(onDeregistration: FailoverMode = .noRebalance, onUnhealthy: FailoverMode = .noRebalance,
                resetOnUnhealthy: Bool = false, resetOnDeregistration: Bool = false) {
        self.onDeregistration = onDeregistration
        self.onUnhealthy = onUnhealthy
        self.resetOnUnhealthy = resetOnUnhealthy
        self.resetOnDeregistration = resetOnDeregistration
    }
}

/// Where a new flow goes.
public enum Placement: Hashable, Sendable {
    /// A healthy target, by Maglev.
    case target(TargetSlot)
    /// No target is healthy: a random registered one (AWS's fail-open).
    case failOpen(TargetSlot)
    /// No registered target at all.
    case none
}

/// What to do with a packet of an established flow, given its target's state.
public enum EstablishedDecision: Hashable, Sendable {
    case keep
    /// Rebalance: pin the flow to this target from now on.
    case move(TargetSlot)
    /// `send_tcp_reset.*`: send a TCP reset and drop the flow.
    case reset
}

/// The target part of a forwarding snapshot: immutable, built by the control side, read by
/// workers. Placement and failover are pure functions of it.
public final class TargetSelection: Sendable {
    /// By slot; slots not listed are `.unused`.
    public let health: [TargetHealth]
    public let policy: FailoverPolicy
    /// Maglev table over the healthy targets, as slots.
    public let maglev: [TargetSlot]
    /// Registered targets, for fail-open when none is healthy.
    public let failOpenPool: [TargetSlot]
    /// The placement hash: fixed, so that nodes and restarts place the same key the same way.
    public let placementHasher: FlowHasher
    /// A TCP packet without a flow that is not a SYN starts one when Maglev has a healthy target
    /// for it (another node's flow, taken over); otherwise only a SYN does (AWS's rule).
    public let picksUpMidConnection: Bool

    /// `targets` pairs each slot with a stable identity (Maglev's input) and its health.
    public init(targets: [(slot: TargetSlot, identity: UInt64, health: TargetHealth)],
                policy: FailoverPolicy = FailoverPolicy(), tableSize: Int? = nil,
                placementHasher: FlowHasher = Maglev.permutationHasher, picksUpMidConnection: Bool = false) {
        self.picksUpMidConnection = picksUpMidConnection
        var health = [TargetHealth](repeating: .unused, count: (targets.map(\.slot.index).max() ?? -1) + 1)
        for target in targets { health[target.slot.index] = target.health }
        self.health = health
        self.policy = policy
        self.placementHasher = placementHasher
        let healthy = targets.filter { $0.health.takesNewFlows }
        let size = tableSize ?? Maglev.tableSize(forTargets: healthy.count)
        maglev = Maglev.build(identities: healthy.map(\.identity), size: size).map { healthy[Int($0)].slot }
        failOpenPool = targets.filter { $0.health.isRegistered }.map(\.slot).sorted { $0.rawValue < $1.rawValue }
    }

    @inline(__always)
    public func health(of slot: TargetSlot) -> TargetHealth {
        slot.index < health.count ? health[slot.index] : .unused
    }

    /// Places a new flow: Maglev over healthy targets by `placementHash`; with none healthy, a
    /// target of the fail-open pool chosen by `random`.
    @inline(__always)
    public func placeNewFlow(placementHash: UInt64, random: UInt64) -> Placement {
        if !maglev.isEmpty { return .target(maglev[Int(placementHash % UInt64(maglev.count))]) }
        if !failOpenPool.isEmpty { return .failOpen(failOpenPool[Int(random % UInt64(failOpenPool.count))]) }
        return .none
    }

    /// Decides for a packet of an established flow pinned to `target`. Healthy, initial and
    /// draining targets keep their flows. An unhealthy target, or one that finished draining,
    /// keeps them too unless the policy says reset (TCP only) or rebalance (to a healthy target,
    /// when there is one).
    @inline(__always)
    public func decide(established target: TargetSlot, key: FlowKey, isTCP: Bool) -> EstablishedDecision {
        let mode: FailoverMode, reset: Bool
        switch health(of: target) {
        case .healthy, .initial, .draining:
            return .keep
        case .unhealthy, .unavailable:
            (mode, reset) = (policy.onUnhealthy, policy.resetOnUnhealthy)
        case .unused:
            (mode, reset) = (policy.onDeregistration, policy.resetOnDeregistration)
        }
        if reset && isTCP { return .reset }
        if mode == .rebalance, !maglev.isEmpty {
            return .move(maglev[Int(placementHasher.hash(key) % UInt64(maglev.count))])
        }
        return .keep
    }
}
