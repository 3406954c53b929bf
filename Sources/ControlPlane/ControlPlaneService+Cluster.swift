import Catalog
import Foundation
import Health
import Store

/// A node of a cluster: the catalog other nodes change, and the health the other nodes see.
extension ControlPlaneService {
    /// Takes the catalog another node committed, if there is one newer than this node's: the
    /// devices, Linux's routing, the health checks and the data plane follow it. Returns whether
    /// there was one.
    @discardableResult
    public func refresh() throws -> Bool {
        guard !isFrozen, let stored = try store.changedElsewhere() else { return false }
        try adopt(stored)
        return true
    }

    /// Makes `catalog`, already committed by another node, this node's state. It cannot be
    /// refused: a device or route this node cannot make is logged and counted, as at start.
    private func adopt(_ catalog: ResourceCatalog) throws {
        guard catalog != state.catalog else { return }
        let (devicesChange, routingChange) = changes(to: catalog)
        if devicesChange {
            var slots = state.endpointSlots
            let attachments = try slots.update(catalog.activeEndpoints, now: Self.monotonicSeconds())
            do { try attach(attachments) } catch {
                FileHandle.standardError.write(Data("gwlbd: a change from another node: cannot attach its endpoints: \(error)\n".utf8))
            }
            (state.endpointSlots, state.attachments) = (slots, attachments)
        }
        if routingChange {
            do { try route(catalog) } catch {
                FileHandle.standardError.write(Data("gwlbd: a change from another node: cannot apply its routing: \(error)\n".utf8))
            }
        }
        state.catalog = catalog
        try republish()
    }

    /// The other live nodes' views of the targets' health (node → health key → verdict) and how
    /// many nodes are alive, this one included: the targets' health becomes their consensus.
    public func adoptPeerHealth(_ peers: [String: [String: TargetHealthState]], liveNodes: Int) throws {
        guard peers != state.peerHealth || liveNodes != state.liveNodes else { return }
        (state.peerHealth, state.liveNodes) = (peers, liveNodes)
        try republish()
    }

    /// What this node's own health checks found (the view it shares with the cluster).
    public nonisolated var localHealth: [String: TargetHealthState] { view.withLock { $0.localHealth } }

    /// Every live node's view of one target (this node's under `self`'s name), for the API's
    /// per-node breakdown.
    public nonisolated func nodeViews(of key: String, thisNode: String) -> [String: TargetHealthState] {
        let (local, peers) = view.withLock { ($0.localHealth, $0.peerHealth) }
        var views = peers.compactMapValues { $0[key] }
        views[thisNode] = local[key]
        return views
    }
}
