import DataPlane
import Flows
import Wire

/// One data-plane worker over `ReflectingIO`, as `gwlb-bench worker` times it and
/// `gwlb-allocations` counts its allocations: `flows` UDP flows to three appliances; a round sends
/// one packet of each flow out and takes it back.
public final class ReflectedWorker {
    public let io: ReflectingIO
    public let plane: DataPlane
    public let worker: any DataPlaneWorker
    let time = DataPlaneTime(seconds: 100, wallNanoseconds: 0)

    /// `clusterCookie`: the worker of a node of a cluster (its cookies are MACs every node checks).
    public init(flows: Int, clusterCookie: ClusterCookie? = nil) {
        let appliances = (1...3).map { IPv4Address(198, 18, 1, UInt8(10 + $0)) }
        let base = ForwardingSnapshot(version: 1, endpoints: [EndpointIdentity(endpointID: 1, attachmentID: 2)], healthyTargets: appliances)
        let snapshot = ForwardingSnapshot(version: 1, endpoints: base.endpoints, targets: base.targets, policies: base.policies,
                                          clusterCookie: clusterCookie)
        io = ReflectingIO(flows: flows)
        plane = DataPlane(configuration: DataPlaneConfiguration(flowsPerWorker: flows * 2), ios: [io], snapshot: snapshot)
        worker = plane.workers[0]
    }

    /// One packet of each flow out to its appliance and back into the endpoint.
    public func runRound() {
        io.startRound()
        while worker.runOnce(at: time) {}
    }
}
