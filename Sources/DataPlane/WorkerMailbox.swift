import Synchronization

/// What a worker shares with the rest of the process: the snapshot to pick up, and the counters
/// and drops it publishes. Locks here are taken once per publication or pickup, never per packet.
final class WorkerMailbox: Sendable {
    let snapshot: Mutex<ForwardingSnapshot>
    /// Counts publications, read without the lock between batches: a worker picks up the snapshot
    /// when this moved, whatever version numbers the publishers use.
    let publications = Atomic<UInt64>(0)
    /// Wall-clock nanoseconds of the last publication, to measure how long pickup takes.
    let publishedAt = Atomic<Int64>(0)
    /// The version the worker picked up last, and when (wall-clock nanoseconds).
    let pickedUpVersion = Atomic<UInt64>(0)
    let pickedUpAt = Atomic<Int64>(0)
    let statistics: Mutex<DataPlaneStatistics>
    let drops: Mutex<DropRing>
    /// The worker is about to block, or blocked, waiting for input: a worker that hands it packets
    /// must wake it. While it runs, hand-offs need no system call.
    let sleeping = Atomic<Bool>(false)
    /// A flow listing asked of this worker.
    let flowQuery = FlowQueryBox()

    init(snapshot: ForwardingSnapshot, targetSlots: Int, dropCapacity: Int) {
        self.snapshot = Mutex(snapshot)
        statistics = Mutex(DataPlaneStatistics(targetSlots: targetSlots))
        drops = Mutex(DropRing(capacity: dropCapacity))
    }

    func publish(_ snapshot: ForwardingSnapshot) {
        self.snapshot.withLock { $0 = snapshot }
        publishedAt.store(DataPlaneTime.now().wallNanoseconds, ordering: .relaxed)
        publications.add(1, ordering: .releasing)
    }
}
