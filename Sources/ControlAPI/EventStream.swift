import Catalog
import ControlContract
import ControlPlane
import DataPlane
import Foundation
import Health

/// GET /v1/stream (`StreamMessage`'s lines): a hello, a snapshot, then each second a delta with what
/// changed and a heartbeat.
public struct EventStream {
    public static let protocolVersion = 1
    public static let capabilities = ["counters", "targets", "health", "drops", "flows", "actions"]

    /// Everything a snapshot holds; a delta holds the parts that changed.
    struct View: Equatable {
        /// Every served load balancer, in the order of their first endpoint.
        var loadBalancers: [StreamMessage.BalancerName]
        var flows: StreamFlows
        var traffic: StreamTraffic
        var drops: [String: Int]
        /// By `StreamTarget.key`.
        var targets: [String: StreamTarget]
        /// Interfaces of endpoints whose device is gone.
        var failedEndpoints: [String]
        /// Rules and routes changed behind gwlbd's back.
        var routingDrift: [String]
        /// The cluster's nodes (nil on a single gwlbd).
        var nodes: [ClusterNodeRow]?
    }

    let service: ControlPlaneService
    let observatory: Observatory
    private var sequence = 0
    private var last: View?
    private var lastDropTime: Int64 = 0
    private var lastHealthEvent: Date = .distantPast

    init(service: ControlPlaneService, observatory: Observatory) {
        self.service = service
        self.observatory = observatory
    }

    /// The opening `hello` and `snapshot`.
    mutating func opening(role: String) -> [StreamMessage] {
        let state = observatory.flowState
        let hello = StreamMessage(
            type: .hello, seq: next(), protocol: Self.protocolVersion, version: GWLBVersion.current, bootId: observatory.bootID,
            capabilities: Self.capabilities, role: role, startTime: ResourceXML.timestamp(observatory.startTime), flowState: state?.start,
            flowsTakenOver: state?.flowsTakenOver, flowStateReason: state?.reason,
            upgradedFrom: observatory.upgradedFrom.map { .init(version: $0.version, pid: Int($0.pid)) })
        let view = currentView()
        var snapshot = changes(view, previous: nil)
        snapshot.type = .snapshot
        snapshot.seq = next()
        snapshot.recentDrops = newDrops()
        snapshot.healthEvents = newHealthEvents()
        last = view
        return [hello, snapshot]
    }

    /// Once a second: a `delta` when something changed, and a `heartbeat`.
    mutating func tick() -> [StreamMessage] {
        let view = currentView()
        var messages: [StreamMessage] = []
        var delta = changes(view, previous: last)
        let drops = newDrops(), events = newHealthEvents()
        if !drops.isEmpty { delta.recentDrops = drops }
        if !events.isEmpty { delta.healthEvents = events }
        if delta.hasSections {
            delta.seq = next()
            messages.append(delta)
        }
        last = view
        messages.append(StreamMessage(type: .heartbeat, seq: next(), time: ResourceXML.timestamp(Date())))
        return messages
    }

    private mutating func next() -> Int {
        sequence += 1
        return sequence
    }

    /// A delta with the sections of `view` that differ from `previous` (all of them without one).
    private func changes(_ view: View, previous: View?) -> StreamMessage {
        var message = StreamMessage(type: .delta, seq: 0, time: ResourceXML.timestamp(Date()))
        if previous == nil || view.loadBalancers.first != previous?.loadBalancers.first {
            message.loadBalancer = view.loadBalancers.first.map { .value($0) } ?? .null
        }
        if previous == nil || view.loadBalancers != previous?.loadBalancers { message.loadBalancers = view.loadBalancers }
        if view.flows != previous?.flows { message.flows = view.flows }
        if view.traffic != previous?.traffic { message.traffic = view.traffic }
        if view.drops != previous?.drops { message.drops = view.drops }
        if previous == nil || view.failedEndpoints != previous?.failedEndpoints { message.failedEndpoints = view.failedEndpoints }
        if previous == nil || view.routingDrift != previous?.routingDrift { message.routingDrift = view.routingDrift }
        if view.nodes != previous?.nodes { message.nodes = view.nodes }
        let changed = view.targets.filter { previous?.targets[$0.key] != $0.value }
        if previous == nil || !changed.isEmpty {
            message.targets = changed.keys.sorted().map { changed[$0]! }
        }
        let removed = previous.map { Set($0.targets.keys).subtracting(view.targets.keys).sorted() } ?? []
        if !removed.isEmpty { message.removedTargets = removed }
        return message
    }

