import Flows
import PacketIO
import Wire

/// The return path on a node of a cluster, where an appliance's reply may reach a node that never
/// saw the flow (it answers a shared address, or the routers moved the flow to this node while
/// packets were in flight).
extension Worker {
    /// Checks a returned packet by its cluster cookie (`ClusterCookie`: a MAC of the inner packet's
    /// flow, the endpoint and the appliance, under the key every node shares), then delivers it.
    /// A flow this node holds is confirmed and counted as on a single gwlbd; another node's flow is
    /// delivered when the sender is a target of the load balancer, and counted as such. Returns
    /// the worker that holds (or would hold) the flow when it is another one, for a hand-off.
    @inline(__always)
    func acceptClusterReturn(_ inner: UnsafeRawBufferPointer, _ summary: PacketSummary, metadata: AWSGeneveMetadata, endpoint: Int,
                             from peer: UDPPeer, _ snapshot: ForwardingSnapshot, _ clusterCookie: ClusterCookie) -> Int? {
        let policy = snapshot.policies[endpoint]
        let probe = tracker.probe(summary, mode: policy.keyMode, endpoint: UInt8(endpoint))
        // The cookie is checked against the inner packet whatever `inner_flow_check` says: it is
        // all a node without the flow has (README "A cluster of gwlbd nodes").
        guard clusterCookie.admits(metadata.cookie, probe.key, endpointID: metadata.endpointID, appliance: peer.address) else {
            record(.unknownFlow, summary, size: summary.length, endpoint: endpoint, appliance: peer.address, packet: inner)
            return nil
        }
        // This node's owner of the flow by its own hash: the cookie's owner bits are the sender's.
        let owner = self.owner(ofHash: probe.hash)
        if owner != index { return owner }
        let target: TargetSlot
        switch table.lookup(probe.key, hash: probe.hash, now: time.seconds) {
        case .found(let handle):
            target = table[handle].target
            guard snapshot.target(target)?.address == peer.address else {
                record(.returnFromNonTarget, summary, size: summary.length, endpoint: endpoint, appliance: peer.address, packet: inner)
                return nil
            }
            table.confirm(handle, now: time.seconds)
            if summary.protocol == .tcp, summary.tcpFlags.contains(.rst) { table.noteTCPControl(handle, flags: summary.tcpFlags, fromLow: false) }
        case .absent:
            guard let slot = registeredSlot(of: peer.address, in: policy.selection, snapshot) else {
                record(.returnFromNonTarget, summary, size: summary.length, endpoint: endpoint, appliance: peer.address, packet: inner)
                return nil
            }
            target = slot
            counters.returnsOfOtherNodes += 1
        }
        captureIfWanted(summary, inner, .fromTarget(peer.address), endpoint: endpoint)
        if target.index < counters.targets.count {
            counters.targets[target.index].packetsFromTarget += 1
            counters.targets[target.index].bytesFromTarget += UInt64(summary.length)
        }
        deliver(inner, summary, endpoint: endpoint, appliance: peer.address)
        return nil
    }

    /// The slot of the load balancer's target at `address` (draining ones too: their flows live on).
    @inline(__always)
    func registeredSlot(of address: IPv4Address, in selection: TargetSelection, _ snapshot: ForwardingSnapshot) -> TargetSlot? {
        // Linear over the load balancer's slots: rare (another node's flows) and a handful of targets.
        for index in selection.health.indices where selection.health[index] != .unused {
            if index < snapshot.targets.count, snapshot.targets[index]?.address == address { return TargetSlot(index) }
        }
        return nil
    }
}
