import Flows
import PacketIO
import Synchronization
import Wire

/// The forward path: an endpoint's packets to their flows, their targets, and out in GENEVE.
extension Worker {
    // MARK: Forward path: endpoint → flow → target → GENEVE

    /// Handles a batch of packets read from endpoints (`slotEndpoints` says which): parse and probe
    /// all, then decide each while the flow entries a few packets ahead load, then one send.
    func forward(_ batch: PacketBatch) {
        let snapshot = self.snapshot
        var handedOff: UInt64 = 0
        for slot in 0..<batch.count {
            pending[slot] = false
            let packet = UnsafeRawBufferPointer(batch.data(slot))
            let endpoint = slotEndpoints[slot]
            let summary: PacketSummary
            do throws(WireError) {
                summary = try PacketSummary(parsing: packet)
            } catch {
                record(.malformedPacket, detail: error, size: packet.count, endpoint: endpoint, packet: packet)
                batch.lengths[slot] = 0
                continue
            }
            // A device read just before its endpoint was deleted, or adopted before its snapshot.
            guard endpoint < snapshot.endpoints.count, snapshot.endpoints[endpoint] != nil else {
                record(.unknownEndpoint, summary, size: summary.length, endpoint: endpoint, packet: packet)
                batch.lengths[slot] = 0
                continue
            }
            guard packet.count <= ForwardingSnapshot.maximumInnerPacket else {
                record(.oversize, summary, size: packet.count, endpoint: endpoint, packet: packet)
                if snapshot.policies[endpoint].pathMTUDiscovery { sendPacketTooBig(answering: packet, summary, endpoint: endpoint) }
                batch.lengths[slot] = 0
                continue
            }
            let probe = tracker.probe(summary, mode: snapshot.policies[endpoint].keyMode, endpoint: UInt8(endpoint))
            let owner = self.owner(ofHash: probe.hash)
            if owner != index {
                hand(.fromEndpoint(endpoint), packet, to: owner, summary: summary, endpoint: endpoint)
                handedOff |= 1 << owner
                batch.lengths[slot] = 0
                continue
            }
            summaries[slot] = summary
            probes[slot] = probe
            pending[slot] = true
        }
        var count = 0
        for slot in 0..<batch.count where pending[slot] {
            decideOrder[count] = slot
            count += 1
        }
        let distance = FlowTracker.prefetchDistance
        for index in 0..<min(distance, count) { tracker.prefetch(probes[decideOrder[index]]) }
        var expected = 0
        for index in 0..<count {
            if index + distance < count { tracker.prefetch(probes[decideOrder[index + distance]]) }
            let slot = decideOrder[index]
            if decide(slot, batch, snapshot) { expected += 1 } else { batch.lengths[slot] = 0 }
        }
        wake(handedOff)
        guard expected > 0 else { return }
        let sent = io.sendDatagrams(batch)
        if sent < expected { counters.drops[Int(DropReason.sendFailed.rawValue)] += UInt64(expected - sent) }
    }

    /// The flow verdict for one packet; on forward, GENEVE goes into the headroom. False: dropped.
    @inline(__always)
    func decide(_ slot: Int, _ batch: PacketBatch, _ snapshot: ForwardingSnapshot) -> Bool {
        let summary = summaries[slot]
        let endpoint = slotEndpoints[slot]
        let packet = UnsafeRawBufferPointer(batch.data(slot))
        // `forward` checked the endpoint against this same snapshot.
        guard let endpointIdentity = snapshot.endpoints[endpoint] else { return false }
        switch tracker.track(summary, probe: probes[slot], selection: snapshot.policies[endpoint].selection, now: time.seconds) {
        case .forward(let handle, let target, let tableCookie, let event):
            guard let peer = snapshot.target(target), target.index < counters.targets.count else {
                tracker.table.remove(handle)
                record(.noTargets, summary, size: summary.length, endpoint: endpoint, packet: packet)
                return false
            }
            // A node of a cluster sends the cookie any node can check; one gwlbd, its table's.
            let cookie = snapshot.clusterCookie?.cookie(probes[slot].key, endpointID: endpointIdentity.endpointID, appliance: peer.address,
                                                        owner: UInt32(index), ownerBits: table.cookies.ownerBits) ?? tableCookie
            if case .created = event {
                counters.targets[target.index].newFlows += 1
                counters.newFlows += 1
            }
            captureIfWanted(summary, packet, .toTarget(peer.address), endpoint: endpoint)
            batch.offsets[slot] -= Geneve.awsHeaderLength
            batch.lengths[slot] += Geneve.awsHeaderLength
            AWSGeneveMetadata.write(to: batch.data(slot), protocolType: summary.version == .v6 ? Geneve.protocolTypeIPv6 : Geneve.protocolTypeIPv4,
                                    endpointID: endpointIdentity.endpointID, attachmentID: endpointIdentity.attachmentID, cookie: cookie)
            batch.peers[slot] = peer
            table.account(handle, fromLow: table[handle].key.isFromLow(source: summary.source, sourcePort: summary.sourcePort),
                          bytes: summary.length, wallSeconds: wallSeconds)
            counters.targets[target.index].packetsToTarget += 1
            counters.targets[target.index].bytesToTarget += UInt64(summary.length)
            return true
        case .drop(let reason):
            switch reason {
            case .tcpWithoutFlow:
                record(.tcpWithoutFlow, summary, size: summary.length, endpoint: endpoint, packet: packet)
                if snapshot.policies[endpoint].resetWithoutFlow { sendReset(answering: slot, batch, endpoint: endpoint) }
            case .flowTableFull: record(.flowTableFull, summary, size: summary.length, endpoint: endpoint, packet: packet)
            case .noTarget: record(.noTargets, summary, size: summary.length, endpoint: endpoint, packet: packet)
            }
            return false
        case .reset:
            record(.targetReset, summary, size: summary.length, endpoint: endpoint, packet: packet)
            sendReset(answering: slot, batch, endpoint: endpoint)
            return false
        }
    }

    /// Writes a RST for the packet in `slot` into its endpoint: the kernel routes it to the sender.
    func sendReset(answering slot: Int, _ batch: PacketBatch, endpoint: Int) {
        let packet = UnsafeRawBufferPointer(batch.data(slot))
        guard let length = try? TCPReset.reply(to: packet, into: resetBuffer) else { return }
        if io.writeEndpoint(endpoint, packet: UnsafeRawBufferPointer(rebasing: resetBuffer[..<length])) {
            counters.resetsSent += 1
        }
    }

    /// Answers an oversize packet with ICMP naming the largest inner packet, written into its
    /// endpoint for the kernel to route back to the sender; at most `packetTooBigPerSecond` a second.
    func sendPacketTooBig(answering packet: UnsafeRawBufferPointer, _ summary: PacketSummary, endpoint: Int) {
        if time.seconds != packetTooBigSecond {
            packetTooBigSecond = time.seconds
            packetTooBigBudget = Self.packetTooBigPerSecond
        }
        guard packetTooBigBudget > 0,
              let length = PacketTooBig.reply(to: packet, summary: summary, mtu: ForwardingSnapshot.maximumInnerPacket, into: resetBuffer)
        else { return }
        packetTooBigBudget -= 1
        if io.writeEndpoint(endpoint, packet: UnsafeRawBufferPointer(rebasing: resetBuffer[..<length])) {
            counters.packetTooBigSent += 1
        }
    }
}
