import Flows
import PacketIO
import Wire

/// One endpoint as the data plane sees it: its GENEVE identity. Its position in
/// `ForwardingSnapshot.endpoints` is its slot, and the index of its TUN device in each worker's I/O;
/// a deleted endpoint leaves its slot empty (nil) so the others keep their numbers.
public struct EndpointIdentity: Hashable, Sendable {
    /// AWS: the number in `vpce-0123456789abcdef0`.
    public var endpointID: UInt64
    public var attachmentID: UInt64

    public init(endpointID: UInt64, attachmentID: UInt64) {
        self.endpointID = endpointID
        self.attachmentID = attachmentID
    }
}

/// Everything a worker needs to forward, immutable: built by the control side, published to the
/// workers, which pick it up between batches.
public final class ForwardingSnapshot: Sendable {
    public let version: UInt64
    public let endpoints: [EndpointIdentity?]
    /// Appliance addresses by target slot; nil for a free slot.
    public let targets: [UDPPeer?]
    /// The policy of each endpoint slot's load balancer (`BalancerPolicy.unserved` for a free
    /// slot); as many as `endpoints`. Endpoints of one load balancer share its policy's storage.
    public let policies: [BalancerPolicy]
    /// On a node of a cluster: the cookie every node makes and checks, so that returns are accepted
    /// by any node (`ClusterCookie`); nil on a single gwlbd, whose cookies name its own flow entries.
    public let clusterCookie: ClusterCookie?

    /// README "gwlbd", MTU: larger inner packets are dropped.
    public static let maximumInnerPacket = 8500

    public init(version: UInt64, endpoints: [EndpointIdentity?], targets: [UDPPeer?], policies: [BalancerPolicy],
                clusterCookie: ClusterCookie? = nil) {
        precondition(endpoints.count <= 255, "at most 255 endpoints")
        precondition(policies.count == endpoints.count, "one policy per endpoint slot")
        self.version = version
        self.endpoints = endpoints
        self.targets = targets
        self.policies = policies
        self.clusterCookie = clusterCookie
    }

    /// Every endpoint under one load balancer's policy (the first-form daemon, tests).
    public convenience init(version: UInt64, endpoints: [EndpointIdentity?], targets: [UDPPeer?], selection: TargetSelection,
                            keyMode: FlowKeyMode = .fiveTuple, timeouts: FlowTimeouts = FlowTimeouts(), resetWithoutFlow: Bool = false,
                            pathMTUDiscovery: Bool = true, innerFlowCheck: Bool = true, clusterCookie: ClusterCookie? = nil) {
        let policy = BalancerPolicy(selection: selection, keyMode: keyMode, timeouts: timeouts, resetWithoutFlow: resetWithoutFlow,
                                    pathMTUDiscovery: pathMTUDiscovery, innerFlowCheck: innerFlowCheck)
        self.init(version: version, endpoints: endpoints, targets: targets, policies: endpoints.map { _ in policy }, clusterCookie: clusterCookie)
    }

    /// A snapshot of healthy targets at `addresses` (slots in order), for the first-form daemon and tests.
    public convenience init(version: UInt64, endpoints: [EndpointIdentity], healthyTargets addresses: [IPv4Address],
                            keyMode: FlowKeyMode = .fiveTuple, timeouts: FlowTimeouts = FlowTimeouts(),
                            policy: FailoverPolicy = FailoverPolicy()) {
        let selection = TargetSelection(
            targets: addresses.enumerated().map { (TargetSlot($0.offset), UInt64($0.element.rawValue) << 16 | UInt64(Geneve.udpPort), .healthy) },
            policy: policy)
        self.init(version: version, endpoints: endpoints, targets: addresses.map { UDPPeer(address: $0, port: Geneve.udpPort) },
                  selection: selection, keyMode: keyMode, timeouts: timeouts)
    }

    /// The policy of the load balancer with ARN `loadBalancer`, if one of its endpoints is served.
    public func policy(loadBalancer: String) -> BalancerPolicy? {
        policies.first { $0.loadBalancer == loadBalancer }
    }

    /// The endpoint slot named by a returned packet's options; nil when none matches both ids.
    @inline(__always)
    public func endpointSlot(endpointID: UInt64, attachmentID: UInt64) -> Int? {
        // Linear: a handful of endpoints, and no hashing per packet.
        for slot in 0..<endpoints.count where endpoints[slot]?.endpointID == endpointID {
            return endpoints[slot]?.attachmentID == attachmentID ? slot : nil
        }
        return nil
    }

    @inline(__always)
    public func target(_ slot: TargetSlot) -> UDPPeer? {
        slot.index < targets.count ? targets[slot.index] : nil
    }
}
