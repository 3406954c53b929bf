import Flows
import PacketIO
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// How the data plane is sized; fixed at start.
public struct DataPlaneConfiguration: Sendable {
    /// Flow-table entries per worker.
    public var flowsPerWorker: Int
    /// Target slots the counters have room for.
    public var targetSlots: Int = 1024
    /// Recent drops kept per worker.
    public var dropCapacity: Int = 256
    /// Packets that fit in each hand-off ring between two workers.
    public var handoffCapacity: Int = 256
    /// Flow logs' aggregation interval in seconds (60 or 600); 0: no flow logs.
    public var flowLogInterval: UInt32 = 0
    /// Flow-log records each worker can hold for the writer.
    public var flowLogCapacity: Int = 1 << 16

    public init(flowsPerWorker: Int = 1 << 20) {
        self.flowsPerWorker = flowsPerWorker
    }
}

/// The workers, their threads, and what the control side sees of them: `publish` a snapshot,
/// read `statistics()` and `recentDrops()`.
public final class DataPlane: @unchecked Sendable {
    // @unchecked: `workers` are touched only by their own threads once `start()` ran (before it, or
    // after `stop()`, by the caller's); everything else is immutable or behind the mailboxes' locks.

    public let workers: [any DataPlaneWorker]
    /// Each worker's flow-log records, for the writer (empty without flow logs).
    public let flowLogRings: [FlowLogRing]
    /// Data-path probes that came back, noted by the workers (README "Health checks through the data path").
    public let probeReplies = DataPathProbeReplies()
    let capture: CaptureControl
    private let mailboxes: [WorkerMailbox]
    private let stopFlag = Atomic<Bool>(false)
    /// Kept for as long as the tables use its memory.
    private let shared: SharedFlowState?
    /// Serializes `flows` (control side, never per packet); holds the last query's id.
    private let flowQueries = Mutex<UInt64>(0)
    private var threads: [pthread_t] = []

    /// One worker per I/O (per core, normally); the first snapshot to run with. With `shared`, the
    /// flow tables live in its memory (and take over the flows an earlier gwlbd left there), with
    /// its hash and cookie keys, so that gwlbd's returns and flows stay valid.
    public init<IO: WorkerIO>(configuration: DataPlaneConfiguration, ios: [IO], snapshot: ForwardingSnapshot,
                              shared: SharedFlowState? = nil) {
        precondition(!ios.isEmpty && ios.count <= 64, "1-64 workers")
        let count = ios.count
        let ownerBits = Self.ownerBits(workers: count)
        // Shared by all tables: any worker can tell a flow's owner from its hash or its cookie.
        precondition(shared.map { $0.layout == SharedFlowState.Layout(workers: count, flowsPerWorker: configuration.flowsPerWorker,
                                                                       targetSlots: configuration.targetSlots) } ?? true,
                     "shared flow state of another layout")
        let hasher = shared?.hasher ?? FlowHasher.random()
        let cookies = shared?.cookies ?? FlowCookieCodec.random(capacity: configuration.flowsPerWorker, ownerBits: ownerBits)
        let mailboxes = (0..<count).map { _ in
            WorkerMailbox(snapshot: snapshot, targetSlots: configuration.targetSlots, dropCapacity: configuration.dropCapacity)
        }
        self.mailboxes = mailboxes
        let flowLogRings = configuration.flowLogInterval == 0 ? [] : (0..<count).map { _ in FlowLogRing(capacity: configuration.flowLogCapacity) }
        self.flowLogRings = flowLogRings
        let capture = CaptureControl(workers: count)
        self.capture = capture
        let workers = (0..<count).map { index in
            Worker(index: index, workerCount: count, io: ios[index],
                   table: FlowTable(capacity: configuration.flowsPerWorker, hasher: hasher, cookies: cookies, owner: UInt32(index),
                                    targetSlots: configuration.targetSlots, memory: shared?.tableMemory(worker: index)),
                   mailbox: mailboxes[index], targetSlots: configuration.targetSlots, dropCapacity: configuration.dropCapacity,
                   flowLog: flowLogRings.isEmpty ? nil : (flowLogRings[index], configuration.flowLogInterval),
                   capture: (capture, capture.rings[index]))
        }
        self.shared = shared
        // ring[from][to]: the producer is `from`, the consumer `to`.
        let rings = (0..<count).map { from in
            (0..<count).map { to in from == to ? nil : HandoffRing(capacity: configuration.handoffCapacity) }
        }
        for worker in workers {
            worker.outboxes = rings[worker.index]
            worker.inboxes = (0..<count).compactMap { rings[$0][worker.index] }
            worker.peerIO = ios.enumerated().map { $0.offset == worker.index ? nil : $0.element }
            worker.peerMailboxes = mailboxes.enumerated().map { $0.offset == worker.index ? nil : $0.element }
            worker.probeReplies = probeReplies
        }
        self.workers = workers
        // Counters from the start: a taken-over table has flows before its worker first runs, and the
        // control side frees a target slot only when they say none is left on it.
        for worker in workers { worker.publish() }
    }

