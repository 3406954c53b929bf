import Dispatch
import Foundation
import Synchronization
import Testing

/// Runs a test (or every test of a suite) on threads of its own rather than on Swift's shared
/// cooperative threads.
///
/// The cooperative pool is as wide as the machine has cores (two here), and every test of the
/// process shares it. A test that blocks (waits for a process, sleeps between polls of a lab)
/// holds one of its threads while it does; two such tests stall every other async test of the
/// process, down to API servers whose clients then time out. Tests that block carry this trait.
public struct OffCooperativePool: TestTrait, SuiteTrait, TestScoping {
    let executor: BlockingTestExecutor
    public var isRecursive: Bool { true }

    public func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        try await withTaskExecutorPreference(executor) { try await function() }
    }
}

extension Trait where Self == OffCooperativePool {
    /// The test blocks its thread: keep it off the cooperative pool.
    public static var blocking: Self { OffCooperativePool(executor: .shared) }
    /// The test waits on PostgreSQL between async steps it times: on threads the database tests
    /// share, so that their calls hold none of Swift's shared threads nor the test servers', and
    /// their waits take no turn behind the labs of `.blocking` tests.
    public static var database: Self { OffCooperativePool(executor: .databases) }
}

/// A task executor with threads of its own, as many as the machine has cores: blocking tests take
/// turns on them as they took turns on the cooperative threads (a lab per core at most, so the
/// labs do not starve each other's timing), while the cooperative pool stays free for the rest.
final class BlockingTestExecutor: TaskExecutor, @unchecked Sendable {
    // @unchecked: the job queue is behind a mutex, the semaphore is thread-safe.
    static let shared = BlockingTestExecutor(threads: max(2, ProcessInfo.processInfo.activeProcessorCount))
    /// The database tests' (`.database`): short blocking calls, a few suites at once.
    static let databases = BlockingTestExecutor(threads: 4)
    private let jobs = Mutex<[UnownedJob]>([])
    private let waiting = DispatchSemaphore(value: 0)

    init(threads: Int) {
        for index in 0..<threads {
            let thread = Thread { [unowned self] in self.work() }
            thread.name = "blocking-tests-\(index)"
            thread.start()
        }
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        jobs.withLock { $0.append(job) }
        waiting.signal()
    }

    private func work() {
        while true {
            waiting.wait()
            let job = jobs.withLock { $0.removeFirst() }
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}
