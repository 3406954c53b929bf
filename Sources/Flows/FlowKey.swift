import Wire

/// Which fields identify a flow: the target group's stickiness (README "How the flow engine behaves").
public enum FlowKeyMode: Sendable, Hashable, CaseIterable {
    /// `stickiness.enabled=false`: addresses, ports and protocol for TCP/UDP; addresses and
    /// protocol for everything else.
    case fiveTuple
    /// `stickiness.type=source_ip_dest_ip_proto`: addresses and protocol for all traffic.
    case threeTuple
    /// `stickiness.type=source_ip_dest_ip`: addresses only.
    case twoTuple
}

/// A flow's identity, the same for both directions: the endpoint it entered by, and the two
/// (address, port) ends in order, lower first. The endpoint is part of it because two endpoints
/// may carry the same addresses (overlapping VPCs) and their flows are distinct. IPv4 addresses
/// are IPv4-mapped, so one layout holds both families (an IPv6 packet with mapped addresses never
/// gets here; `PacketSummary` rejects it). 38 bytes, align 4.
public struct FlowKey: Hashable, Sendable {
    public var lowAddress: IPv6Address
    public var highAddress: IPv6Address
    public var lowPort: UInt16
    public var highPort: UInt16
    /// 0 in two-tuple mode.
    public var `protocol`: IPProtocol
    /// The endpoint's slot in the forwarding snapshot.
    public var endpoint: UInt8

    public init(lowAddress: IPv6Address, highAddress: IPv6Address, lowPort: UInt16, highPort: UInt16,
                protocol proto: IPProtocol, endpoint: UInt8 = 0) {
        self.lowAddress = lowAddress
        self.highAddress = highAddress
        self.lowPort = lowPort
        self.highPort = highPort
        self.protocol = proto
        self.endpoint = endpoint
    }

    /// The key of `packet` under `mode`. Fragments are keyed without ports in every mode, so all
    /// fragments of a datagram (later ones carry no ports) reach the same appliance.
    @inline(__always)
    public init(_ packet: PacketSummary, mode: FlowKeyMode, endpoint: UInt8 = 0) {
        let usesPorts = mode == .fiveTuple && packet.protocol.hasPorts && !packet.isFragment
        let sourcePort = usesPorts ? packet.sourcePort : 0
        let destinationPort = usesPorts ? packet.destinationPort : 0
        let proto = mode == .twoTuple ? IPProtocol(rawValue: 0) : packet.protocol
        if (packet.source, sourcePort) <= (packet.destination, destinationPort) {
            self.init(lowAddress: packet.source, highAddress: packet.destination, lowPort: sourcePort,
                      highPort: destinationPort, protocol: proto, endpoint: endpoint)
        } else {
            self.init(lowAddress: packet.destination, highAddress: packet.source, lowPort: destinationPort,
                      highPort: sourcePort, protocol: proto, endpoint: endpoint)
        }
    }

    /// Whether `packet` belongs to this key's flow, either way: its key is this one under `mode`, or
    /// under another mode (a flow made before the key mode changed keeps the key it was made with).
    @inline(__always)
    public func admits(_ packet: PacketSummary, mode: FlowKeyMode) -> Bool {
        if FlowKey(packet, mode: mode, endpoint: endpoint) == self { return true }
        // `allCases` is static storage: nothing is allocated on this path, which a forger can drive.
        for other in FlowKeyMode.allCases where other != mode {
            if FlowKey(packet, mode: other, endpoint: endpoint) == self { return true }
        }
        return false
    }

    /// Both ends IPv4 (mapped).
    public var isIPv4: Bool { lowAddress.isIPv4Mapped }
}
