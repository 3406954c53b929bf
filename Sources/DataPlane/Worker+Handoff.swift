import Flows
import PacketIO
import Synchronization
import Wire

/// Packets that reached the worker that does not own their flow go to the owner through a ring.
extension Worker {
    // MARK: Hand-off between workers

    @inline(__always)
    func owner(ofHash hash: UInt64) -> Int {
        workerCount == 1 ? 0 : Int(((hash >> 32) &* UInt64(workerCount)) >> 32)
    }

    func hand(_ kind: HandoffKind, _ packet: UnsafeRawBufferPointer, to owner: Int, summary: PacketSummary, endpoint: Int) {
        if let ring = outboxes[owner], ring.push(kind, packet) {
            counters.handedOff += 1
            return
        }
        switch kind {
        case .fromEndpoint:
            record(.handoffOverflow, summary, size: summary.length, endpoint: endpoint, packet: packet)
        case .fromAppliance(let peer):
            // The record names the inner packet; the capture keeps the whole datagram.
            record(.handoffOverflow, summary, size: summary.length, endpoint: endpoint, appliance: peer.address, packet: packet,
                   isGeneveDatagram: true)
        }
    }

    /// Wakes the workers in the `workers` bit set that sleep (or are about to): a busy worker finds
    /// its hand-offs on its next pass without a system call.
    func wake(_ workers: UInt64) {
        guard workers != 0 else { return }
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        for worker in 0..<workerCount where workers & (1 << worker) != 0 {
            if peerMailboxes[worker]?.sleeping.load(ordering: .relaxed) ?? true { peerIO[worker]?.wakeUp() }
        }
    }

    /// Handles packets other workers passed here, a batch at a time.
    func drain(_ inbox: HandoffRing) -> Int {
        var total = 0
        while !inbox.isEmpty {
            endpointBatch.count = 0
            let drained = inbox.drain(limit: endpointBatch.capacity) { kind, packet in
                switch kind {
                case .fromEndpoint(let endpoint):
                    let slot = endpointBatch.count
                    endpointBatch.readArea(slot).copyMemory(from: packet)
                    endpointBatch.offsets[slot] = endpointBatch.headroom
                    endpointBatch.lengths[slot] = packet.count
                    slotEndpoints[slot] = endpoint
                    endpointBatch.count += 1
                case .fromAppliance(let peer):
                    // The owner is this worker by the cookie: no further hand-off.
                    _ = acceptReturn(packet, from: peer)
                }
            }
            flushCoalesced()
            if endpointBatch.count > 0 { forward(endpointBatch) }
            total += drained
        }
        return total
    }
}
