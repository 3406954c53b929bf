import Wire

/// Which fields identify a flow: the target group's stickiness (SPEC.md §4).
public enum FlowKeyMode: Sendable, Hashable, CaseIterable {
    /// `stickiness.enabled=false`: addresses, ports and protocol for TCP/UDP; addresses and
    /// protocol for everything else.
    case fiveTuple
    /// `stickiness.type=source_ip_dest_ip_proto`: addresses and protocol for all traffic.
    case threeTuple
    /// `stickiness.type=source_ip_dest_ip`: addresses only.
    case twoTuple
}

/// A flow's identity, the same for both directions: the two (address, port) ends are stored in
/// order, lower first. IPv4 addresses are IPv4-mapped, so one layout holds both families (an IPv6
/// packet with mapped addresses never gets here; `PacketSummary` rejects it). 37 bytes, align 4.
public struct FlowKey: Hashable, Sendable {
    public var lowAddress: IPv6Address
    public var highAddress: IPv6Address
    public var lowPort: UInt16
    public var highPort: UInt16
    /// 0 in two-tuple mode.
    public var `protocol`: IPProtocol

    public init(lowAddress: IPv6Address, highAddress: IPv6Address, lowPort: UInt16, highPort: UInt16,
                protocol proto: IPProtocol) {
        self.lowAddress = lowAddress
        self.highAddress = highAddress
        self.lowPort = lowPort
        self.highPort = highPort
        self.protocol = proto
    }

    /// The key of `packet` under `mode`. Fragments are keyed without ports in every mode, so all
    /// fragments of a datagram (later ones carry no ports) reach the same appliance.
    @inline(__always)
    public init(_ packet: PacketSummary, mode: FlowKeyMode) {
        let usesPorts = mode == .fiveTuple && packet.protocol.hasPorts && !packet.isFragment
        let sourcePort = usesPorts ? packet.sourcePort : 0
        let destinationPort = usesPorts ? packet.destinationPort : 0
        let proto = mode == .twoTuple ? IPProtocol(rawValue: 0) : packet.protocol
        if (packet.source, sourcePort) <= (packet.destination, destinationPort) {
            self.init(lowAddress: packet.source, highAddress: packet.destination, lowPort: sourcePort,
                      highPort: destinationPort, protocol: proto)
        } else {
            self.init(lowAddress: packet.destination, highAddress: packet.source, lowPort: destinationPort,
                      highPort: sourcePort, protocol: proto)
        }
    }

    /// Both ends IPv4 (mapped).
    public var isIPv4: Bool { lowAddress.isIPv4Mapped }
}
