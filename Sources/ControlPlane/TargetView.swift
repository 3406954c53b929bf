import Catalog
import DataPlane
import Foundation
import Health
import PacketIO
import Wire

/// A registered target as DescribeTargetHealth and the console show it.
public struct TargetView: Hashable, Sendable {
    public var registration: TargetRegistration
    /// The address its GENEVE traffic goes to (an instance id resolved).
    public var address: String
    public var health: TargetHealthState
    /// On a node of a cluster: each live node's own verdict (its health checks), by node name;
    /// `health` is their consensus. Empty on a single gwlbd.
    public var nodes: [String: TargetHealthState] = [:]

    public init(registration: TargetRegistration, address: String, health: TargetHealthState, nodes: [String: TargetHealthState] = [:]) {
        (self.registration, self.address, self.health, self.nodes) = (registration, address, health, nodes)
    }
}

/// A target of a served load balancer, with this node's counters of it.
public struct ServedTarget: Sendable {
    public var balancer: LoadBalancer
    public var group: ARN
    public var view: TargetView
    /// Its slot in the data plane's target table (nil: not in the forwarding snapshot).
    public var slot: Int?
    public var counters: TargetCounters
    /// The stream's row key: `LOADBALANCER/ID`, the same on every node of a cluster.
    public var rowKey: String { balancer.name + "/" + view.registration.id }
}

/// A change of a target's health, as the health checker found it.
public struct HealthEvent: Hashable, Sendable {
    public var time: Date
    /// The target group's ARN: a target's health is its group's view of it.
    public var targetGroup: String
    public var target: String
    public var from: TargetHealthState?
    public var to: TargetHealthState
}

extension ControlPlaneService {
    /// The targets of `group` with their health as AWS reports it: draining while deregistration is
    /// in progress, unused when no listener uses the group, else what the checks found.
    public nonisolated func targets(of group: ARN) throws -> [TargetView] {
        let health = self.health, node = store.nodeName
        return try read { catalog in
            let found = try catalog.targetGroup(group)
            let inUse = catalog.listeners.contains { $0.targetGroupArn == group }
            return found.targets.map { target in
                let state: TargetHealthState
                if target.deregisteredTime != nil { state = .deregistrationInProgress }
                else if !inUse { state = .notInUse }
                else { state = health[Self.healthKey(group: group, target: target.id)] ?? .registrationInProgress }
                let address = found.targetType == "instance" ? instances[target.id] ?? target.id : target.id
                let nodes = node.map { nodeViews(of: Self.healthKey(group: group, target: target.id), thisNode: $0) } ?? [:]
                return TargetView(registration: target, address: address, health: state, nodes: nodes)
            }
        }
    }

    /// Every served target with its slot and this node's data-plane counters (the stream's rows, a
    /// cluster node's heartbeat).
    public nonisolated func servedTargets(_ statistics: DataPlaneStatistics) -> [ServedTarget] {
        servedBalancers.flatMap { balancer, group -> [ServedTarget] in
            guard let group, let views = try? targets(of: group) else { return [] }
            return views.map { view in
                let slot = self.slot(of: view, in: group)
                let counters = slot.flatMap { $0 < statistics.targets.count ? statistics.targets[$0] : nil } ?? TargetCounters()
                return ServedTarget(balancer: balancer, group: group, view: view, slot: slot, counters: counters)
            }
        }
    }

    /// How long each target's last health check took, in seconds, by `healthKey`.
    public nonisolated var checkLatencies: [String: Double] { healthChecker.latencies }
    /// The last data-path probe's round trip of each target that has one, in seconds.
    public nonisolated var dataPathLatencies: [String: Double] { healthChecker.dataPathLatencies }

    /// The load balancers the data plane serves, each with the target group its listener forwards to.
    public nonisolated var servedBalancers: [(balancer: LoadBalancer, group: ARN?)] {
        read { catalog in
            catalog.servedLoadBalancers.compactMap { arn in
                guard let balancer = try? catalog.loadBalancer(arn) else { return nil }
                return (balancer, catalog.listeners.first { $0.loadBalancerArn == arn }?.targetGroupArn)
            }
        }
    }

    /// The target slot of `view`, a target of `group`, in the data plane (nil when its load
    /// balancer is not served).
    public nonisolated func slot(of view: TargetView, in group: ARN) -> Int? {
        guard let address = IPv4Address(view.address) else { return nil }
        let owner = SlotOwner(group: group.description, peer: UDPPeer(address: address, port: UInt16(clamping: view.registration.port)))
        return self.view.withLock { $0.targetSlots.slot(of: owner) }
    }
}
