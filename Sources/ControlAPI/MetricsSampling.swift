import ControlPlane
import DataPlane
import Foundation
import PacketIO
import Telemetry

extension Observatory {
    /// The data plane's counters with the control plane's names and health, for a metrics flush.
    public func metricsSample(_ service: ControlPlaneService, time: Double = ProcessInfo.processInfo.systemUptime) -> MetricsSample {
        let statistics = self.statistics()
        let slots = self.slots()
        let group = service.servedTargetGroup
        let balancer = service.read { $0.servedLoadBalancer }
        var targets: [TargetSample] = []
        if let group, let views = try? service.targets(of: group) {
            for view in views {
                guard let slot = Self.slot(of: view, in: slots) else { continue }
                targets.append(TargetSample(slot: slot, address: view.address, state: view.health.state.rawValue, reason: view.health.reason))
            }
        }
        // CloudWatch's dimension values: the ARN's resource after "loadbalancer/", and "targetgroup/NAME/ID".
        var sample = MetricsSample(statistics: statistics, loadBalancer: balancer.map { $0.path.joined(separator: "/") } ?? "none",
                                   targetGroup: group.map { "targetgroup/" + $0.path.joined(separator: "/") } ?? "none",
                                   zone: "local", targets: targets, time: time)
        sample.targetSlots = service.targetSlots
        sample.failedEndpoints = failedEndpoints().count
        sample.flowLogRecordsLost = flowLogRecordsLost()
        return sample
    }

    /// The data-plane slot of a registered target: the one with its address and port.
    static func slot(of view: TargetView, in slots: [UDPPeer?]) -> Int? {
        slots.firstIndex { $0?.address.description == view.address && Int($0?.port ?? 0) == view.registration.port }
    }
}
