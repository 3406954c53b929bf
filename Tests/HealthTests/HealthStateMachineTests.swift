import Testing
@testable import Health

@Suite struct HealthStateMachineTests {
    @Test func initialThenHealthyAfterTheHealthyThreshold() {
        var machine = HealthStateMachine(healthyThreshold: 3, unhealthyThreshold: 2)
        #expect(machine.state == .registrationInProgress)
        #expect(machine.record(.success) == .initialHealthChecking)
        #expect(machine.record(.success) == nil)
        #expect(machine.record(.success) == .healthy)
    }

    @Test func unhealthyAfterTheUnhealthyThresholdWithTheReason() {
        var machine = HealthStateMachine(healthyThreshold: 2, unhealthyThreshold: 2)
        machine.record(.success)
        machine.record(.success)
        #expect(machine.state == .healthy)
        #expect(machine.record(.timeout) == nil, "one failure is not enough")
        #expect(machine.record(.timeout) == .timeout)
        #expect(machine.state.reason == "Target.Timeout")
        var http = HealthStateMachine(healthyThreshold: 2, unhealthyThreshold: 2)
        http.record(.responseCodeMismatch(503))
        #expect(http.record(.responseCodeMismatch(503))?.reason == "Target.ResponseCodeMismatch")
        var refused = HealthStateMachine(healthyThreshold: 2, unhealthyThreshold: 3)
        for _ in 0..<3 { refused.record(.connectionFailed) }
        #expect(refused.state == .failedHealthChecks)
    }

    /// A success resets the failure count, and the way back needs the full healthy threshold.
    @Test func countsAreConsecutive() {
        var machine = HealthStateMachine(healthyThreshold: 3, unhealthyThreshold: 3)
        for result in [ProbeResult.success, .success, .success, .timeout, .timeout, .success, .timeout, .timeout] { machine.record(result) }
        #expect(machine.state == .healthy)
        machine.record(.timeout)
        #expect(machine.state == .timeout)
        machine.record(.success)
        machine.record(.success)
        #expect(machine.state.state == .unhealthy)
        machine.record(.success)
        #expect(machine.state == .healthy)
    }

    @Test func initialFailuresLeadToUnhealthy() {
        var machine = HealthStateMachine(healthyThreshold: 5, unhealthyThreshold: 2)
        #expect(machine.record(.connectionFailed) == .initialHealthChecking)
        #expect(machine.record(.connectionFailed) == .failedHealthChecks)
    }
}
