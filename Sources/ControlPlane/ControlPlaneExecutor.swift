import Dispatch

/// The control plane's thread: the actor's jobs run here one at a time, in order. Its work blocks
/// (SQLite's fsync, creating devices, netlink), so it runs on a queue of its own, never on one of
/// Swift's shared threads, which the servers, health checks and streams need.
final class ControlPlaneExecutor: SerialExecutor, @unchecked Sendable {
    // @unchecked: a serial dispatch queue is thread-safe; nothing else is stored.
    private let queue = DispatchQueue(label: "gwlb.control")
    private static let marker = DispatchSpecificKey<Bool>()

    init() {
        queue.setSpecific(key: Self.marker, value: true)
    }

    /// The caller runs on the control plane's thread.
    static var isCurrent: Bool { DispatchQueue.getSpecific(key: marker) == true }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        queue.async { job.runSynchronously(on: self.asUnownedSerialExecutor()) }
    }

    /// Returns once every job enqueued before the call has run. Blocks: never call it from a job
    /// of this executor.
    func waitForQueuedJobs() {
        queue.sync {}
    }
}
