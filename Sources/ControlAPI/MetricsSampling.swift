import ControlPlane
import DataPlane
import Foundation
import PacketIO
import Telemetry

extension Observatory {
    /// The data plane's counters with the control plane's names and health, for a metrics flush.
    public func metricsSample(_ service: ControlPlaneService, time: Double = ProcessInfo.processInfo.systemUptime) -> MetricsSample {
        let statistics = self.statistics()
        let balancers = service.servedBalancers.map { balancer, group in
            var targets: [TargetSample] = []
            if let group, let views = try? service.targets(of: group) {
                for view in views {
                    guard let slot = service.slot(of: view, in: group) else { continue }
                    targets.append(TargetSample(slot: slot, address: view.address, state: view.health.state.rawValue, reason: view.health.reason))
                }
            }
            // CloudWatch's dimension values: the ARN's resource after "loadbalancer/", and "targetgroup/NAME/ID".
            return BalancerSample(loadBalancer: balancer.arn.path.joined(separator: "/"),
                                  targetGroup: group.map { "targetgroup/" + $0.path.joined(separator: "/") } ?? "none", targets: targets)
        }
        var sample = MetricsSample(statistics: statistics, balancers: balancers, zone: "local", time: time)
        sample.targetSlots = service.targetSlots
        sample.failedEndpoints = failedEndpoints().count
        sample.routingDrift = routingDrift().count
        sample.flowLogRecordsLost = flowLogRecordsLost()
        sample.processStart = (startTime.timeIntervalSince1970, flowState?.flowsTakenOver ?? 0)
        sample.node = node
        return sample
    }
}
