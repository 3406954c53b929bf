import Flows
import PacketIO
import Synchronization
import Wire

/// One data-plane worker: owns a flow table, packet buffers and counters, and moves packets
/// between its endpoint queues and its GENEVE socket. Every packet is handled by the worker that
/// owns its flow: the flow hash names the owner on the forward path, the cookie's owner bits on
/// the return path; a packet that arrives at another worker is handed over through a lock-free ring.
/// Runs on one thread; nothing here is shared but the mailbox and the rings.
///
/// Generic over its I/O, so the per-packet calls into it are direct: `runOnce` is specialized for
/// the daemon's `SystemIO` and the tests' and benchmarks' `MemoryIO`, and everything it calls is
/// specialized with it (the data plane reaches workers through `DataPlaneWorker`, once a pass).
public final class Worker<IO: WorkerIO>: DataPlaneWorker {
    public let index: Int
    let workerCount: Int
    public let io: IO
    public let tracker: FlowTracker
    public private(set) var snapshot: ForwardingSnapshot
    let mailbox: WorkerMailbox
    /// Rings to each other worker (nil for this one), and from each.
    var outboxes: [HandoffRing?] = []
    var inboxes: [HandoffRing] = []
    /// The other workers' I/O and mailboxes, to wake one after handing it packets.
    var peerIO: [IO?] = []
    var peerMailboxes: [WorkerMailbox?] = []
    /// Where returned data-path probes are noted (set by the data plane before start).
    var probeReplies: DataPathProbeReplies?

    var counters: DataPlaneStatistics
    var drops: DropRing
    var time = DataPlaneTime(seconds: 1, wallNanoseconds: 0)
    var lastPublishSeconds: UInt32 = 0
    /// The mailbox's publication count when this worker last picked up a snapshot.
    var snapshotPublication: UInt64 = 0
    var loopsSincePublish = 0
    /// Flow-log records go here, aggregated over `flowLogInterval` seconds (nil: no flow logs).
    let flowLog: FlowLogRing?
    let flowLogInterval: UInt32
    /// Wall-clock second the current aggregation interval ends (0 until the first pass).
    var flowLogIntervalEnd: UInt32 = 0
    /// The running capture's filter (nil: none), picked up when `capture.generation` moves.
    var captureFilter: CaptureFilter?
    var captureGeneration: UInt64 = 0
    let capture: CaptureControl
    let captureRing: CaptureRing

    let endpointBatch = PacketBatch()
    /// Returned datagrams: 64 KiB slots, for what the kernel coalesced (UDP GRO).
    let applianceBatch = PacketBatch(capacity: 32, packetCapacity: 65_536, headroom: 0)
    /// Joins returned TCP segments into super-packets when the endpoints take them.
    let coalescer = TCPCoalescer()
    /// ICMP "packet too big" messages this worker may still send in the current second.
    var packetTooBigBudget = 0
    var packetTooBigSecond: UInt32 = 0
    static var packetTooBigPerSecond: Int { 100 }
    /// Per slot of a forward batch: its endpoint, and what became of it.
    let slotEndpoints: UnsafeMutableBufferPointer<Int>
    let pending: UnsafeMutableBufferPointer<Bool>
    /// Slots of the batch still to decide, in order.
    let decideOrder: UnsafeMutableBufferPointer<Int>
    let summaries: UnsafeMutableBufferPointer<PacketSummary>
    let probes: UnsafeMutableBufferPointer<FlowProbe>
    let resetBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(TCPReset.maximumLength, PacketTooBig.maximumLength),
                                                                     alignment: 8)

    var table: FlowTable { tracker.table }

    init(index: Int, workerCount: Int, io: IO, table: FlowTable, mailbox: WorkerMailbox,
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
        Self.applyTimeouts(of: snapshot, to: table)
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
    @_specialize(where IO == SystemIO)
    @_specialize(where IO == MemoryIO)
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
    public func run(until stop: borrowing Atomic<Bool>) {
        while !stop.load(ordering: .relaxed) {
            if runOnce(at: .now()) { continue }
            // Say we sleep, then look at the inboxes once more: a producer either sees the flag and
            // wakes us, or pushed before our look and we see its packet (the fences order the two).
            mailbox.sleeping.store(true, ordering: .relaxed)
            atomicMemoryFence(ordering: .sequentiallyConsistent)
            if inboxes.allSatisfy(\.isEmpty) { io.waitForInput(timeoutMilliseconds: 100) }
            mailbox.sleeping.store(false, ordering: .relaxed)
        }
        // Finish what was read: the rest of a super-packet, packets handed over (new ones wait in
        // the devices' and socket's queues for whoever reads them next: this gwlbd or its successor).
        io.setReading(false)
        while runOnce(at: .now()) {}
        publish()
    }

    func pickUpSnapshot() {
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
        Self.applyTimeouts(of: snapshot, to: table)
    }

    /// Each endpoint's flows live by its load balancer's timeouts.
    static func applyTimeouts(of snapshot: ForwardingSnapshot, to table: FlowTable) {
        for (endpoint, policy) in snapshot.policies.enumerated() { table.setTimeouts(policy.timeouts, endpoint: UInt8(endpoint)) }
    }

    /// Lists the flows a troubleshooting query asks for (a scan of the table: rare, never per packet).
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
        if let system = io as? SystemIO {  // once a second at most
            counters.superPacketsRead = system.superPackets
            counters.superPacketSegments = system.superPacketSegments
            counters.malformedSuperPackets = system.malformedSuperPackets
            counters.endpointsLost = system.endpointsLost
        }
        mailbox.statistics.withLock { $0.copy(from: counters) }
        mailbox.drops.withLock { $0.copy(from: drops) }
    }
}

/// A worker whatever its I/O: what the data plane's threads, the control side and tests call, a
/// pass at a time (never per packet).
public protocol DataPlaneWorker: AnyObject {
    var index: Int { get }
    var tracker: FlowTracker { get }
    var snapshot: ForwardingSnapshot { get }
    /// One pass over the worker's I/O; whether there was any packet.
    @discardableResult func runOnce(at time: DataPlaneTime) -> Bool
    /// Passes until `stop` is set, sleeping in the I/O's wait when idle.
    func run(until stop: borrowing Atomic<Bool>)
    /// Makes the worker's wait return at once.
    func wakeUp()
    /// Stops (false) or resumes reading new packets.
    func setReading(_ reading: Bool)
    /// Publishes the counters and drops for the control side.
    func publish()
    /// Hands the open flow-log interval's records to the writer.
    func flushFlowLog()
}

extension Worker {
    public func wakeUp() { io.wakeUp() }
    public func setReading(_ reading: Bool) { io.setReading(reading) }
}
