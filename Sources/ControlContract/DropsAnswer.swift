/// GET /v1/drops: the data plane's drops by reason since gwlbd started, and the most recent ones.
public struct DropsAnswer: Codable, Sendable, Equatable {
    /// Every reason, zero or not.
    public var counts: [String: UInt64]
    /// Newest first.
    public var recent: [DropRow]

    public init(counts: [String: UInt64], recent: [DropRow]) {
        self.counts = counts
        self.recent = recent
    }
}

/// One dropped packet as the data plane recorded it (also in `/v1/stats`, the stream and the
/// statistics file, as `recentDrops`).
public struct DropRow: Codable, Sendable, Equatable {
    /// ISO 8601, UTC.
    public var time: String
    /// The reason's name (`oversize`, `unknown_flow`, …).
    public var reason: String
    /// What the parser found wrong, for malformed packets.
    public var detail: String?
    public var size: Int
    public var source: String
    public var destination: String
    public var sourcePort: Int
    public var destinationPort: Int
    public var `protocol`: String
    /// The endpoint slot it came from (forward path) …
    public var endpoint: Int?
    /// … or the appliance it came from (return path).
    public var appliance: String?

    public init(time: String, reason: String, detail: String? = nil, size: Int, source: String, destination: String, sourcePort: Int = 0,
                destinationPort: Int = 0, protocol: String, endpoint: Int? = nil, appliance: String? = nil) {
        self.time = time
        self.reason = reason
        self.detail = detail
        self.size = size
        self.source = source
        self.destination = destination
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.protocol = `protocol`
        self.endpoint = endpoint
        self.appliance = appliance
    }
}
