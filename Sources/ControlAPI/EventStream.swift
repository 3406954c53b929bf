import Catalog
import ControlContract
import ControlPlane
import DataPlane
import Foundation
import Health

/// GET /v1/stream: newline-delimited JSON for the console and scripts. A `hello` (protocol version,
/// gwlbd's version, boot id, capabilities, the client's role), a `snapshot` of everything, then
/// every second a `delta` with what changed (counters, not rates: clients compute rates and notice
/// resets) and a `heartbeat`. Every message has a `seq`, one more than the previous.
public struct EventStream {
    public static let protocolVersion = 1
    public static let capabilities = ["counters", "targets", "health", "drops", "flows", "actions"]

    /// Everything a snapshot holds; a delta holds the parts that changed.
    struct View: Equatable {
        /// The first served load balancer (the one of protocol 1's first clients).
        var loadBalancer: [String: String]?
        /// Every served load balancer, in the order of their first endpoint.
        var loadBalancers: [[String: String]]
        var flows: [String: Int]
        var traffic: [String: Int]
        var drops: [String: Int]
        /// By `TargetRow.key`.
        var targets: [String: TargetRow]
        /// Interfaces of endpoints whose device is gone.
        var failedEndpoints: [String]
        /// Rules and routes changed behind gwlbd's back.
        var routingDrift: [String]
    }

    /// One target: registration, health and counters.
    struct TargetRow: Equatable {
        /// The load balancer's name: a target is a row per load balancer it serves.
        var loadBalancer: String
        var id: String, address: String, port: Int, state: String, reason: String?, slot: Int?, deregisteredTime: Date?
        var counters: TargetCounters
        /// The last health check's duration, in whole milliseconds.
        var checkMilliseconds: Int?
        /// The last data-path probe's round trip, in whole milliseconds.
        var dataPathMilliseconds: Int?

        /// Unique in the stream: `LOADBALANCER/ID`.
        var key: String { loadBalancer + "/" + id }

        var json: [String: Any] {
            var row: [String: Any] = [
                "key": key, "loadBalancer": loadBalancer, "id": id, "address": address, "port": port, "zone": "local", "state": state,
                "activeFlows": Int(counters.activeFlows), "newFlows": Int(counters.newFlows),
                "packetsToTarget": Int(counters.packetsToTarget), "bytesToTarget": Int(counters.bytesToTarget),
                "packetsFromTarget": Int(counters.packetsFromTarget), "bytesFromTarget": Int(counters.bytesFromTarget),
            ]
            if let reason { row["reason"] = reason }
            if let slot { row["slot"] = slot }
            if let checkMilliseconds { row["checkMs"] = checkMilliseconds }
            if let dataPathMilliseconds { row["dataPathMs"] = dataPathMilliseconds }
            if let deregisteredTime { row["deregisteredTime"] = ResourceXML.timestamp(deregisteredTime) }
            return row
        }
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
    mutating func opening(role: String) -> [[String: Any]] {
        var hello: [String: Any] = [
            "type": "hello", "seq": next(), "protocol": Self.protocolVersion, "version": GWLBVersion.current,
            "bootId": observatory.bootID, "capabilities": Self.capabilities, "role": role,
            "startTime": ResourceXML.timestamp(observatory.startTime),
        ]
        if let state = observatory.flowState {
            hello["flowState"] = state.start
            hello["flowsTakenOver"] = state.flowsTakenOver
            if let reason = state.reason { hello["flowStateReason"] = reason }
        }
        if let predecessor = observatory.upgradedFrom {
            hello["upgradedFrom"] = ["version": predecessor.version, "pid": Int(predecessor.pid)] as [String: Any]
        }
        let view = currentView()
        var snapshot = changes(view, previous: nil)
        snapshot["type"] = "snapshot"
        snapshot["seq"] = next()
        snapshot["time"] = ResourceXML.timestamp(Date())
        snapshot["recentDrops"] = newDrops()
        snapshot["healthEvents"] = newHealthEvents()
        last = view
        return [hello, snapshot]
    }

    /// Once a second: a `delta` when something changed, and a `heartbeat`.
    mutating func tick() -> [[String: Any]] {
        let view = currentView()
        var messages: [[String: Any]] = []
        var delta = changes(view, previous: last)
        let drops = newDrops(), events = newHealthEvents()
        if !drops.isEmpty { delta["recentDrops"] = drops }
        if !events.isEmpty { delta["healthEvents"] = events }
        if !delta.isEmpty {
            delta["type"] = "delta"
            delta["seq"] = next()
            delta["time"] = ResourceXML.timestamp(Date())
            messages.append(delta)
        }
        last = view
        messages.append(["type": "heartbeat", "seq": next(), "time": ResourceXML.timestamp(Date())])
        return messages
    }

    private mutating func next() -> Int {
        sequence += 1
        return sequence
    }

