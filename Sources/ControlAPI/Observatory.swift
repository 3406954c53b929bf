import ControlContract
import ControlPlane
import DataPlane
import Flows
import Foundation
import PacketIO
import Wire

/// What the API's observability endpoints read from a running gwlbd: the data plane's counters,
/// drops and flows, and the snapshot it runs with. The daemon fills it in; tests can too.
public struct Observatory: Sendable {
    public var statistics: @Sendable () -> DataPlaneStatistics
    public var recentDrops: @Sendable () -> [DropRecord]
    /// Target addresses by data-plane slot, as the data plane's current snapshot has them.
    public var slots: @Sendable () -> [UDPPeer?]
    public var flows: @Sendable (FlowQuery) -> [FlowRecord]
    /// Flow-table entries in all (workers × flows per worker).
    public var flowCapacity: Int
    /// Changes at every start of gwlbd: a client that sees a new one starts from a fresh snapshot.
    public var bootID: String
    public var startTime: Date
    /// How this gwlbd's flow state began: `created`, `resumed` (with the flows it took over) or
    /// `cold` (with why an earlier one's could not be taken over); nil without a shared state.
    public var flowState: (start: String, flowsTakenOver: Int, reason: String?)?
    /// The gwlbd this one took over from without a gap (`gwlbd --takeover`), if it did.
    public var upgradedFrom: (version: String, pid: Int32)?
    /// Drop and flow captures (`gwlb capture`); a data plane without them refuses.
    /// A capture's session number, or nil when another runs (or there is no data plane).
    public var startCapture: @Sendable (CaptureFilter) -> UInt64? = { _ in nil }
    public var stopCapture: @Sendable (UInt64) -> Void = { _ in }
    public var takeCaptured: @Sendable (UInt64) -> (packets: [CapturedPacket], lost: UInt64) = { _ in ([], 0) }
    /// Where appliances send GENEVE: a captured datagram's destination.
    public var geneveAddress = "0.0.0.0"
    /// The control plane's target slots (capacity, held by current targets, retired while their
    /// flows may still use them), when there is a control plane.
    public var targetSlots: @Sendable () -> (capacity: Int, current: Int, retired: Int)? = { nil }
    /// Interfaces of endpoints whose device was deleted and is not back yet.
    public var failedEndpoints: @Sendable () -> [String] = { [] }
    /// Where Linux's routing differs from the route tables, in words (README "Route tables").
    public var routingDrift: @Sendable () -> [String] = { [] }
    /// This gwlbd's name as a node of a cluster (its metrics' `node` label); nil for a single node.
    public var node: String?
    /// The cluster's nodes (GET /v1/cluster); nil for a single node.
    public var cluster: @Sendable () async throws -> ClusterAnswer? = { nil }
    /// The cluster as this node last read it (each second), for the stream; nil for a single node.
    public var clusterView: @Sendable () -> ClusterView? = { nil }
    /// Flow-log records lost to failed writes, when flow logs are on.
    public var flowLogRecordsLost: @Sendable () -> UInt64? = { nil }

    public init(statistics: @escaping @Sendable () -> DataPlaneStatistics, recentDrops: @escaping @Sendable () -> [DropRecord],
                slots: @escaping @Sendable () -> [UDPPeer?], flows: @escaping @Sendable (FlowQuery) -> [FlowRecord],
                flowCapacity: Int, bootID: String = UUID().uuidString.lowercased(), startTime: Date = Date()) {
        self.statistics = statistics
        self.recentDrops = recentDrops
        self.slots = slots
        self.flows = flows
        self.flowCapacity = flowCapacity
        self.bootID = bootID
        self.startTime = startTime
    }

    /// A running data plane's.
    public init(plane: DataPlane, flowCapacity: Int, slots: @escaping @Sendable () -> [UDPPeer?]) {
        self.init(statistics: { plane.statistics() }, recentDrops: { plane.recentDrops() }, slots: slots,
                  flows: { plane.flows($0) }, flowCapacity: flowCapacity)
        startCapture = { plane.startCapture($0) }
        stopCapture = { plane.stopCapture($0) }
        takeCaptured = { plane.takeCaptured($0) }
    }

    /// GET /v1/stats.
    func statisticsReport() -> StatsReport {
        var report = StatisticsReport.report(statistics(), drops: recentDrops(), targets: slots())
        report.flowCapacity = flowCapacity
        report.bootId = bootID
        report.uptimeSeconds = Int(Date().timeIntervalSince(startTime))
        report.failedEndpoints = failedEndpoints()
        report.routingDrift = routingDrift()
        report.flowLogRecordsLost = flowLogRecordsLost()
        report.targetSlots = targetSlots().map {
            StatsReport.TargetSlots(capacity: $0.capacity, current: $0.current, retired: $0.retired, free: $0.capacity - $0.current - $0.retired)
        }
        return report
    }

    /// GET /v1/flows?address=A&port=P&target=T&limit=N: which target each flow is pinned to.
    func flowsAnswer(_ parameters: [String: String]) throws -> FlowsAnswer {
        var query = FlowQuery()
        (query.address, query.port) = try Self.addressAndPort(parameters)
        let slots = self.slots()
        if let text = parameters["target"] {
            guard let slot = slots.firstIndex(where: { $0?.address.description == text }) else {
                throw ObservabilityError(description: "target '\(text)' is not an address the data plane knows")
            }
            query.target = TargetSlot(slot)
        }
        if let text = parameters["limit"] {
            guard let limit = Int(text), (1...100_000).contains(limit) else { throw ObservabilityError(description: "limit must be 1-100000") }
            query.limit = limit
        }
        let records = flows(query)
        return FlowsAnswer(flows: records.prefix(query.limit).map { Self.row($0, slots: slots) }, truncated: records.count >= query.limit)
    }

    static func row(_ record: FlowRecord, slots: [UDPPeer?]) -> FlowRow {
        let key = record.key
        let slot = record.target.index
        return FlowRow(addressA: key.lowAddress.unmappedDescription, portA: Int(key.lowPort), addressB: key.highAddress.unmappedDescription,
                       portB: Int(key.highPort), protocol: key.protocol.description, endpoint: Int(key.endpoint),
                       cookie: String(format: "0x%08x", record.cookie), ageSeconds: Int(record.ageSeconds), idleSeconds: Int(record.idleSeconds),
                       confirmed: record.confirmed, state: record.state.rawValue, worker: record.worker, targetSlot: slot,
                       target: slot < slots.count ? slots[slot]?.address.description : nil, packets: Int(record.packets), bytes: Int(record.bytes))
    }
}

extension Observatory {
    /// The `address` (IPv4 or IPv6, as flow keys hold it) and `port` a flow listing or capture asks for.
    static func addressAndPort(_ parameters: [String: String]) throws -> (IPv6Address?, UInt16?) {
        var address: IPv6Address?, port: UInt16?
        if let text = parameters["address"] {
            guard let parsed = IPv6Address(text) ?? IPv4Address(text).map(IPv6Address.init(mapping:)) else {
                throw ObservabilityError(description: "address '\(text)' is not an IPv4 or IPv6 address")
            }
            address = parsed
        }
        if let text = parameters["port"] {
            guard let parsed = UInt16(text) else { throw ObservabilityError(description: "port '\(text)' must be 0-65535") }
            port = parsed
        }
        return (address, port)
    }
}

/// A malformed observability request (HTTP 400 with this text).
struct ObservabilityError: Error, CustomStringConvertible {
    let description: String
}
