import Dispatch

/// Runs tasks on a queue of their own instead of Swift's shared cooperative threads (as many as
/// cores): code elsewhere in the process that blocks those threads (tests do, by design) must not
/// stall what runs here. The API servers and the health checks each have one.
public final class DedicatedExecutor: TaskExecutor, @unchecked Sendable {
    // @unchecked: the queue is thread-safe; nothing else is stored.
    private let queue: DispatchQueue

    public init(label: String) {
        queue = DispatchQueue(label: label, attributes: .concurrent)
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        queue.async { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
