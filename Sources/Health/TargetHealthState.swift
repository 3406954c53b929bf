/// DescribeTargetHealth's view of a target (README "AWS's rules, and choices"): state, reason code and description.
public struct TargetHealthState: Hashable, Sendable, CustomStringConvertible {
    public enum State: String, Sendable, CaseIterable {
        case initial, healthy, unhealthy, draining, unused, unavailable
    }

    public var state: State
    /// AWS's reason code; nil when healthy.
    public var reason: String?
    public var details: String?

    public init(_ state: State, reason: String? = nil, details: String? = nil) {
        self.state = state
        self.reason = reason
        self.details = details
    }

    public static let registrationInProgress = TargetHealthState(.initial, reason: "Elb.RegistrationInProgress",
                                                                 details: "Target registration is in progress")
    public static let initialHealthChecking = TargetHealthState(.initial, reason: "Elb.InitialHealthChecking",
                                                                details: "Initial health checks in progress")
    public static let healthy = TargetHealthState(.healthy)
    public static let failedHealthChecks = TargetHealthState(.unhealthy, reason: "Target.FailedHealthChecks", details: "Health checks failed")
    public static let responseCodeMismatch = TargetHealthState(.unhealthy, reason: "Target.ResponseCodeMismatch",
                                                               details: "Health checks failed with these codes")
    public static let timeout = TargetHealthState(.unhealthy, reason: "Target.Timeout", details: "Request timed out")
    public static let deregistrationInProgress = TargetHealthState(.draining, reason: "Target.DeregistrationInProgress",
                                                                   details: "Target deregistration is in progress")
    public static let notRegistered = TargetHealthState(.unused, reason: "Target.NotRegistered",
                                                        details: "Target is not registered to the target group")
    public static let notInUse = TargetHealthState(.unused, reason: "Target.NotInUse",
                                                   details: "Target group is not configured to receive traffic from the load balancer")
    /// gwlb's own: the target answers its checks but does not return what it gets in GENEVE.
    public static let dataPathFailed = TargetHealthState(.unhealthy, reason: "Target.DataPathFailed",
                                                         details: "Probes sent through the target in GENEVE did not come back")
    public static let internalError = TargetHealthState(.unavailable, reason: "Elb.InternalError", details: "Health checks failed due to an internal error")

    public var description: String { reason.map { "\(state.rawValue) (\($0))" } ?? state.rawValue }
}

/// What one health check found.
public enum ProbeResult: Hashable, Sendable {
    case success
    /// No answer within the timeout.
    case timeout
    /// An HTTP answer outside the matcher.
    case responseCodeMismatch(Int)
    /// Connection refused, reset, unreachable, or an answer that is not HTTP.
    case connectionFailed
    /// The probe could not run for a reason of this machine's (no descriptor, no buffer, no local
    /// port): says nothing of the target, whose state stays as it is.
    case localError(Int32)
    /// The check passed, but a probe sent through the target in GENEVE did not come back.
    case dataPathFailed
}

/// The health-check state machine of one target: consecutive results against the thresholds.
/// Pure: the prober feeds it results, the control plane reads `state`.
public struct HealthStateMachine: Hashable, Sendable {
    public private(set) var state: TargetHealthState = .registrationInProgress
    public private(set) var consecutiveSuccesses = 0
    public private(set) var consecutiveFailures = 0
    public let healthyThreshold: Int
    public let unhealthyThreshold: Int

    /// - Parameter state: where to start: a restarted gwlbd resumes its targets' last states.
    public init(healthyThreshold: Int, unhealthyThreshold: Int, state: TargetHealthState = .registrationInProgress) {
        self.healthyThreshold = healthyThreshold
        self.unhealthyThreshold = unhealthyThreshold
        self.state = state
    }

    /// Feeds one result; returns the new state when it changed.
    @discardableResult
    public mutating func record(_ result: ProbeResult) -> TargetHealthState? {
        let before = state
        switch result {
        case .localError:
            return nil
        case .success:
            consecutiveSuccesses += 1
            consecutiveFailures = 0
            if state.state != .healthy {
                state = consecutiveSuccesses >= healthyThreshold ? .healthy : (state.state == .initial ? .initialHealthChecking : state)
            }
        case .timeout, .responseCodeMismatch, .connectionFailed, .dataPathFailed:
            consecutiveFailures += 1
            consecutiveSuccesses = 0
            if consecutiveFailures >= unhealthyThreshold {
                state = Self.unhealthyState(for: result)
            } else if state.state == .initial {
                state = .initialHealthChecking
            }
        }
        return state == before ? nil : state
    }

    static func unhealthyState(for result: ProbeResult) -> TargetHealthState {
        switch result {
        case .timeout: .timeout
        case .dataPathFailed: .dataPathFailed
        case .responseCodeMismatch(let code):
            TargetHealthState(.unhealthy, reason: "Target.ResponseCodeMismatch", details: "Health checks failed with these codes: [\(code)]")
        default: .failedHealthChecks
        }
    }
}
