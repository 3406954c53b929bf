import Foundation

/// One line of GET /v1/capture (newline-delimited JSON): the start (what is captured, and gwlbd's
/// GENEVE address for rebuilding datagrams' headers), a line per packet, a heartbeat each quiet
/// second, and the end (how many were taken and how many the ring lost).
public enum CaptureLine: Codable, Sendable, Equatable {
    case start(drops: Bool, geneveAddress: String)
    case packet(CapturedPacketLine)
    case heartbeat
    case end(captured: Int, lost: Int)

    private struct Start: Codable { var drops: Bool }
    private enum Keys: String, CodingKey { case capture, geneveAddress, heartbeat, end, captured, lost }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Keys.self)
        if let start = try container.decodeIfPresent(Start.self, forKey: .capture) {
            self = .start(drops: start.drops, geneveAddress: try container.decode(String.self, forKey: .geneveAddress))
        } else if try container.decodeIfPresent(Bool.self, forKey: .heartbeat) == true {
            self = .heartbeat
        } else if try container.decodeIfPresent(Bool.self, forKey: .end) == true {
            self = .end(captured: try container.decode(Int.self, forKey: .captured), lost: try container.decode(Int.self, forKey: .lost))
        } else {
            self = .packet(try CapturedPacketLine(from: decoder))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Keys.self)
        switch self {
        case .start(let drops, let geneveAddress):
            try container.encode(Start(drops: drops), forKey: .capture)
            try container.encode(geneveAddress, forKey: .geneveAddress)
        case .packet(let packet): try packet.encode(to: encoder)
        case .heartbeat: try container.encode(true, forKey: .heartbeat)
        case .end(let captured, let lost):
            try container.encode(true, forKey: .end)
            try container.encode(captured, forKey: .captured)
            try container.encode(lost, forKey: .lost)
        }
    }
}

/// One captured packet and why it was taken.
public struct CapturedPacketLine: Codable, Sendable, Equatable {
    public enum Event: String, Codable, Sendable {
        case drop
        case toTarget = "to_target"
        case fromTarget = "from_target"
    }

    /// Nanoseconds since 1970.
    public var time: Int64
    /// The packet's length on the wire (`data` may hold less).
    public var length: Int
    /// `data` is a GENEVE datagram's UDP payload (the return path), not an IP packet.
    public var geneve: Bool
    /// The bytes, base64.
    public var data: String
    public var event: Event
    /// The drop reason's name (`oversize`, …), for drops.
    public var reason: String?
    /// What the parser found wrong, for malformed packets.
    public var detail: String?
    /// The target it went to or came from.
    public var target: String?
    public var endpoint: Int?
    /// The appliance a returned datagram came from.
    public var appliance: String?

    public init(time: Int64, length: Int, geneve: Bool, bytes: [UInt8], event: Event, reason: String? = nil, detail: String? = nil,
                target: String? = nil, endpoint: Int? = nil, appliance: String? = nil) {
        self.time = time
        self.length = length
        self.geneve = geneve
        self.data = Data(bytes).base64EncodedString()
        self.event = event
        self.reason = reason
        self.detail = detail
        self.target = target
        self.endpoint = endpoint
        self.appliance = appliance
    }

    /// The packet's bytes (nil when `data` is not base64).
    public var bytes: [UInt8]? { Data(base64Encoded: data).map { [UInt8]($0) } }

    /// What the packet's pcapng comment says: `drop: oversize`, `drop: bad_geneve (truncated)`,
    /// `to target 198.18.1.11`.
    public var comment: String {
        switch event {
        case .drop:
            let detail = detail.map { " (\($0))" } ?? ""
            let from = appliance.map { ", from appliance \($0)" } ?? ""
            return "drop: \(reason ?? "?")\(detail)\(from)"
        case .toTarget: return "to target \(target ?? "?")"
        case .fromTarget: return "from target \(target ?? "?")"
        }
    }
}
