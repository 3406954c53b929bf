import Catalog
import ControlPlane
import DataPlane
import Flows
import Foundation
import PacketIO
import Wire

/// What deregistering targets would do, read from the live flow tables: `gwlb deregister-targets
/// --dry-run` answers with it (changing nothing), the console's drain dialog shows it, and the
/// audit record of a real deregistration keeps it. For each target: its flows now, when its drain
/// ends, and what happens to its flows then (they stay, move, or are reset, by the target group's
/// attributes) with where Maglev would put each one; and where new flows go meanwhile.
struct DeregistrationPreview {
    struct Target {
        var id: String
        var address: String
        var flows = 0, tcpFlows = 0
        /// False when a worker had more flows on it than a preview reads (then `flows` is a floor).
        var complete = true
        var drainEnds: Date
        /// `stay`, `move` or `reset` (AWS's attributes `target_failover.on_deregistration` and
        /// `send_tcp_reset.on_deregistration.enabled`).
        var atDrainEnd: String
        /// Where its flows would go by Maglev over the targets left (what `move` does at the end).
        var moves: [String: Int] = [:]
    }

    var targets: [Target]
    var newFlowsTo: [String]

    /// Flows a preview reads per worker and target.
    static let flowLimit = 200_000

    /// Computes the preview of deregistering `ids` from `group` (nothing changes).
    static func compute(service: ControlPlaneService, group: ARN, ids: [String], instances: [String: String],
                        flows: @Sendable (FlowQuery) -> [FlowRecord], now: Date = Date()) async throws -> DeregistrationPreview {
        let found = try service.read { try $0.targetGroup(group) }
        let delay = TimeInterval(found.attributes.int("deregistration_delay.timeout_seconds"))
        // The data plane as it would be once every drain ended: the targets gone, their slots retired.
        let after = try await service.previewSnapshot { catalog, _ in
            try catalog.deregisterTargets(group, ids, now: now)
            _ = catalog.removeDrained(now: now.addingTimeInterval(delay + 1))
        }
        let atDrainEnd = found.attributes.bool("send_tcp_reset.on_deregistration.enabled") ? "reset"
            : found.attributes["target_failover.on_deregistration"] == "rebalance" ? "move" : "stay"
        let balancer = try service.read { catalog in catalog.listeners.first { $0.targetGroupArn == group }?.loadBalancerArn }
        let selection = (balancer.flatMap { after.policy(loadBalancer: $0.description) } ?? .unserved).selection
        var targets: [Target] = []
        for id in ids {
            let address = found.targetType == "instance" ? instances[id] ?? id : id
            var target = Target(id: id, address: address, drainEnds: now.addingTimeInterval(delay), atDrainEnd: atDrainEnd)
            let view = try service.targets(of: group).first { $0.registration.id == id }
            if let view, let slot = service.slot(of: view, in: group) {
                let records = flows(FlowQuery(target: TargetSlot(slot), limit: flowLimit))
                target.flows = records.count
                target.tcpFlows = records.count { $0.key.protocol == .tcp }
                target.complete = !Dictionary(grouping: records, by: \.worker).values.contains { $0.count >= flowLimit }
                for record in records {
                    let placed = selection.placeNewFlow(placementHash: selection.placementHasher.hash(record.key), random: 0)
                    let destination: String = switch placed {
                    case .target(let slot), .failOpen(let slot): after.target(slot)?.address.description ?? "?"
                    case .none: "none"
                    }
                    target.moves[destination, default: 0] += 1
                }
            }
            targets.append(target)
        }
        let newFlowsTo = try service.targets(of: group)
            .filter { $0.health.state == .healthy && !ids.contains($0.registration.id) }.map(\.address).sorted()
        return DeregistrationPreview(targets: targets, newFlowsTo: newFlowsTo)
    }

    /// As the answer's (and the audit record's) extension element.
    var xml: XMLNode {
        .element("DeregistrationPreview", [
            .list("Targets", targets.map { target in
                [.value("Id", target.id), .value("Address", target.address), .value("ActiveFlows", String(target.flows)),
                 .value("ActiveTCPFlows", String(target.tcpFlows)), .value("Complete", String(target.complete)),
                 .value("DrainingUntil", ResourceXML.timestamp(target.drainEnds)), .value("AtDrainEnd", target.atDrainEnd),
                 .list("FlowsByMaglevTarget", target.moves.sorted { $0.key < $1.key }.map { [.value("Target", $0.key), .value("Flows", String($0.value))] })]
            }),
            .list("NewFlowsGoTo", newFlowsTo.map { [.value("Address", $0)] }),
        ])
    }
}
