import Flows
import Synchronization
import Wire

/// Which flows to list: all of them, or those with an end at `address`, an end on `port`, or
/// pinned to `target`. Answered by the workers between batches (`DataPlane.flows`).
public struct FlowQuery: Sendable, Hashable {
    /// IPv4 addresses IPv4-mapped, as in flow keys.
    public var address: IPv6Address?
    public var port: UInt16?
    public var target: TargetSlot?
    /// At most this many flows per worker.
    public var limit: Int

    public init(address: IPv6Address? = nil, port: UInt16? = nil, target: TargetSlot? = nil, limit: Int = 1000) {
        self.address = address
        self.port = port
        self.target = target
        self.limit = limit
    }

    func matches(_ entry: FlowEntry) -> Bool {
        let key = entry.key
        if let address, key.lowAddress != address && key.highAddress != address { return false }
        if let port, key.lowPort != port && key.highPort != port { return false }
        if let target, entry.target != target { return false }
        return true
    }
}

/// One flow as a listing shows it.
public struct FlowRecord: Sendable, Hashable {
    public var key: FlowKey
    public var target: TargetSlot
    /// The GENEVE flow cookie its packets carry.
    public var cookie: UInt32
    public var ageSeconds: UInt32
    public var idleSeconds: UInt32
    /// Traffic came back from its target.
    public var confirmed: Bool
    public var state: FlowState
    public var worker: Int
    /// Both directions since the flow began.
    public var packets: UInt64
    public var bytes: UInt64

    public init(key: FlowKey, target: TargetSlot, cookie: UInt32, ageSeconds: UInt32, idleSeconds: UInt32, confirmed: Bool,
                state: FlowState = .active, worker: Int, packets: UInt64 = 0, bytes: UInt64 = 0) {
        self.state = state
        self.packets = packets
        self.bytes = bytes
        self.key = key
        self.target = target
        self.cookie = cookie
        self.ageSeconds = ageSeconds
        self.idleSeconds = idleSeconds
        self.confirmed = confirmed
        self.worker = worker
    }
}

/// A query handed to one worker and its answer.
final class FlowQueryBox: Sendable {
    struct Exchange {
        /// Which query this is: an answer is kept only for the query it was computed for (a late
        /// answer to an earlier, abandoned query must not pass for the current one's).
        var id: UInt64 = 0
        var query: FlowQuery?
        var answer: [FlowRecord]?
    }

    let exchange = Mutex(Exchange())
    /// Read without the lock once per pass: is there a query to answer?
    let pending = Atomic<Bool>(false)

    func ask(_ query: FlowQuery, id: UInt64) {
        exchange.withLock { $0 = Exchange(id: id, query: query, answer: nil) }
        pending.store(true, ordering: .releasing)
    }

    /// The worker's side: the query to answer now, with its id.
    func take() -> (id: UInt64, query: FlowQuery)? {
        exchange.withLock { exchange in exchange.query.map { (exchange.id, $0) } }
    }

    /// The worker's side: stores `records` if query `id` is still the one asked.
    func answer(_ records: [FlowRecord], id: UInt64) {
        exchange.withLock { exchange in
            if exchange.id == id, exchange.query != nil { exchange.answer = records }
        }
    }

    /// The answer to query `id` once there is one (and the exchange is cleared).
    func takeAnswer(id: UInt64) -> [FlowRecord]? {
        exchange.withLock { exchange in
            guard exchange.id == id, let answer = exchange.answer else { return nil }
            exchange = Exchange(id: id)
            return answer
        }
    }
}
