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

/// Flow-log records from one worker to the writer thread (an `SPSCRing`). When the writer falls
/// behind the ring fills, and the worker counts what it could not hand over instead of waiting:
/// the writer marks those intervals SKIPDATA.
public final class FlowLogRing: Sendable {
    private let ring: SPSCRing<FlowLogRecord>
    /// Records lost to a full ring, by the interval they belonged to (the latest one).
    public let skipped = Atomic<UInt64>(0)
    public let skippedInterval = Atomic<UInt32>(0)

    public var capacity: Int { ring.capacity }

    public init(capacity: Int) {
        ring = SPSCRing(capacity: capacity, filler: FlowLogRecord(interval: 0, source: .zero, destination: .zero, sourcePort: 0,
                                                                 destinationPort: 0, protocol: IPProtocol(rawValue: 0), endpoint: 0,
                                                                 accepted: false, packets: 0, bytes: 0, start: 0, end: 0))
    }

    /// Producer (the worker). False, and counted, when full.
    @discardableResult
    public func push(_ record: FlowLogRecord) -> Bool {
        guard ring.push(record) else {
            skippedInterval.store(record.interval, ordering: .relaxed)
            skipped.add(1, ordering: .releasing)
            return false
        }
        return true
    }

    /// Consumer (the writer): each waiting record, oldest first.
    public func drain(_ body: (FlowLogRecord) -> Void) {
        ring.drain { record, _ in body(record) }
    }
}
