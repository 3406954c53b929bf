import ControlInput
import ControlPlane
import DataPlane
import Flows
import PacketIO
import Wire

extension DaemonConfiguration {
    /// The forwarding snapshot this configuration describes: every target healthy (health checks
    /// come with the control plane). `slots` keeps every address in its target slot across reloads;
    /// removed addresses stay in theirs as `unused`, so established flows keep their appliance
    /// (AWS's default, no_rebalance) and a slot never names another appliance while flows may use it.
    public func snapshot(version: UInt64, slots: inout TargetSlotTable, monotonicSeconds: UInt64,
                         slotFlows: [Int64] = []) throws -> ForwardingSnapshot {
        let peers = targets.map { UDPPeer(address: $0, port: Geneve.udpPort) }
        let assigned = try slots.update(current: peers.map { SlotOwner(peer: $0) }, now: monotonicSeconds, flows: slotFlows)
        let identity = { (peer: UDPPeer) in UInt64(peer.address.rawValue) << 16 | UInt64(peer.port) }
        var selectionTargets = zip(assigned, peers).map { (slot: $0, identity: identity($1), health: TargetHealth.healthy) }
        for slot in slots.retired { if let peer = slots.peers[slot.index] { selectionTargets.append((slot, identity(peer), .unused)) } }
        // The TCP timeouts apply with five-tuple keys only (README "How the flow engine behaves").
        let tcp = keyMode == .fiveTuple ? tcpIdleTimeout : 350
        let timeouts = FlowTimeouts(tcp: tcp, udp: udpIdleTimeout, other: otherIdleTimeout, tcpClosing: keyMode == .fiveTuple ? tcpClosingTimeout : tcp)
        return ForwardingSnapshot(version: version, endpoints: endpoints.map(\.identity), targets: slots.peers,
                                  selection: TargetSelection(targets: selectionTargets), keyMode: keyMode, timeouts: timeouts,
                                  pathMTUDiscovery: pathMTUDiscovery, innerFlowCheck: innerFlowCheck)
    }
}
