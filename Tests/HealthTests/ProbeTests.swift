import Foundation
import Synchronization
import Testing
@testable import Health
import TestTraits

/// A real TCP server on loopback for probes: answers HTTP with its `mode`'s status, or (silent)
/// accepts connections in the kernel's backlog and never answers.
final class TestServer: @unchecked Sendable {
    // @unchecked: `listener` is set once; `mode` is behind its lock.
    let port: Int
    private let listener: Int32
    let mode = Mutex<Mode>(.answer(200))
    /// Set by `close`; the accept thread then closes the descriptor itself, so its number cannot be
    /// reused by another socket while the thread still accepts on it.
    private let closed = Atomic<Bool>(false)

    enum Mode { case answer(Int), silent }

    init(_ initial: Mode = .answer(200)) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && listen(fd, 16) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else { throw CocoaError(.fileNoSuchFile) }
        listener = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        mode.withLock { $0 = initial }
        if case .silent = initial { return }
        Thread.detachNewThread { [self] in
            while true {
                let client = accept(listener, nil, nil)
                if closed.load(ordering: .acquiring) {
                    if client >= 0 { Glibc.close(client) }
                    Glibc.close(listener)
                    return
                }
                if client < 0 { continue }
                switch mode.withLock({ $0 }) {
                case .answer(let status):
                    var buffer = [UInt8](repeating: 0, count: 1024)
                    _ = recv(client, &buffer, buffer.count, 0)
                    let response = "HTTP/1.1 \(status) X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    _ = response.utf8CString.withUnsafeBufferPointer { send(client, $0.baseAddress, $0.count - 1, Int32(MSG_NOSIGNAL)) }
                    Glibc.close(client)
                case .silent:
                    DispatchQueue.global().asyncAfter(deadline: .now() + 2) { Glibc.close(client) }
                }
            }
        }
    }

    /// Stops listening: connections are refused from now on.
    func close() {
        let silent = { if case .silent = mode.withLock({ $0 }) { return true } else { return false } }()
        closed.store(true, ordering: .releasing)
        shutdown(listener, Int32(SHUT_RDWR))
        // A silent server has no accept thread to close the descriptor.
        if silent { Glibc.close(listener) }
    }
}

/// The probes are asynchronous: their tests wait on the cooperative pool (the blocking tests'
/// threads, held by labs for minutes, would delay what they time); only the test that polls is
/// `.blocking`.
@Suite struct ProbeTests {
    @Test func tcpProbeConnectsOrFails() async throws {
        let server = try TestServer()
        #expect(await Probe.run(.tcp, address: "127.0.0.1", port: server.port, timeout: 1) == .success)
        server.close()
        #expect(await Probe.run(.tcp, address: "127.0.0.1", port: server.port, timeout: 1) == .connectionFailed)
    }

    @Test func httpProbeMatchesTheStatus() async throws {
        let server = try TestServer()
        defer { server.close() }
        let kind = Probe.Kind.http(path: "/", codes: Set(200...399))
        #expect(await Probe.run(kind, address: "127.0.0.1", port: server.port, timeout: 1) == .success)
        server.mode.withLock { $0 = .answer(503) }
        #expect(await Probe.run(kind, address: "127.0.0.1", port: server.port, timeout: 1) == .responseCodeMismatch(503))
        let silent = try TestServer(.silent)
        defer { silent.close() }
        #expect(await Probe.run(kind, address: "127.0.0.1", port: silent.port, timeout: 0.3) == .timeout)
    }

