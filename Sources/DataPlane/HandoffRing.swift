import PacketIO

/// What a packet handed from one worker to another is.
enum HandoffKind: Equatable {
    /// Read from endpoint `Int` (the slot holds an inner IP packet).
    case fromEndpoint(Int)
    /// Received on the GENEVE socket from this peer (the slot holds the whole datagram).
    case fromAppliance(UDPPeer)
}

/// Passes packets from one worker to another: a packet read by a worker that does not own its
/// flow goes to the worker that does.
typealias HandoffRing = SPSCRing<HandoffKind>

extension SPSCRing where Header == HandoffKind {
    convenience init(capacity: Int) {
        self.init(capacity: capacity, slotSize: PacketBatch.defaultPacketCapacity, filler: .fromEndpoint(0))
    }
}
