import Flows

/// How one load balancer forwards: the rules every endpoint of it follows. One gwlbd serves
/// several load balancers (README "Several load balancers in one gwlbd"); each endpoint's packets
/// follow its own load balancer's policy, and its flows live by its timeouts.
public struct BalancerPolicy: Sendable {
    /// The load balancer's ARN, for the control side's lookups; empty for no load balancer.
    public let loadBalancer: String
    public let selection: TargetSelection
    public let keyMode: FlowKeyMode
    public let timeouts: FlowTimeouts
    /// `send_tcp_reset.on_idle_timeout.enabled`: answer a TCP packet without a flow with a RST.
    public let resetWithoutFlow: Bool
    /// `path_mtu_discovery.enabled`: answer an oversize packet with ICMP naming `maximumInnerPacket`.
    public let pathMTUDiscovery: Bool
    /// `inner_flow_check.enabled`: a returned inner packet must belong to its cookie's flow.
    public let innerFlowCheck: Bool

    public init(loadBalancer: String = "", selection: TargetSelection, keyMode: FlowKeyMode = .fiveTuple,
                timeouts: FlowTimeouts = FlowTimeouts(), resetWithoutFlow: Bool = false, pathMTUDiscovery: Bool = true,
                innerFlowCheck: Bool = true) {
        self.loadBalancer = loadBalancer
        self.selection = selection
        self.keyMode = keyMode
        self.timeouts = timeouts
        self.resetWithoutFlow = resetWithoutFlow
        self.pathMTUDiscovery = pathMTUDiscovery
        self.innerFlowCheck = innerFlowCheck
    }

    /// For an endpoint slot no endpoint holds: no targets, AWS's defaults.
    public static let unserved = BalancerPolicy(selection: TargetSelection(targets: []))
}
