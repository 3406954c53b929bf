import ControlClient
import ControlContract
import Foundation
import Synchronization

/// Live flows for the console's drill-down (a target's, or an address's): `/v1/flows` for them
/// every 2 seconds on a thread of its own while watched, each flow's byte rate from one poll
/// to the next.
public final class FlowWatch: Sendable {
    public struct Row: Sendable, Equatable {
        public var proto: String, addressA: String, portA: Int, addressB: String, portB: Int, state: String
        public var ageSeconds: Int, packets: Int, bytes: Int
        /// Bytes per second since the previous poll (nil on a flow's first).
        public var bytesPerSecond: Double?

        public init(proto: String, addressA: String, portA: Int, addressB: String, portB: Int, state: String, ageSeconds: Int, packets: Int,
                    bytes: Int, bytesPerSecond: Double? = nil) {
            (self.proto, self.addressA, self.portA, self.addressB, self.portB, self.state) = (proto, addressA, portA, addressB, portB, state)
            (self.ageSeconds, self.packets, self.bytes, self.bytesPerSecond) = (ageSeconds, packets, bytes, bytesPerSecond)
        }

        var key: String { "\(proto) \(addressA) \(portA) \(addressB) \(portB)" }
    }

    /// Flows one poll reads at most per worker.
    public static let limit = 500
    let socketPath: String
    private let watched = Mutex<(subject: FlowSubject?, generation: Int)>((nil, 0))
    private let latest = Mutex<[Row]>([])

    public init(socketPath: String) { self.socketPath = socketPath }

    /// The rows of the last poll (empty while nothing is watched).
    public var rows: [Row] { latest.withLock { $0 } }

    /// Watches `subject`'s flows from now on; nil stops.
    public func watch(_ subject: FlowSubject?) {
        let generation = watched.withLock { watched in
            watched = (subject, watched.generation + 1)
            return watched.generation
        }
        latest.withLock { $0 = [] }
        guard let (parameter, value) = subject?.query else { return }
        Thread.detachNewThread { [self] in
            var previous: [String: (bytes: Int, time: Double)] = [:]
            while watched.withLock({ $0.generation }) == generation {
                let now = ProcessInfo.processInfo.systemUptime
                let value = value.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: ".:"))) ?? value
                if let response = try? UnixHTTPClient(socketPath: socketPath, timeoutSeconds: 5).request("GET", "/v1/flows?\(parameter)=\(value)&limit=\(Self.limit)"),
                   response.status == 200, let answer = try? ContractCoding.decode(FlowsAnswer.self, from: response.body) {
                    let rows = Self.rows(from: answer, previous: &previous, at: now)
                    if watched.withLock({ $0.generation }) == generation { latest.withLock { $0 = rows } }
                }
                for _ in 0..<20 where watched.withLock({ $0.generation }) == generation { usleep(100_000) }
            }
        }
    }

    /// `/v1/flows`'s answer as rows, with rates against `previous` (which becomes this poll's).
    static func rows(from answer: FlowsAnswer, previous: inout [String: (bytes: Int, time: Double)], at time: Double) -> [Row] {
        var seen: [String: (bytes: Int, time: Double)] = [:]
        let rows = answer.flows.map { flow in
            var row = Row(proto: flow.protocol, addressA: flow.addressA, portA: flow.portA, addressB: flow.addressB, portB: flow.portB,
                          state: flow.state, ageSeconds: flow.ageSeconds, packets: flow.packets, bytes: flow.bytes)
            if let before = previous[row.key], time > before.time, row.bytes >= before.bytes {
                row.bytesPerSecond = Double(row.bytes - before.bytes) / (time - before.time)
            }
            seen[row.key] = (row.bytes, time)
            return row
        }
        previous = seen
        return rows
    }
}