    /// Bits of a flow cookie that name its owner among `workers` workers.
    public static func ownerBits(workers: Int) -> Int {
        workers == 1 ? 0 : Int.bitWidth - (workers - 1).leadingZeroBitCount
    }

    /// Gives every worker a new snapshot; each picks it up before its next batch.
    public func publish(_ snapshot: ForwardingSnapshot) {
        for mailbox in mailboxes { mailbox.publish(snapshot) }
        for worker in workers { worker.wakeUp() }
    }

    /// The sum of what the workers last published (at least once a second while they run).
    public func statistics() -> DataPlaneStatistics {
        var total = mailboxes[0].statistics.withLock { $0 }
        for mailbox in mailboxes.dropFirst() { total.add(mailbox.statistics.withLock { $0 }) }
        return total
    }

    /// The most recent drops of all workers, oldest first.
    public func recentDrops() -> [DropRecord] {
        mailboxes.flatMap { mailbox in mailbox.drops.withLock { $0.recent } }.sorted { $0.time < $1.time }
    }

    /// Per worker: the snapshot version it picked up last, and when (wall-clock nanoseconds).
    public func snapshotPickups() -> [(version: UInt64, wallNanoseconds: Int64)] {
        mailboxes.map { ($0.pickedUpVersion.load(ordering: .acquiring), $0.pickedUpAt.load(ordering: .relaxed)) }
    }

    /// The flows `query` selects, from every worker (each answers between batches). Workers that do
    /// not answer within `timeoutMilliseconds` (stopped ones) contribute nothing.
    public func flows(_ query: FlowQuery, timeoutMilliseconds: Int = 2000) -> [FlowRecord] {
        // One query at a time: each worker has one exchange, and two callers would swap answers.
        flowQueries.withLock { lastID in
            lastID += 1
            let id = lastID
            for (mailbox, worker) in zip(mailboxes, workers) {
                mailbox.flowQuery.ask(query, id: id)
                worker.wakeUp()
            }
            var answers = [[FlowRecord]?](repeating: nil, count: mailboxes.count)
            for _ in 0..<timeoutMilliseconds where answers.contains(where: { $0 == nil }) {
                for index in mailboxes.indices where answers[index] == nil { answers[index] = mailboxes[index].flowQuery.takeAnswer(id: id) }
                if answers.contains(where: { $0 == nil }) { usleep(1000) }
            }
            return answers.flatMap { $0 ?? [] }
        }
    }

    // MARK: Threads

    /// Starts one thread per worker.
    public func start() {
        precondition(threads.isEmpty, "data plane already started")
        stopFlag.store(false, ordering: .relaxed)
        for worker in workers { worker.setReading(true) }
        for worker in workers {
            let context = Unmanaged.passRetained(ThreadContext(worker: worker, plane: self))
            var thread = pthread_t()
            let result = pthread_create(&thread, nil, { raw in
                let context = Unmanaged<ThreadContext>.fromOpaque(raw!).takeRetainedValue()
                context.worker.run(until: context.plane.stopFlag)
                return nil
            }, context.toOpaque())
            precondition(result == 0, "cannot start a data-plane thread: \(result)")
            threads.append(thread)
        }
    }

    /// Stops the threads and waits for them, after every packet already read was sent on (nothing
    /// new is read); counters are published one last time. `start()` may run them again.
    public func stop() {
        stopFlag.store(true, ordering: .relaxed)
        for worker in workers { worker.wakeUp() }
        let wasRunning = !threads.isEmpty
        for thread in threads { pthread_join(thread, nil) }
        threads = []
        // A worker that finished early may have been handed packets by one still finishing: with
        // the threads gone, this thread completes every worker's remaining work (reads are off).
        var working = wasRunning
        while working {
            working = false
            for worker in workers { while worker.runOnce(at: .now()) { working = true } }
        }
        // The open interval's records, so a stop loses no traffic from the flow log.
        for worker in workers { worker.flushFlowLog() }
    }

    private final class ThreadContext {
        let worker: any DataPlaneWorker
        let plane: DataPlane
        init(worker: any DataPlaneWorker, plane: DataPlane) {
            self.worker = worker
            self.plane = plane
        }
    }
}
