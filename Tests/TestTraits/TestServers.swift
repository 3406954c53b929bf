import Dispatch

/// Runs the servers, health checkers and clients a test starts inside the test process on a queue
/// of their own. Swift's shared threads are as many as cores (two here), and tests hold them: a sync
/// test waiting for a call's answer, a CPU-heavy one for seconds. A server another test (or the
/// same one) waits for must not wait for them.
/// gwlbd needs no such thing: nothing in it blocks those threads (README "Code map").
public enum TestServers {
    public static func run<Value: Sendable>(_ body: @Sendable () async throws -> Value) async rethrows -> Value {
        try await withTaskExecutorPreference(executor) { try await body() }
    }

    public static let executor: any TaskExecutor = QueueExecutor(label: "gwlb.test-servers")
}

/// Runs tasks on a concurrent dispatch queue instead of Swift's shared cooperative threads.
final class QueueExecutor: TaskExecutor, @unchecked Sendable {
    // @unchecked: the queue is thread-safe; nothing else is stored.
    private let queue: DispatchQueue

    init(label: String) {
        queue = DispatchQueue(label: label, attributes: .concurrent)
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        queue.async { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
