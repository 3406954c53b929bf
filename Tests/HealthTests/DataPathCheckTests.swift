import Foundation
import Synchronization
import Testing
@testable import Health
import TestTraits

/// The data-path probe behind a passed check: its loss makes a target unhealthy with its own
/// reason; a failed check keeps the check's reason and sends no probe.
@Suite(.blocking) struct DataPathCheckTests {
    @Test func lostProbesMakeATargetUnhealthyWithTheirOwnReason() {
        var machine = HealthStateMachine(healthyThreshold: 2, unhealthyThreshold: 2)
        machine.record(.success)
        machine.record(.success)
        #expect(machine.record(.dataPathFailed) == nil)
        #expect(machine.record(.dataPathFailed) == .dataPathFailed)
        #expect(machine.state.reason == "Target.DataPathFailed" && machine.state.state == .unhealthy)
    }

    /// A real HTTP server answers the checks; the data-path probe is a stand-in that comes back or not.
    @Test func theCheckerProbesTheDataPathOnlyBehindAPassedCheck() throws {
        let server = try TestServer()
        defer { server.close() }
        let returns = Atomic<Bool>(true), probes = Atomic<Int>(0)
        let checker = HealthChecker(timeScale: 0.02, dataPathProbe: { address, _ in
            probes.add(1, ordering: .relaxed)
            return .success(returns.load(ordering: .relaxed) ? 0.003 : nil)
        }) { _, _ in }
        let running = Task { await TestServers.run { await checker.run() } }
        defer { running.cancel() }
        checker.update([HealthChecker.Target(id: "t", address: "127.0.0.1", port: server.port, kind: .http(path: "/", codes: Set(200...399)),
                                             intervalSeconds: 5, timeoutSeconds: 5, healthyThreshold: 2, unhealthyThreshold: 2, dataPath: true)])
        let waitFor = eventually
        #expect(waitFor { checker.states["t"]?.state == .healthy })
        #expect(checker.dataPathLatencies["t"] == 0.003, "the probe's round trip is kept like the check's latency")
        returns.store(false, ordering: .relaxed)
        #expect(waitFor { checker.states["t"]?.state == .unhealthy })
        #expect(checker.states["t"]?.reason == "Target.DataPathFailed" && checker.dataPathLatencies["t"] == nil)
        // The check itself fails: its reason, and no more probes.
        server.mode.withLock { $0 = .answer(500) }
        #expect(waitFor { checker.states["t"]?.reason == "Target.ResponseCodeMismatch" })
        let sent = probes.load(ordering: .relaxed)
        Thread.sleep(forTimeInterval: 0.5)
        #expect(probes.load(ordering: .relaxed) == sent, "no probe behind a failed check")
    }

    /// Turning the probe on keeps each target's state (no trip through `initial`, which would fail
    /// open to every target): a target whose data path is broken goes from healthy to unhealthy.
    @Test func turningTheProbeOnKeepsTheState() throws {
        let server = try TestServer()
        defer { server.close() }
        let reports = Mutex<[TargetHealthState]>([])
        let checker = HealthChecker(timeScale: 0.02, dataPathProbe: { _, _ in .success(nil) }) { _, state in reports.withLock { $0.append(state) } }
        let running = Task { await TestServers.run { await checker.run() } }
        defer { running.cancel() }
        var target = HealthChecker.Target(id: "t", address: "127.0.0.1", port: server.port, kind: .tcp, intervalSeconds: 5, timeoutSeconds: 5,
                                          healthyThreshold: 2, unhealthyThreshold: 2)
        checker.update([target])
        func waitFor(_ state: TargetHealthState.State) -> Bool { eventually { checker.states["t"]?.state == state } }
        #expect(waitFor(.healthy))
        target.dataPath = true
        checker.update([target])
        #expect(waitFor(.unhealthy))
        let seen = reports.withLock { $0 }
        #expect(seen.suffix(2).map(\.state) == [.healthy, .unhealthy] && seen.last?.reason == "Target.DataPathFailed", "\(seen)")
    }
}
