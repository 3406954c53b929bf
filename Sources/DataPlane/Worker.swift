import Flows
import PacketIO
import Synchronization
import Wire

/// One data-plane worker: owns a flow table, packet buffers and counters, and moves packets
/// between its endpoint queues and its GENEVE socket. Every packet is handled by the worker that
/// owns its flow: the flow hash names the owner on the forward path, the cookie's owner bits on
/// the return path; a packet that arrives at another worker is handed over through a lock-free ring.
/// Runs on one thread; nothing here is shared but the mailbox and the rings.
public final class Worker {
    public let index: Int
    let workerCount: Int
    public let io: any WorkerIO
    public let tracker: FlowTracker
    public private(set) var snapshot: ForwardingSnapshot
    let mailbox: WorkerMailbox
    /// Rings to each other worker (nil for this one), and from each.
    var outboxes: [HandoffRing?] = []
    var inboxes: [HandoffRing] = []
    /// The other workers' I/O and mailboxes, to wake one after handing it packets.
    var peerIO: [(any WorkerIO)?] = []
    var peerMailboxes: [WorkerMailbox?] = []
    /// Where returned data-path probes are noted (set by the data plane before start).
    var probeReplies: DataPathProbeReplies?

    private(set) var counters: DataPlaneStatistics
    private var drops: DropRing
    private var time = DataPlaneTime(seconds: 1, wallNanoseconds: 0)
    private var lastPublishSeconds: UInt32 = 0
    /// The mailbox's publication count when this worker last picked up a snapshot.
    private var snapshotPublication: UInt64 = 0
    private var loopsSincePublish = 0
    /// Flow-log records go here, aggregated over `flowLogInterval` seconds (nil: no flow logs).
    private let flowLog: FlowLogRing?
    private let flowLogInterval: UInt32
    /// Wall-clock second the current aggregation interval ends (0 until the first pass).
    private var flowLogIntervalEnd: UInt32 = 0
    /// The running capture's filter (nil: none), picked up when `capture.generation` moves.
    private var captureFilter: CaptureFilter?
    private var captureGeneration: UInt64 = 0
    private let capture: CaptureControl
    private let captureRing: CaptureRing