    /// The sections of `view` that differ from `previous` (all of them without one).
    private func changes(_ view: View, previous: View?) -> [String: Any] {
        var message: [String: Any] = [:]
        if previous == nil || view.loadBalancer != previous?.loadBalancer { message["loadBalancer"] = view.loadBalancer ?? NSNull() }
        if previous == nil || view.loadBalancers != previous?.loadBalancers { message["loadBalancers"] = view.loadBalancers }
        if view.flows != previous?.flows { message["flows"] = view.flows }
        if view.traffic != previous?.traffic { message["traffic"] = view.traffic }
        if view.drops != previous?.drops { message["drops"] = view.drops }
        if previous == nil || view.failedEndpoints != previous?.failedEndpoints { message["failedEndpoints"] = view.failedEndpoints }
        if previous == nil || view.routingDrift != previous?.routingDrift { message["routingDrift"] = view.routingDrift }
        let changed = view.targets.filter { previous?.targets[$0.key] != $0.value }
        if previous == nil || !changed.isEmpty {
            message["targets"] = changed.keys.sorted().map { id in changed[id]!.json }
        }
        let removed = previous.map { Set($0.targets.keys).subtracting(view.targets.keys).sorted() } ?? []
        if !removed.isEmpty { message["removedTargets"] = removed }
        return message
    }

    private func currentView() -> View {
        let statistics = observatory.statistics()
        let served = service.servedBalancers
        var targets: [String: TargetRow] = [:]
        let latencies = service.checkLatencies, dataPathLatencies = service.dataPathLatencies
        for (balancer, group) in served {
            guard let group, let views = try? service.targets(of: group) else { continue }
            for view in views {
                let slot = service.slot(of: view, in: group)
                let counters = slot.flatMap { $0 < statistics.targets.count ? statistics.targets[$0] : nil } ?? TargetCounters()
                let key = ControlPlaneService.healthKey(group: group, target: view.registration.id)
                let row = TargetRow(loadBalancer: balancer.name, id: view.registration.id, address: view.address,
                                    port: view.registration.port, state: view.health.state.rawValue, reason: view.health.reason,
                                    slot: slot, deregisteredTime: view.registration.deregisteredTime, counters: counters,
                                    checkMilliseconds: latencies[key].map { Int(($0 * 1000).rounded()) },
                                    dataPathMilliseconds: dataPathLatencies[key].map { Int(($0 * 1000).rounded()) })
                targets[row.key] = row
            }
        }
        let balancer = served.first?.balancer
        var drops: [String: Int] = [:]
        for reason in DropReason.allCases { drops[reason.name] = Int(statistics.drops(reason)) }
        return View(
            loadBalancer: balancer.map { ["name": $0.name, "arn": $0.arn.description] },
            loadBalancers: served.map { ["name": $0.balancer.name, "arn": $0.balancer.arn.description] },
            flows: ["active": Int(statistics.activeFlows), "tcp": Int(statistics.activeTCPFlows), "udp": Int(statistics.activeUDPFlows),
                    "capacity": observatory.flowCapacity, "new": Int(statistics.newFlows),
                    "expired": Int(statistics.expiredFlows), "rejected": Int(statistics.rejectedFlows)],
            traffic: ["endpointPackets": Int(statistics.endpointPackets), "endpointBytes": Int(statistics.endpointBytes),
                      "genevePackets": Int(statistics.genevePackets), "geneveBytes": Int(statistics.geneveBytes),
                      "resetsSent": Int(statistics.resetsSent), "handedOff": Int(statistics.handedOff),
                      "droppedPackets": Int(statistics.totalDrops), "snapshotVersion": Int(statistics.snapshotVersion)],
            drops: drops, targets: targets, failedEndpoints: observatory.failedEndpoints(), routingDrift: observatory.routingDrift())
    }

    /// Drops recorded since the last message, oldest first.
    private mutating func newDrops() -> [[String: Any]] {
        let drops = observatory.recentDrops().filter { $0.time > lastDropTime }
        if let newest = drops.last { lastDropTime = newest.time }
        return drops.map { ContractCoding.object(StatisticsReport.row($0)) }
    }

    private mutating func newHealthEvents() -> [[String: Any]] {
        let events = service.healthEvents.filter { $0.time > lastHealthEvent }
        if let newest = events.last { lastHealthEvent = newest.time }
        var balancerNames: [String: String] = [:]
        for (balancer, group) in service.servedBalancers { if let group { balancerNames[group.description] = balancer.name } }
        return events.map { event in
            var row: [String: Any] = ["time": ResourceXML.timestamp(event.time), "target": event.target, "state": event.to.state.rawValue]
            if let balancer = balancerNames[event.targetGroup] { row["loadBalancer"] = balancer }
            if let reason = event.to.reason { row["reason"] = reason }
            if let from = event.from { row["from"] = from.state.rawValue }
            return row
        }
    }
}

/// gwlb's version, as hello messages and `--version` report it.
public enum GWLBVersion {
    public static let current = "0.4.0"
}