    /// 400 checks waiting for their timeout at once (a server that never accepts) hold no thread
    /// each: they wait on the event loops. A thread per probe made 400 threads here.
    @Test func checksInFlightTakeNoThreadEach() async throws {
        let silent = try TestServer(.silent)
        defer { silent.close() }
        func threads() -> Int { (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").count) ?? 0 }
        let before = threads()
        let checker = HealthChecker { _, _ in }
        let running = Task { await TestServers.run { await checker.run() } }
        defer { running.cancel() }
        checker.update((0..<400).map {
            HealthChecker.Target(id: "t\($0)", address: "127.0.0.1", port: silent.port, kind: .tcp, intervalSeconds: 120, timeoutSeconds: 60,
                                 healthyThreshold: 2, unhealthyThreshold: 2)
        })
        // A minute's timeout: the checks still wait when this test resumes, however busy the
        // machine's shared threads keep it (14 s once, in a full run).
        try await Task.sleep(for: .seconds(1))
        let during = threads()
        #expect(checker.latencies.count < 380, "most checks are still waiting for their timeout")
        #expect(during - before < 150, "\(before) threads before, \(during) with 400 checks in flight")
    }

    /// A stopping gwlbd does not wait out checks in flight (up to 120 s each in AWS's range; 10 here):
    /// cancelling `run` ends it at once, and the HTTP check and the data-path probe that were
    /// waiting are abandoned with nothing recorded.
    @Test func stoppingAbandonsChecksInFlight() async throws {
        let silent = try TestServer(.silent)
        defer { silent.close() }
        let answering = try TestServer()
        defer { answering.close() }
        let release = DispatchSemaphore(value: 0)
        let dataPathProbes = Atomic<Int>(0)
        let reported = Mutex<[String]>([])
        let checker = HealthChecker(dataPathProbe: { _, _ in
            dataPathProbes.add(1, ordering: .relaxed)
            _ = release.wait(timeout: .now() + 10)
            return .success(0.001)
        }) { target, _ in reported.withLock { $0.append(target) } }
        defer { release.signal() }
        func target(_ id: String, port: Int, _ kind: Probe.Kind, dataPath: Bool = false) -> HealthChecker.Target {
            HealthChecker.Target(id: id, address: "127.0.0.1", port: port, kind: kind, intervalSeconds: 120, timeoutSeconds: 10,
                                 healthyThreshold: 2, unhealthyThreshold: 2, dataPath: dataPath)
        }
        checker.update([target("http", port: silent.port, .http(path: "/", codes: [200])),
                        target("data-path", port: answering.port, .http(path: "/", codes: [200]), dataPath: true)])
        let running = Task { await TestServers.run { await checker.run() } }
        let deadline = ContinuousClock.now + .seconds(30)
        while dataPathProbes.load(ordering: .relaxed) == 0, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(dataPathProbes.load(ordering: .relaxed) == 1, "the data-path probe started")
        let cancelled = ContinuousClock.now
        running.cancel()
        await running.value
        #expect(ContinuousClock.now - cancelled < .seconds(2), "run ended \(ContinuousClock.now - cancelled) after it was cancelled")
        #expect(checker.latencies.isEmpty && reported.withLock { $0.isEmpty }, "abandoned checks recorded nothing: \(checker.latencies)")
    }

    /// initial → healthy → unhealthy → healthy against a server turned off and on, with the reasons.
    @Test(.blocking) func checkerFollowsARealServer() throws {
        let server = try TestServer()
        defer { server.close() }
        let reports = Mutex<[TargetHealthState]>([])
        let checker = HealthChecker(timeScale: 0.02) { _, state in reports.withLock { $0.append(state) } }
        let running = Task { await TestServers.run { await checker.run() } }
        defer { running.cancel() }
        checker.update([HealthChecker.Target(id: "t", address: "127.0.0.1", port: server.port,
                                             kind: .http(path: "/", codes: Set(200...399)), intervalSeconds: 5, timeoutSeconds: 5,
                                             healthyThreshold: 2, unhealthyThreshold: 2)])
        func waitFor(_ state: TargetHealthState.State) -> Bool { eventually { checker.states["t"]?.state == state } }
        #expect(waitFor(.healthy))
        server.mode.withLock { $0 = .answer(500) }
        #expect(waitFor(.unhealthy))
        #expect(checker.states["t"]?.reason == "Target.ResponseCodeMismatch")
        server.mode.withLock { $0 = .answer(200) }
        #expect(waitFor(.healthy))
        let seen = reports.withLock { $0.map(\.state) }
        #expect(seen.first == .initial && seen.contains(.unhealthy) && seen.last == .healthy, "\(seen)")
    }
}

/// Whether `condition` holds within 30 s (checked every 50 ms): the checkers run on their own threads,
/// and a CI machine busy with the rest of the suite (fuzzers, labs) can be slow to give them a core.
func eventually(_ condition: () -> Bool) -> Bool {
    for _ in 0..<600 {
        if condition() { return true }
        Thread.sleep(forTimeInterval: 0.05)
    }
    return false
}
