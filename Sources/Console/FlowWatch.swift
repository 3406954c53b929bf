import ControlClient
import ControlContract
import Foundation
import Synchronization

/// Live flows for the console's drill-down (a target's, or an address's): `/v1/flows` for them
/// every 2 seconds in a task of its own while watched, each flow's byte rate from one poll to
/// the next.
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
    /// The poll of the subject watched now; a new subject cancels it.
    private let polling = Mutex<Task<Void, Never>?>(nil)
    private let latest = Mutex<[Row]>([])

    public init(socketPath: String) { self.socketPath = socketPath }

    /// The rows of the last poll (empty while nothing is watched).
    public var rows: [Row] { latest.withLock { $0 } }

    /// Watches `subject`'s flows from now on; nil stops.
    public func watch(_ subject: FlowSubject?) {
        polling.withLock { polling in
            polling?.cancel()
            latest.withLock { $0 = [] }
            polling = subject.map { subject in Task { [self] in await poll(subject.query.name, subject.query.value) } }
        }
    }

    private func poll(_ parameter: String, _ value: String) async {
        let value = value.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: ".:"))) ?? value
        let client = UnixHTTPClient(socketPath: socketPath, timeoutSeconds: 5)
        var previous: [String: (bytes: Int, time: Double)] = [:]
        while !Task.isCancelled {
            let now = ProcessInfo.processInfo.systemUptime
            if let response = try? await client.request("GET", "/v1/flows?\(parameter)=\(value)&limit=\(Self.limit)"),
               response.status == 200, let answer = try? ContractCoding.decode(FlowsAnswer.self, from: response.body) {
                let rows = Self.rows(from: answer, previous: &previous, at: now)
                // Under the lock `watch` changes the subject with: rows of a subject no longer watched are not shown.
                polling.withLock { _ in if !Task.isCancelled { latest.withLock { $0 = rows } } }
            }
            try? await Task.sleep(for: .seconds(2))
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
