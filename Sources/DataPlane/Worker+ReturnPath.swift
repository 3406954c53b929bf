import Flows
import PacketIO
import Synchronization
import Wire

/// The return path: GENEVE from the appliances, checked, stripped, and into the endpoints.
extension Worker {
    // MARK: Return path: appliance → checks → strip → endpoint

    func acceptReturns(_ batch: PacketBatch) {
        var handedOff: UInt64 = 0
        for slot in 0..<batch.count {
            let data = UnsafeRawBufferPointer(batch.data(slot))
            let peer = batch.peers[slot]
            // What the kernel coalesced (UDP GRO) is split here: each piece is one datagram.
            let size = batch.segmentSizes[slot] > 0 ? batch.segmentSizes[slot] : max(data.count, 1)
            if size < data.count { counters.coalescedDatagramsReceived += UInt64((data.count + size - 1) / size) }
            var start = 0
            repeat {
                let datagram = UnsafeRawBufferPointer(rebasing: data[start..<min(start + size, data.count)])
                if let (owner, summary, endpoint) = acceptReturn(datagram, from: peer) {
                    hand(.fromAppliance(peer), datagram, to: owner, summary: summary, endpoint: endpoint)
                    handedOff |= 1 << owner
                }
                start += size
            } while start < data.count
        }
        flushCoalesced()
        wake(handedOff)
    }

    /// Writes a returned packet into its endpoint, joined with its flow's neighbours when the
    /// endpoint takes super-packets.
    @inline(__always)
    func deliver(_ inner: UnsafeRawBufferPointer, _ summary: PacketSummary, endpoint: Int, appliance: IPv4Address) {
        guard io.acceptsSuperPackets else {
            if !io.writeEndpoint(endpoint, packet: UnsafeRawBufferPointer(rebasing: inner[..<summary.length])) {
                record(.endpointWriteFailed, summary, size: summary.length, endpoint: endpoint, appliance: appliance, packet: inner)
            }
            return
        }
        coalescer.add(inner, summary: summary, endpoint: endpoint, emit: writeCoalesced)
    }

    func flushCoalesced() {
        if !coalescer.isEmpty { coalescer.flush(emit: writeCoalesced) }
    }

    func writeCoalesced(_ endpoint: Int, _ packet: UnsafeRawBufferPointer, _ header: VirtioNetHeader, _ segments: Int) {
        if segments > 1 {
            counters.coalescedWrites += 1
            counters.coalescedSegments += UInt64(segments)
        }
        guard !io.writeEndpoint(endpoint, packet: packet, header: header) else { return }
        // The drop's record names the first segment's flow; every segment counts.
        counters.drops[Int(DropReason.endpointWriteFailed.rawValue)] += UInt64(segments - 1)
        let summary = try? PacketSummary(parsing: packet)
        record(.endpointWriteFailed, summary, size: packet.count, endpoint: endpoint, packet: packet)
    }

    /// Checks one returned datagram and writes its inner packet into the endpoint. Returns the
    /// owning worker when it is another one (the caller hands the datagram over), with what is
    /// known of the packet for the drop record should the hand-off fail.
    @inline(__always)
    func acceptReturn(_ datagram: UnsafeRawBufferPointer, from peer: UDPPeer) -> (owner: Int, PacketSummary, endpoint: Int)? {
        let snapshot = self.snapshot
        let metadata: AWSGeneveMetadata
        do throws(WireError) {
            // A datagram cut short by the socket buffer arrives empty: a truncated GENEVE packet.
            metadata = try AWSGeneveMetadata(parsing: datagram)
        } catch {
            record(.badGeneve, detail: error, size: datagram.count, appliance: peer.address, packet: datagram, isGeneveDatagram: true)
            return nil
        }
        let inner = UnsafeRawBufferPointer(rebasing: datagram[metadata.innerOffset...])
        let summary: PacketSummary
        do throws(WireError) {
            summary = try PacketSummary(parsing: inner)
        } catch {
            let endpoint = snapshot.endpointSlot(endpointID: metadata.endpointID, attachmentID: metadata.attachmentID)
            record(endpoint == nil ? .unknownEndpoint : .malformedReturn, detail: error, size: inner.count, endpoint: endpoint,
                   appliance: peer.address, packet: endpoint == nil ? datagram : inner, isGeneveDatagram: endpoint == nil)
            return nil
        }
        guard let endpoint = snapshot.endpointSlot(endpointID: metadata.endpointID, attachmentID: metadata.attachmentID) else {
            // A health check's data-path probe names no endpoint: it ends here, noted for the prober.
            if metadata.endpointID == DataPathProbe.endpointID, let probeReplies, metadata.attachmentID == probeReplies.key,
               let token = DataPathProbe.token(inner, summary: summary) {
                probeReplies.received(token: token, from: peer.address)
                return nil
            }
            record(.unknownEndpoint, summary, size: datagram.count, appliance: peer.address, packet: datagram, isGeneveDatagram: true)
            return nil
        }
        guard summary.length <= ForwardingSnapshot.maximumInnerPacket else {
            record(.oversize, summary, size: summary.length, endpoint: endpoint, appliance: peer.address, packet: inner)
            return nil
        }
        if let clusterCookie = snapshot.clusterCookie {
            let owner = acceptClusterReturn(inner, summary, metadata: metadata, endpoint: endpoint, from: peer, snapshot, clusterCookie)
            return owner.map { ($0, summary, endpoint) }
        }
        if workerCount > 1 {
            let owner = Int(table.cookies.owner(of: metadata.cookie))
            guard owner < workerCount else {
                record(.unknownFlow, summary, size: summary.length, endpoint: endpoint, appliance: peer.address, packet: inner)
                return nil
            }
            if owner != index { return (owner, summary, endpoint) }
        }
        guard let handle = table.flow(forCookie: metadata.cookie, now: time.seconds),
              table[handle].key.endpoint == UInt8(endpoint) else {
            record(.unknownFlow, summary, size: summary.length, endpoint: endpoint, appliance: peer.address, packet: inner)
            return nil
        }
        let target = table[handle].target
        guard snapshot.target(target)?.address == peer.address else {
            record(.returnFromNonTarget, summary, size: summary.length, endpoint: endpoint, appliance: peer.address, packet: inner)
            return nil
        }
        // A cookie vouches for its own flow only: another flow's packet behind it would be an injection.
        guard !snapshot.policies[endpoint].innerFlowCheck
                || table[handle].key.admits(summary, mode: snapshot.policies[endpoint].keyMode) else {
            record(.returnFlowMismatch, summary, size: summary.length, endpoint: endpoint, appliance: peer.address, packet: inner)
            return nil
        }
        table.confirm(handle, now: time.seconds)
        // An appliance that rejects a connection sends its RST this way only.
        if summary.protocol == .tcp, summary.tcpFlags.contains(.rst) { table.noteTCPControl(handle, flags: summary.tcpFlags, fromLow: false) }
        captureIfWanted(summary, inner, .fromTarget(peer.address), endpoint: endpoint)
        counters.targets[target.index].packetsFromTarget += 1
        counters.targets[target.index].bytesFromTarget += UInt64(summary.length)
        deliver(inner, summary, endpoint: endpoint, appliance: peer.address)
        return nil
    }
}
