import Flows
import Synchronization
import Wire

/// One flow-log record as a worker hands it to the writer: one direction of one flow over part of
/// an aggregation interval, or one dropped packet (REJECT). The writer sums records with the same
/// interval, endpoint, addresses, ports, protocol and action.
public struct FlowLogRecord: Sendable, Hashable {
    /// Wall-clock second the aggregation interval began.
    public var interval: UInt32
    public var source: IPv6Address
    public var destination: IPv6Address
    public var sourcePort: UInt16
    public var destinationPort: UInt16
    public var `protocol`: IPProtocol
    public var endpoint: UInt8
    public var accepted: Bool
    public var packets: UInt64
    public var bytes: UInt64
    /// Wall-clock seconds of the first and last packet.
    public var start: UInt32
    public var end: UInt32

    public init(interval: UInt32, source: IPv6Address, destination: IPv6Address, sourcePort: UInt16, destinationPort: UInt16,
                protocol proto: IPProtocol, endpoint: UInt8, accepted: Bool, packets: UInt64, bytes: UInt64, start: UInt32, end: UInt32) {
        self.interval = interval
        self.source = source
        self.destination = destination
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.protocol = proto
        self.endpoint = endpoint
        self.accepted = accepted
        self.packets = packets
        self.bytes = bytes
        self.start = start
        self.end = end
    }
}

/// Flow-log records from one worker to the writer thread (single producer, single consumer, no
/// locks, fixed size). When the writer falls behind the ring fills, and the worker counts what it
/// could not hand over instead of waiting: the writer marks those intervals SKIPDATA.
public final class FlowLogRing: @unchecked Sendable {
    // @unchecked: as HandoffRing, slots are ordered by the acquire/release pairs on head and tail.
    public let capacity: Int
    private let records: UnsafeMutablePointer<FlowLogRecord>
    private let head = Atomic<Int>(0)
    private let tail = Atomic<Int>(0)
    /// Records lost to a full ring, by the interval they belonged to (the latest one).
    public let skipped = Atomic<UInt64>(0)
    public let skippedInterval = Atomic<UInt32>(0)

    public init(capacity: Int) {
        self.capacity = capacity
        records = .allocate(capacity: capacity)
    }

    deinit { records.deallocate() }

    /// Producer (the worker). False, and counted, when full.
    @discardableResult
    public func push(_ record: FlowLogRecord) -> Bool {
        let tail = self.tail.load(ordering: .relaxed)
        guard tail - head.load(ordering: .acquiring) < capacity else {
            skippedInterval.store(record.interval, ordering: .relaxed)
            skipped.add(1, ordering: .releasing)
            return false
        }
        (records + tail % capacity).initialize(to: record)
        self.tail.store(tail + 1, ordering: .releasing)
        return true
    }

    /// Consumer (the writer): each waiting record, oldest first.
    public func drain(_ body: (FlowLogRecord) -> Void) {
        let head = self.head.load(ordering: .relaxed)
        let available = tail.load(ordering: .acquiring) - head
        for offset in 0..<available { body(records[(head + offset) % capacity]) }
        self.head.store(head + available, ordering: .releasing)
    }
}