    private let endpointBatch = PacketBatch()
    /// Returned datagrams: 64 KiB slots, for what the kernel coalesced (UDP GRO).
    private let applianceBatch = PacketBatch(capacity: 32, packetCapacity: 65_536, headroom: 0)
    /// Joins returned TCP segments into super-packets when the endpoints take them.
    private let coalescer = TCPCoalescer()
    /// ICMP "packet too big" messages this worker may still send in the current second.
    private var packetTooBigBudget = 0
    private var packetTooBigSecond: UInt32 = 0
    static let packetTooBigPerSecond = 100
    /// Per slot of a forward batch: its endpoint, and what became of it.
    private let slotEndpoints: UnsafeMutableBufferPointer<Int>
    private let pending: UnsafeMutableBufferPointer<Bool>
    /// Slots of the batch still to decide, in order.
    private let decideOrder: UnsafeMutableBufferPointer<Int>
    private let summaries: UnsafeMutableBufferPointer<PacketSummary>
    private let probes: UnsafeMutableBufferPointer<FlowProbe>
    private let resetBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(TCPReset.maximumLength, PacketTooBig.maximumLength),
                                                                     alignment: 8)

    var table: FlowTable { tracker.table }

    init(index: Int, workerCount: Int, io: any WorkerIO, table: FlowTable, mailbox: WorkerMailbox,
         targetSlots: Int, dropCapacity: Int, flowLog: (ring: FlowLogRing, interval: UInt32)?,
         capture: (control: CaptureControl, ring: CaptureRing)) {
        self.index = index
        self.capture = capture.control
        captureRing = capture.ring
        self.flowLog = flowLog?.ring
        flowLogInterval = flowLog?.interval ?? 0
        self.workerCount = workerCount
        self.io = io
        tracker = FlowTracker(table: table)
        self.mailbox = mailbox
        snapshot = mailbox.snapshot.withLock { $0 }
        table.timeouts = snapshot.timeouts
        counters = DataPlaneStatistics(targetSlots: targetSlots)
        drops = DropRing(capacity: dropCapacity)
        let capacity = endpointBatch.capacity
        slotEndpoints = .allocate(capacity: capacity)
        slotEndpoints.initialize(repeating: 0)
        pending = .allocate(capacity: capacity)
        pending.initialize(repeating: false)
        decideOrder = .allocate(capacity: capacity)
        decideOrder.initialize(repeating: 0)
        summaries = .allocate(capacity: capacity)
        probes = .allocate(capacity: capacity)
        table.onExpire = { [unowned self] _ in self.counters.expiredFlows += 1 }
        if flowLog != nil {
            table.onRelease = { [unowned self] handle, entry in self.logFlow(handle, entry) }
        }
    }

    deinit {
        slotEndpoints.deallocate()
        pending.deallocate()
        decideOrder.deallocate()
        summaries.deallocate()
        probes.deallocate()
        resetBuffer.deallocate()
    }

    // MARK: The loop

    /// One pass: new snapshot if any, endpoint packets out, returned packets in, handed-off packets,
    /// a step of expiry, counters published when due. Returns whether there was any packet.
    @discardableResult
    public func runOnce(at time: DataPlaneTime) -> Bool {
        self.time = time
        pickUpSnapshot()
        pickUpCaptureFilter()
        var packets = 0
        for endpoint in 0..<io.endpointCount {
            // A few batches per endpoint per pass, so the return path is never starved.
            for _ in 0..<4 {
                io.readEndpoint(endpoint, into: endpointBatch)
                guard endpointBatch.count > 0 else { break }
                for slot in 0..<endpointBatch.count {
                    slotEndpoints[slot] = endpoint
                    counters.endpointBytes += UInt64(endpointBatch.lengths[slot])
                }
                counters.endpointPackets += UInt64(endpointBatch.count)
                packets += endpointBatch.count
                let full = endpointBatch.count == endpointBatch.capacity
                forward(endpointBatch)
                // A batch that was not full emptied the queue: another read would only cost a system call.
                if !full { break }
            }
        }
        for _ in 0..<4 {
            io.receiveDatagrams(into: applianceBatch)
            guard applianceBatch.count > 0 else { break }
            for slot in 0..<applianceBatch.count { counters.geneveBytes += UInt64(applianceBatch.lengths[slot]) }
            counters.genevePackets += UInt64(applianceBatch.count)
            packets += applianceBatch.count
            acceptReturns(applianceBatch)
            if applianceBatch.count < applianceBatch.capacity { break }
        }
        for inbox in inboxes { packets += drain(inbox) }
        if mailbox.flowQuery.pending.load(ordering: .acquiring) { answerFlowQuery() }
        table.expire(now: time.seconds, budget: packets > 0 ? 256 : 16_384)
        if flowLog != nil { closeFlowLogIntervalIfDue() }
        loopsSincePublish += 1
        if time.seconds != lastPublishSeconds || loopsSincePublish >= 1024 { publish() }
        return packets > 0
    }

    /// Runs until `stop` is set, sleeping in the I/O's wait when idle.
    func run(until stop: borrowing Atomic<Bool>) {
        while !stop.load(ordering: .relaxed) {
            if runOnce(at: .now()) { continue }
            // Say we sleep, then look at the inboxes once more: a producer either sees the flag and
            // wakes us, or pushed before our look and we see its packet (the fences order the two).
            mailbox.sleeping.store(true, ordering: .relaxed)
            atomicMemoryFence(ordering: .sequentiallyConsistent)
            if inboxes.allSatisfy(\.isEmpty) { io.waitForInput(timeoutMilliseconds: 100) }
            mailbox.sleeping.store(false, ordering: .relaxed)
        }
        publish()
    }

    private func pickUpCaptureFilter() {
        let generation = capture.generation.load(ordering: .acquiring)
        guard generation != captureGeneration else { return }
        captureGeneration = generation
        captureFilter = capture.filter.withLock { $0 }
    }

    /// Copies a forwarded or returned packet when the running capture wants its flow.
    @inline(__always)
    private func captureIfWanted(_ summary: PacketSummary, _ packet: UnsafeRawBufferPointer, _ event: CaptureEvent, endpoint: Int) {
        guard let filter = captureFilter, filter.matches(summary) else { return }
        captureRing.push(UnsafeRawBufferPointer(rebasing: packet[..<min(summary.length, packet.count)]), time: time.wallNanoseconds,
                         event: event, endpoint: endpoint, appliance: nil, isGeneveDatagram: false)
    }

    private func pickUpSnapshot() {
        let publication = mailbox.publications.load(ordering: .acquiring)
        guard publication != snapshotPublication else { return }
        snapshotPublication = publication
        // Devices first: the control side changes them before it publishes, so the snapshot read
        // next is at least as new (a slot it names without a device yet reads nothing).
        io.refreshEndpoints()
        snapshot = mailbox.snapshot.withLock { $0 }
        let now = DataPlaneTime.now().wallNanoseconds
        counters.snapshotVersion = snapshot.version
        counters.snapshotPickupNanoseconds = now - mailbox.publishedAt.load(ordering: .relaxed)
        mailbox.pickedUpAt.store(now, ordering: .relaxed)
        mailbox.pickedUpVersion.store(snapshot.version, ordering: .releasing)
        table.timeouts = snapshot.timeouts
    }

    /// Lists the flows a troubleshooting query asks for (a scan of the table: rare, never per packet).
    private func answerFlowQuery() {
        let box = mailbox.flowQuery
        box.pending.store(false, ordering: .relaxed)
        guard let (id, query) = box.take() else { return }
        var records: [FlowRecord] = []
        table.forEachFlow { handle, entry in
            guard records.count < query.limit, query.matches(entry) else { return }
            let traffic = table.traffic(handle)
            records.append(FlowRecord(key: entry.key, target: entry.target, cookie: table.cookie(handle),
                                      ageSeconds: time.seconds &- entry.created, idleSeconds: time.seconds &- entry.lastSeen,
                                      confirmed: entry.isConfirmed, state: entry.state, worker: index, packets: traffic.packets,
                                      bytes: traffic.bytes))
        }
        box.answer(records, id: id)
    }

    /// Copies counters and drops where readers find them.
    public func publish() {
        lastPublishSeconds = time.seconds
        loopsSincePublish = 0
        counters.activeFlows = Int64(table.count)
        // Flows per target as the table counts them (exact: the control side frees a slot on it).
        for slot in counters.targets.indices { counters.targets[slot].activeFlows = Int64(table.flows(on: TargetSlot(slot))) }
        counters.activeTCPFlows = Int64(table.counters.activeTCP)
        counters.activeUDPFlows = Int64(table.counters.activeUDP)
        counters.rejectedFlows = table.counters.rejected
        counters.rejectedTCPFlows = table.counters.rejectedTCP
        if let system = io as? SystemIO {
            counters.superPacketsRead = system.superPackets
            counters.superPacketSegments = system.superPacketSegments
            counters.malformedSuperPackets = system.malformedSuperPackets
            counters.endpointsLost = system.endpointsLost
        }
        mailbox.statistics.withLock { $0.copy(from: counters) }
        mailbox.drops.withLock { $0.copy(from: drops) }
    }

    // MARK: Forward path: endpoint → flow → target → GENEVE

    /// Handles a batch of packets read from endpoints (`slotEndpoints` says which): parse and probe
    /// all, then decide each while the flow entries a few packets ahead load, then one send.
    private func forward(_ batch: PacketBatch) {
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
            guard packet.count <= ForwardingSnapshot.maximumInnerPacket else {
                record(.oversize, summary, size: packet.count, endpoint: endpoint, packet: packet)
                if snapshot.pathMTUDiscovery { sendPacketTooBig(answering: packet, summary, endpoint: endpoint) }
                batch.lengths[slot] = 0
                continue
            }
            let probe = tracker.probe(summary, mode: snapshot.keyMode, endpoint: UInt8(endpoint))
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
    private func decide(_ slot: Int, _ batch: PacketBatch, _ snapshot: ForwardingSnapshot) -> Bool {
        let summary = summaries[slot]
        let endpoint = slotEndpoints[slot]
        let packet = UnsafeRawBufferPointer(batch.data(slot))
        // A device read just before its endpoint was deleted, or adopted before its snapshot.
        guard endpoint < snapshot.endpoints.count, let endpointIdentity = snapshot.endpoints[endpoint] else {
            record(.unknownEndpoint, summary, size: summary.length, endpoint: endpoint, packet: packet)
            return false
        }
        switch tracker.track(summary, probe: probes[slot], selection: snapshot.selection, now: time.seconds) {
        case .forward(let handle, let target, let cookie, let event):
            guard let peer = snapshot.target(target), target.index < counters.targets.count else {
                tracker.table.remove(handle)
                record(.noTargets, summary, size: summary.length, endpoint: endpoint, packet: packet)
                return false
            }
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
                if snapshot.resetWithoutFlow { sendReset(answering: slot, batch, endpoint: endpoint) }
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
    private func sendReset(answering slot: Int, _ batch: PacketBatch, endpoint: Int) {
        let packet = UnsafeRawBufferPointer(batch.data(slot))
        guard let length = try? TCPReset.reply(to: packet, into: resetBuffer) else { return }
        if io.writeEndpoint(endpoint, packet: UnsafeRawBufferPointer(rebasing: resetBuffer[..<length])) {
            counters.resetsSent += 1
        }
    }

    /// Answers an oversize packet with ICMP naming the largest inner packet, written into its
    /// endpoint for the kernel to route back to the sender; at most `packetTooBigPerSecond` a second.
    private func sendPacketTooBig(answering packet: UnsafeRawBufferPointer, _ summary: PacketSummary, endpoint: Int) {
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

    // MARK: Return path: appliance → checks → strip → endpoint

    private func acceptReturns(_ batch: PacketBatch) {
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
    private func deliver(_ inner: UnsafeRawBufferPointer, _ summary: PacketSummary, endpoint: Int, appliance: IPv4Address) {
        guard io.acceptsSuperPackets else {
            if !io.writeEndpoint(endpoint, packet: UnsafeRawBufferPointer(rebasing: inner[..<summary.length])) {
                record(.endpointWriteFailed, summary, size: summary.length, endpoint: endpoint, appliance: appliance, packet: inner)
            }
            return
        }
        coalescer.add(inner, summary: summary, endpoint: endpoint, emit: writeCoalesced)
    }

    private func flushCoalesced() {
        if !coalescer.isEmpty { coalescer.flush(emit: writeCoalesced) }
    }

    private func writeCoalesced(_ endpoint: Int, _ packet: UnsafeRawBufferPointer, _ header: VirtioNetHeader, _ segments: Int) {
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
    private func acceptReturn(_ datagram: UnsafeRawBufferPointer, from peer: UDPPeer) -> (owner: Int, PacketSummary, endpoint: Int)? {
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
        guard !snapshot.innerFlowCheck || table[handle].key.admits(summary, mode: snapshot.keyMode) else {
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

    // MARK: Hand-off between workers

    @inline(__always)
    private func owner(ofHash hash: UInt64) -> Int {
        workerCount == 1 ? 0 : Int(((hash >> 32) &* UInt64(workerCount)) >> 32)
    }

    private func hand(_ kind: HandoffRing.Kind, _ packet: UnsafeRawBufferPointer, to owner: Int, summary: PacketSummary, endpoint: Int) {
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
    private func wake(_ workers: UInt64) {
        guard workers != 0 else { return }
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        for worker in 0..<workerCount where workers & (1 << worker) != 0 {
            if peerMailboxes[worker]?.sleeping.load(ordering: .relaxed) ?? true { peerIO[worker]?.wakeUp() }
        }
    }

    /// Handles packets other workers passed here, a batch at a time.
    private func drain(_ inbox: HandoffRing) -> Int {
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

    // MARK: Drops

    private func record(_ reason: DropReason, _ summary: PacketSummary? = nil, detail: WireError? = nil, size: Int,
                        endpoint: Int? = nil, appliance: IPv4Address? = nil, packet: UnsafeRawBufferPointer? = nil,
                        isGeneveDatagram: Bool = false) {
        counters.drops[Int(reason.rawValue)] += 1
        if let packet, captureFilter?.drops == true {
            captureRing.push(packet, time: time.wallNanoseconds, event: .dropped(reason, detail), endpoint: endpoint, appliance: appliance,
                             isGeneveDatagram: isGeneveDatagram)
        }
        if let flowLog, let summary, let endpoint, flowLogIntervalEnd > 0 {
            let now = wallSeconds
            flowLog.push(FlowLogRecord(interval: flowLogIntervalEnd - flowLogInterval, source: summary.source, destination: summary.destination,
                                       sourcePort: summary.sourcePort, destinationPort: summary.destinationPort, protocol: summary.protocol,
                                       endpoint: UInt8(endpoint), accepted: false, packets: 1, bytes: UInt64(size), start: now, end: now))
        }
        drops.append(DropRecord(time: time.wallNanoseconds, reason: reason, detail: detail,
                                source: summary?.source ?? .zero, destination: summary?.destination ?? .zero,
                                sourcePort: summary?.sourcePort ?? 0, destinationPort: summary?.destinationPort ?? 0,
                                protocol: summary?.protocol ?? IPProtocol(rawValue: 0), size: size,
                                endpoint: endpoint.map { UInt8($0) }, appliance: appliance))
    }

    // MARK: Flow logs

    private var wallSeconds: UInt32 { UInt32(truncatingIfNeeded: time.wallNanoseconds / 1_000_000_000) }

    /// At the end of each aggregation interval, every flow that carried something in it gets its
    /// records (a scan of the table once a minute or ten, never per packet).
    private func closeFlowLogIntervalIfDue() {
        let now = wallSeconds
        guard now >= flowLogIntervalEnd else { return }
        if flowLogIntervalEnd > 0 {
            table.forEachFlow { handle, entry in logFlow(handle, entry) }
        }
        flowLogIntervalEnd = (now / flowLogInterval + 1) * flowLogInterval
    }

    /// Records of every flow's traffic so far (the data plane stopping; the worker's thread has ended).
    func flushFlowLog() {
        guard flowLog != nil else { return }
        table.forEachFlow { handle, entry in logFlow(handle, entry) }
    }

    /// The flow's traffic since its last record, one record per direction that carried any.
    private func logFlow(_ handle: FlowHandle, _ entry: FlowEntry) {
        guard let flowLog, flowLogIntervalEnd > 0 else { return }
        let interval = flowLogIntervalEnd - flowLogInterval
        let (fromLow, fromHigh) = table.takeInterval(handle)
        let key = entry.key
        if fromLow.packets > 0 {
            flowLog.push(FlowLogRecord(interval: interval, source: key.lowAddress, destination: key.highAddress, sourcePort: key.lowPort,
                                       destinationPort: key.highPort, protocol: key.protocol, endpoint: key.endpoint, accepted: true,
                                       packets: UInt64(fromLow.packets), bytes: fromLow.bytes, start: fromLow.first, end: fromLow.last))
        }
        if fromHigh.packets > 0 {
            flowLog.push(FlowLogRecord(interval: interval, source: key.highAddress, destination: key.lowAddress, sourcePort: key.highPort,
                                       destinationPort: key.lowPort, protocol: key.protocol, endpoint: key.endpoint, accepted: true,
                                       packets: UInt64(fromHigh.packets), bytes: fromHigh.bytes, start: fromHigh.first, end: fromHigh.last))
        }
    }
}
