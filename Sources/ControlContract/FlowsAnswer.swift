/// GET /v1/flows: the flows a query selected, each with the target it is pinned to. gwlbd encodes
/// it; `gwlb flows` and the console's flow pane decode it, so a key renamed on one side is a
/// compile error on the other, not an empty column.
public struct FlowsAnswer: Codable, Sendable, Equatable {
    public var flows: [FlowRow]
    /// The query's limit cut the list.
    public var truncated: Bool

    public init(flows: [FlowRow], truncated: Bool) {
        self.flows = flows
        self.truncated = truncated
    }
}

/// One flow: its two ends (A the lower address), what it is pinned to, its age and its traffic.
public struct FlowRow: Codable, Sendable, Equatable {
    public var addressA: String
    public var portA: Int
    public var addressB: String
    public var portB: Int
    public var `protocol`: String
    /// The endpoint's slot in gwlbd.
    public var endpoint: Int
    /// The GENEVE flow cookie, `0x` and 8 hexadecimal digits.
    public var cookie: String
    public var ageSeconds: Int
    public var idleSeconds: Int
    /// The appliance has returned a packet of the flow.
    public var confirmed: Bool
    /// `active`, `closing` (FIN or RST seen), …
    public var state: String
    public var worker: Int
    public var targetSlot: Int
    /// The target's address (absent when its slot is no longer a target's).
    public var target: String?
    public var packets: Int
    public var bytes: Int

    public init(addressA: String, portA: Int, addressB: String, portB: Int, protocol: String, endpoint: Int = 0, cookie: String = "0x00000000",
                ageSeconds: Int = 0, idleSeconds: Int = 0, confirmed: Bool = false, state: String = "active", worker: Int = 0,
                targetSlot: Int = 0, target: String? = nil, packets: Int = 0, bytes: Int = 0) {
        self.addressA = addressA
        self.portA = portA
        self.addressB = addressB
        self.portB = portB
        self.protocol = `protocol`
        self.endpoint = endpoint
        self.cookie = cookie
        self.ageSeconds = ageSeconds
        self.idleSeconds = idleSeconds
        self.confirmed = confirmed
        self.state = state
        self.worker = worker
        self.targetSlot = targetSlot
        self.target = target
        self.packets = packets
        self.bytes = bytes
    }
}
