import DataPlane
import Flows
import Foundation
import Health
import PacketIO
import Resources
import Wire

/// Turns the control plane's state (resources, health, the time) into the data plane's
/// `ForwardingSnapshot` for one gateway load balancer.
public struct SnapshotCompiler: Sendable {
    public var slots = TargetSlotTable()

    public init() {}

    /// - Parameters:
    ///   - loadBalancer: the one the endpoints belong to; nil (not created yet) gives no targets.
    ///   - health: the health state of each target by id (targets without one are `initial`).
    ///   - instances: instance id → IPv4 address, for `instance` target groups.
    ///   - slotFlows: live flows per target slot, as the data plane last published them (a slot of a
    ///     removed target is given to another only when none is left).
    public mutating func compile(_ catalog: ResourceCatalog, loadBalancer: ARN?, endpoints: [EndpointIdentity?],
                                 health: [String: TargetHealthState.State], instances: [String: String] = [:],
                                 slotFlows: [Int64] = [], now: Date, monotonicSeconds: UInt64, version: UInt64) throws -> ForwardingSnapshot {
        let listener = loadBalancer.flatMap { arn in catalog.listeners.first { $0.loadBalancerArn == arn } }
        let balancer = loadBalancer.flatMap { arn in catalog.loadBalancers.first { $0.arn == arn } }
        let group = listener.flatMap { listener in catalog.targetGroups.first { $0.arn == listener.targetGroupArn } }
        var registered: [(peer: UDPPeer, health: TargetHealth)] = []
        if let group {
            let delay = TimeInterval(group.attributes.int("deregistration_delay.timeout_seconds"))
            for target in group.targets {
                let addressText = group.targetType == "instance" ? instances[target.id] ?? target.id : target.id
                guard let address = IPv4Address(addressText) else { continue }
                let state: TargetHealth
                if let deregistered = target.deregisteredTime {
                    // Drained targets leave the group (`removeDrained`); until then they drain.
                    guard now.timeIntervalSince(deregistered) < delay else { continue }
                    state = .draining
                } else {
                    state = Self.dataPlaneHealth(health[target.id] ?? .initial)
                }
                registered.append((UDPPeer(address: address, port: UInt16(target.port)), state))
            }
        }
        let assigned = try slots.update(current: registered.map(\.peer), now: monotonicSeconds, flows: slotFlows)
        var targets = zip(assigned, registered).map { (slot: $0, identity: Self.identity($1.peer), health: $1.health) }
        // Slots of removed targets stay known as unused: their established flows keep their appliance.
        for slot in slots.retired { if let peer = slots.peers[slot.index] { targets.append((slot, Self.identity(peer), .unused)) } }

        let attributes = group?.attributes ?? Attributes(AttributeRules.targetGroup)
        let policy = FailoverPolicy(
            onDeregistration: attributes["target_failover.on_deregistration"] == "rebalance" ? .rebalance : .noRebalance,
            onUnhealthy: attributes["target_failover.on_unhealthy"] == "rebalance" ? .rebalance : .noRebalance,
            resetOnUnhealthy: attributes.bool("send_tcp_reset.on_unhealthy.enabled"),
            resetOnDeregistration: attributes.bool("send_tcp_reset.on_deregistration.enabled"))
        let keyMode: FlowKeyMode = !attributes.bool("stickiness.enabled") ? .fiveTuple
            : attributes["stickiness.type"] == "source_ip_dest_ip" ? .twoTuple : .threeTuple
        let timeouts = Self.timeouts(listener?.attributes ?? Attributes(AttributeRules.listener), keyMode: keyMode)
        return ForwardingSnapshot(version: version, endpoints: endpoints, targets: slots.peers,
                                  selection: TargetSelection(targets: targets, policy: policy), keyMode: keyMode,
                                  timeouts: timeouts,
                                  resetWithoutFlow: listener?.attributes.bool("send_tcp_reset.on_idle_timeout.enabled") ?? false,
                                  pathMTUDiscovery: balancer?.attributes.bool("path_mtu_discovery.enabled") ?? true,
                                  innerFlowCheck: attributes.bool("inner_flow_check.enabled"))
    }

    /// The listener's timeouts. The TCP ones apply to five-tuple flows only: a two- or three-tuple
    /// flow holds many connections, so neither one connection's idle time nor its FINs end it
    /// (README "How the flow engine behaves").
    static func timeouts(_ attributes: Attributes, keyMode: FlowKeyMode) -> FlowTimeouts {
        let tcp = keyMode == .fiveTuple ? UInt32(attributes.int("tcp.idle_timeout.seconds")) : 350
        return FlowTimeouts(tcp: tcp, udp: UInt32(attributes.int("udp.idle_timeout.seconds")), other: UInt32(attributes.int("other.idle_timeout.seconds")),
                            tcpClosing: keyMode == .fiveTuple ? UInt32(attributes.int("tcp.closing_timeout.seconds")) : tcp)
    }

    /// Maglev's stable name for a target: its address and port.
    static func identity(_ peer: UDPPeer) -> UInt64 { UInt64(peer.address.rawValue) << 16 | UInt64(peer.port) }

    static func dataPlaneHealth(_ state: TargetHealthState.State) -> TargetHealth {
        switch state {
        case .initial: .initial
        case .healthy: .healthy
        case .unhealthy: .unhealthy
        case .draining: .draining
        case .unused: .unused
        case .unavailable: .unavailable
        }
    }
}
