/// A target group's health check (README "AWS's rules, and choices"; defaults are AWS's for GENEVE target groups).
public struct HealthCheck: Hashable, Sendable, Codable {
    public enum HealthProtocol: String, Sendable, CaseIterable, Codable {
        case tcp = "TCP", http = "HTTP", https = "HTTPS"
    }

    public var healthProtocol: HealthProtocol = .tcp
    /// A port number, or `traffic-port` (the target's own port).
    public var port: String = "80"
    public var path: String? = nil
    public var intervalSeconds = 10
    public var timeoutSeconds = 5
    public var healthyThreshold = 5
    public var unhealthyThreshold = 2
    /// HTTP codes that count as healthy (HTTP/HTTPS only): `200`, `200,202`, `200-399`.
    public var matcher: String? = nil
    public var enabled = true

    public init() {}

    /// What is sent and expected, with the HTTP defaults filled in.
    public var effectivePath: String { path ?? "/" }
    public var effectiveMatcher: String { matcher ?? "200-399" }

    /// Checks every field against AWS's ranges; the error names the field.
    public func validate() throws(ELBError) {
        if port != "traffic-port" {
            guard let number = Int(port), (1...65535).contains(number) else {
                throw .validation("HealthCheckPort must be traffic-port or 1 to 65535")
            }
        }
        guard (5...300).contains(intervalSeconds) else { throw .validation("HealthCheckIntervalSeconds must be between 5 and 300") }
        guard (2...120).contains(timeoutSeconds) else { throw .validation("HealthCheckTimeoutSeconds must be between 2 and 120") }
        guard timeoutSeconds <= intervalSeconds else {
            throw .validation("HealthCheckTimeoutSeconds (\(timeoutSeconds)) must be no greater than HealthCheckIntervalSeconds (\(intervalSeconds))")
        }
        guard (2...10).contains(healthyThreshold) else { throw .validation("HealthyThresholdCount must be between 2 and 10") }
        guard (2...10).contains(unhealthyThreshold) else { throw .validation("UnhealthyThresholdCount must be between 2 and 10") }
        if healthProtocol == .tcp {
            guard matcher == nil else { throw .validation("Matcher cannot be used with health check protocol TCP") }
            guard path == nil else { throw .validation("HealthCheckPath cannot be used with health check protocol TCP") }
        }
        if let path {
            guard path.hasPrefix("/"), (1...1024).contains(path.count) else {
                throw .validation("HealthCheckPath must start with '/' and be at most 1024 characters")
            }
            // It goes into the probe's request line: no line breaks, controls or spaces.
            guard path.unicodeScalars.allSatisfy({ (0x21...0x7E).contains($0.value) }) else {
                throw .validation("HealthCheckPath must be printable ASCII without spaces or control characters (percent-encode others)")
            }
        }
        if let matcher, HealthCheck.codes(matcher) == nil {
            throw .validation("Matcher HttpCode '\(matcher)' must be codes from 200 to 599 like 200, 200,202 or 200-399")
        }
    }

    /// The HTTP codes a matcher accepts, or nil if it is malformed.
    public static func codes(_ matcher: String) -> Set<Int>? {
        var codes = Set<Int>()
        for part in matcher.split(separator: ",", omittingEmptySubsequences: false) {
            let bounds = part.split(separator: "-", omittingEmptySubsequences: false).map { Int($0) }
            guard let low = bounds.first ?? nil, let high = bounds.last ?? nil, bounds.count <= 2,
                  (200...599).contains(low), (200...599).contains(high), low <= high else { return nil }
            codes.formUnion(low...high)
        }
        return codes
    }
}
