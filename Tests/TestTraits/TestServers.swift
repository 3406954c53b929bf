import Dispatch
import Testing

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

/// Runs a test (or every test of a suite) on `TestServers.executor`'s threads: for tests that
/// mix short blocking calls (a database's) with async waits they time, which must neither hold one
/// of Swift's two shared threads nor wait for a turn behind the labs of `.blocking` tests.
public struct OnTestServers: TestTrait, SuiteTrait, TestScoping {
    public var isRecursive: Bool { true }

    public func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        try await withTaskExecutorPreference(TestServers.executor) { try await function() }
    }
}

extension Trait where Self == OnTestServers {
    /// The test blocks briefly between async waits: on threads of its own that grow with need.
    public static var onTestServers: Self { OnTestServers() }
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