    private func currentView() -> View {
        let statistics = observatory.statistics()
        let served = service.servedBalancers, cluster = observatory.clusterView()
        var targets: [String: StreamTarget] = [:]
        let latencies = service.checkLatencies, dataPathLatencies = service.dataPathLatencies
        for target in service.servedTargets(statistics) {
            let (view, counters) = (target.view, target.counters)
            let key = ControlPlaneService.healthKey(group: target.group, target: view.registration.id)
            let row = StreamTarget(
                loadBalancer: target.balancer.name, id: view.registration.id, address: view.address, port: view.registration.port,
                state: view.health.state.rawValue, reason: view.health.reason, slot: target.slot,
                deregisteredTime: view.registration.deregisteredTime.map(ResourceXML.timestamp),
                activeFlows: Int(counters.activeFlows), newFlows: Int(counters.newFlows),
                packetsToTarget: Int(counters.packetsToTarget), bytesToTarget: Int(counters.bytesToTarget),
                packetsFromTarget: Int(counters.packetsFromTarget), bytesFromTarget: Int(counters.bytesFromTarget),
                checkMs: latencies[key].map { Int(($0 * 1000).rounded()) }, dataPathMs: dataPathLatencies[key].map { Int(($0 * 1000).rounded()) },
                nodes: view.nodes.isEmpty ? nil : view.nodes.mapValues { [$0.state.rawValue, $0.reason].compactMap { $0 }.joined(separator: " ") },
                byNode: cluster?.targets[target.rowKey])
            targets[row.key ?? row.id] = row
        }
        var drops: [String: Int] = [:]
        for reason in DropReason.allCases { drops[reason.name] = Int(statistics.drops(reason)) }
        return View(
            loadBalancers: served.map { .init(name: $0.balancer.name, arn: $0.balancer.arn.description) },
            flows: StreamFlows(active: Int(statistics.activeFlows), tcp: Int(statistics.activeTCPFlows), udp: Int(statistics.activeUDPFlows),
                               capacity: observatory.flowCapacity, new: Int(statistics.newFlows), expired: Int(statistics.expiredFlows),
                               rejected: Int(statistics.rejectedFlows)),
            traffic: StreamTraffic(endpointPackets: Int(statistics.endpointPackets), endpointBytes: Int(statistics.endpointBytes),
                                   genevePackets: Int(statistics.genevePackets), geneveBytes: Int(statistics.geneveBytes),
                                   resetsSent: Int(statistics.resetsSent), handedOff: Int(statistics.handedOff),
                                   droppedPackets: Int(statistics.totalDrops), snapshotVersion: Int(statistics.snapshotVersion)),
            drops: drops, targets: targets, failedEndpoints: observatory.failedEndpoints(), routingDrift: observatory.routingDrift(),
            nodes: cluster?.nodes)
    }

    /// Drops recorded since the last message, oldest first.
    private mutating func newDrops() -> [DropRow] {
        let drops = observatory.recentDrops().filter { $0.time > lastDropTime }
        if let newest = drops.last { lastDropTime = newest.time }
        return drops.map(StatisticsReport.row)
    }

    private mutating func newHealthEvents() -> [StreamMessage.HealthEvent] {
        let events = service.healthEvents.filter { $0.time > lastHealthEvent }
        if let newest = events.last { lastHealthEvent = newest.time }
        var balancerNames: [String: String] = [:]
        for (balancer, group) in service.servedBalancers { if let group { balancerNames[group.description] = balancer.name } }
        return events.map { event in
            StreamMessage.HealthEvent(time: ResourceXML.timestamp(event.time), target: event.target, loadBalancer: balancerNames[event.targetGroup],
                                      state: event.to.state.rawValue, reason: event.to.reason, from: event.from?.state.rawValue)
        }
    }
}

/// gwlb's version, as hello messages and `--version` report it.
public enum GWLBVersion {
    public static let current = "0.4.0"
}
