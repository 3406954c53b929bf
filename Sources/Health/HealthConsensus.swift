/// A cluster's verdict on a target from every live node's health checks (AWS describes its checks
/// as distributed, with a consensus): healthy when a strict majority of the live nodes see it
/// healthy. A node that has no verdict yet (just joined, or not checking it yet) counts as not
/// healthy, so a half-seen target never takes new flows on some nodes only; a dead node's view
/// does not count at all.
public enum HealthConsensus {
    /// - Parameters:
    ///   - views: each live node's verdict on this target (nodes without one are absent).
    ///   - liveNodes: how many nodes are alive, this one included (at least the views' count).
    public static func decide(_ views: [TargetHealthState], liveNodes: Int) -> TargetHealthState {
        let voters = max(liveNodes, views.count, 1)
        let healthy = views.filter { $0.state == .healthy }.count
        if healthy * 2 > voters { return .healthy }
        let unhealthy = views.filter { $0.state == .unhealthy }
        // No node has a verdict yet: still the initial checks (the most advanced of them).
        guard !unhealthy.isEmpty || healthy > 0 else {
            return views.first { $0.state == .initial && $0.reason == TargetHealthState.initialHealthChecking.reason } ?? views.first ?? .registrationInProgress
        }
        if voters == 1, let only = unhealthy.first { return only }
        // The most common of the failing nodes' reasons, and how many nodes see it healthy.
        let reasons = Dictionary(grouping: unhealthy) { $0.reason ?? "" }
        let reason = reasons.max { $0.value.count < $1.value.count || ($0.value.count == $1.value.count && $0.key > $1.key) }?.value.first
            ?? TargetHealthState.failedHealthChecks
        return TargetHealthState(.unhealthy, reason: reason.reason,
                                 details: "\(reason.details ?? "Health checks failed") (healthy on \(healthy) of \(voters) nodes)")
    }

    /// Every target's verdict: `local` is this node's view, `peers` the other live nodes' (by
    /// node), `liveNodes` counts this one. Targets this node does not check are left out (they are
    /// not in its catalog yet, or no longer).
    public static func decide(local: [String: TargetHealthState], peers: [String: [String: TargetHealthState]],
                              liveNodes: Int) -> [String: TargetHealthState] {
        guard !peers.isEmpty else { return local }
        var result: [String: TargetHealthState] = [:]
        for (target, own) in local {
            result[target] = decide([own] + peers.values.compactMap { $0[target] }, liveNodes: max(liveNodes, peers.count + 1))
        }
        return result
    }
}
