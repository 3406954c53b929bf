import Foundation
import Testing
@testable import ControlAPI

/// An API call's blocking work (the store's fsync, devices, routes) runs on NIO's thread pool,
/// never on one of Swift's shared threads, where the servers, the health checks and the streams
/// run: a slow disk holds up calls, not gwlbd's other tasks.
@Suite struct BlockingWorkTests {
    @Test func apiCallsRunOnNIOsThreadPool() async throws {
        let threads = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<8 { group.addTask { try await APIServer.handled { Self.threadName() } } }
            return try await group.reduce(into: [String]()) { $0.append($1) }
        }
        #expect(threads.count == 8 && threads.allSatisfy { $0.hasPrefix("SGLTN-TP-") }, "\(threads)")
        #expect(!Self.threadName().hasPrefix("SGLTN-TP-"), "the test itself runs elsewhere")
    }

    /// The kernel's name of the calling thread (NIO names its threads there).
    static func threadName() -> String {
        ((try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? "").trimmingCharacters(in: .newlines)
    }
}
