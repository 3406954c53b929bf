import Catalog
import DataPlane
import Flows
import Foundation
import Health
import PacketIO
import Wire

/// Turns the control plane's state (resources, health, the time) into the data plane's
/// `ForwardingSnapshot`: each endpoint follows its own load balancer's listener, target group and
/// attributes, and all of them share one set of target slots.
public struct SnapshotCompiler: Sendable {
    public var slots = TargetSlotTable()
    /// This gwlbd is a node of a cluster when set: its flows carry the cluster's cookies, and
    /// `tcp.mid_connection_pickup` `auto` picks up.
    public var clusterCookie: ClusterCookie?
    var clustered: Bool { clusterCookie != nil }

    public init() {}

    /// - Parameters:
    ///   - endpoints: the attached endpoints; each names its load balancer, whose targets get slots.
    ///   - health: the health state of each target by `ControlPlaneService.healthKey` (targets
    ///     without one are `initial`).
    ///   - instances: instance id → IPv4 address, for `instance` target groups.
    ///   - slotFlows: live flows per target slot, as the data plane last published them (a slot of a
    ///     removed target is given to another only when none is left).
    public mutating func compile(_ catalog: ResourceCatalog, endpoints: [EndpointAttachment],
                                 health: [String: TargetHealthState.State], instances: [String: String] = [:],
                                 slotFlows: [Int64] = [], now: Date, monotonicSeconds: UInt64, version: UInt64) throws -> ForwardingSnapshot {
        var balancers: [ARN] = []
        for endpoint in endpoints {
            if let balancer = endpoint.loadBalancer, !balancers.contains(balancer) { balancers.append(balancer) }
        }
        let plans = balancers.map { Plan(catalog, loadBalancer: $0, health: health, instances: instances, now: now) }
        // One update for all: a slot is free only when no load balancer's target holds it.
        let assigned = try slots.update(current: plans.flatMap { $0.registered.map(\.owner) }, now: monotonicSeconds, flows: slotFlows)
        var policies: [ARN: BalancerPolicy] = [:]
        var next = assigned[...]
        for plan in plans {
            let slots = next.prefix(plan.registered.count)
            next = next.dropFirst(plan.registered.count)
            policies[plan.loadBalancer] = plan.policy(slots: Array(slots), table: self.slots, clustered: clustered)
        }
        var identities = [EndpointIdentity?](repeating: nil, count: (endpoints.map(\.slot).max() ?? -1) + 1)
        var endpointPolicies = [BalancerPolicy](repeating: .unserved, count: identities.count)
        for endpoint in endpoints {
            identities[endpoint.slot] = endpoint.identity
            endpointPolicies[endpoint.slot] = endpoint.loadBalancer.flatMap { policies[$0] } ?? .unserved
        }
        return ForwardingSnapshot(version: version, endpoints: identities, targets: slots.peers, policies: endpointPolicies,
                                  clusterCookie: clusterCookie)
    }

    /// One load balancer's part of a snapshot: its targets as registered, then its policy once
    /// they have slots.
    struct Plan {
        let loadBalancer: ARN
        let listener: Listener?
        let balancer: LoadBalancer?
        let group: TargetGroup?
        var registered: [(owner: SlotOwner, health: TargetHealth)] = []

        init(_ catalog: ResourceCatalog, loadBalancer arn: ARN, health: [String: TargetHealthState.State], instances: [String: String], now: Date) {
            loadBalancer = arn
            listener = catalog.listeners.first { $0.loadBalancerArn == arn }
            balancer = catalog.loadBalancers.first { $0.arn == arn }
            group = listener.flatMap { listener in catalog.targetGroups.first { $0.arn == listener.targetGroupArn } }
            guard let group else { return }
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
                    state = SnapshotCompiler.dataPlaneHealth(health[ControlPlaneService.healthKey(group: group.arn, target: target.id)] ?? .initial)
                }
                registered.append((SlotOwner(group: group.arn.description, peer: UDPPeer(address: address, port: UInt16(target.port))), state))
            }
        }

        func policy(slots assigned: [TargetSlot], table: TargetSlotTable, clustered: Bool) -> BalancerPolicy {
            var targets = zip(assigned, registered).map { (slot: $0, identity: SnapshotCompiler.identity($1.owner.peer), health: $1.health) }
            // Slots of removed targets stay known as unused: their established flows keep their appliance.
            for slot in table.retired {
                if let owner = table.owners[slot.index], owner.group == group?.arn.description {
                    targets.append((slot, SnapshotCompiler.identity(owner.peer), .unused))
                }
            }
            let attributes = group?.attributes ?? Attributes(AttributeRules.targetGroup)
            let failover = FailoverPolicy(
                onDeregistration: attributes["target_failover.on_deregistration"] == "rebalance" ? .rebalance : .noRebalance,
                onUnhealthy: attributes["target_failover.on_unhealthy"] == "rebalance" ? .rebalance : .noRebalance,
                resetOnUnhealthy: attributes.bool("send_tcp_reset.on_unhealthy.enabled"),
                resetOnDeregistration: attributes.bool("send_tcp_reset.on_deregistration.enabled"))
            let keyMode: FlowKeyMode = !attributes.bool("stickiness.enabled") ? .fiveTuple
                : attributes["stickiness.type"] == "source_ip_dest_ip" ? .twoTuple : .threeTuple
            return BalancerPolicy(loadBalancer: loadBalancer.description, selection: TargetSelection(targets: targets, policy: failover,
                                                                                                   picksUpMidConnection: SnapshotCompiler.picksUp(balancer, clustered: clustered)),
                                  keyMode: keyMode,
                                  timeouts: SnapshotCompiler.timeouts(listener?.attributes ?? Attributes(AttributeRules.listener), keyMode: keyMode),
                                  resetWithoutFlow: listener?.attributes.bool("send_tcp_reset.on_idle_timeout.enabled") ?? false,
                                  pathMTUDiscovery: balancer?.attributes.bool("path_mtu_discovery.enabled") ?? true,
                                  innerFlowCheck: attributes.bool("inner_flow_check.enabled"))
        }
    }

    /// `tcp.mid_connection_pickup`: `auto` picks up on a node of a cluster only.
    static func picksUp(_ balancer: LoadBalancer?, clustered: Bool) -> Bool {
        switch balancer?.attributes["tcp.mid_connection_pickup"] {
        case "enabled": true
        case "disabled": false
        default: clustered
        }
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
