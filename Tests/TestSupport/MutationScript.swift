import Catalog
import Foundation

/// A reproducible run of catalog changes: step 0 builds a load balancer, a target group and a
/// listener; every later step registers, deregisters, retags or reconfigures something. Replaying
/// the first n steps always gives the same catalog, so a store can be checked against it.
public enum MutationScript {
    public static let start = Date(timeIntervalSinceReferenceDate: 800_000_000)

    public static func apply(step: Int, to catalog: inout ResourceCatalog) throws {
        let now = start.addingTimeInterval(Double(step))
        if step == 0 {
            let lb = try catalog.createLoadBalancer(name: "lb", type: "gateway", subnets: ["s"], ipAddressType: nil, tags: [],
                                                    id: "0000000000000001", now: now)
            let tg = try catalog.createTargetGroup(name: "tg", protocol: "GENEVE", port: 6081, vpcId: "v", targetType: "ip",
                                                   healthCheck: HealthCheck(), tags: [], id: "0000000000000002")
            _ = try catalog.createListener(loadBalancer: lb.arn, port: nil, protocol: nil, forwardTo: tg.arn, actionType: "forward",
                                           tags: [], id: "0000000000000003")
            return
        }
        let group = catalog.targetGroups[0].arn
        let address = "198.18.\(2 + step % 200 / 100).\(step % 100 + 1)"
        switch step % 4 {
        case 0, 1:
            try catalog.registerTargets(group, [(address, nil)], now: now)
        case 2:
            if catalog.targetGroups[0].targets.contains(where: { $0.id == address }) {
                try catalog.deregisterTargets(group, [address], now: now)
            }
            catalog.removeDrained(now: now)
        default:
            _ = try catalog.modifyTargetGroupAttributes(group, [("deregistration_delay.timeout_seconds", String(step % 3600))])
            try catalog.addTags([catalog.loadBalancers[0].arn], [Tag(key: "step", value: String(step))])
        }
    }

    /// The catalog after the first `steps` steps.
    public static func catalog(after steps: Int) throws -> ResourceCatalog {
        var catalog = ResourceCatalog(region: "eu-west-1", account: "111122223333")
        for step in 0..<steps { try apply(step: step, to: &catalog) }
        return catalog
    }
}
