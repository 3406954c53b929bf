import DataPlane
import Foundation
import Health
import PacketIO
import Wire

/// What the control plane keeps in the shared flow state's control record, so that a gwlbd
/// started after another (an upgrade, a crash) gives every target and endpoint the slot its flows
/// name, and resumes its targets' health instead of starting them all from `initial`.
struct ResumableState: Codable, Equatable {
    struct Owner: Codable, Equatable {
        var group: String
        var address: String
        var port: UInt16
    }

    struct Health: Codable, Equatable {
        var state: String
        var reason: String?
        var details: String?
    }

    var targetSlots: [Owner?]
    var targetReleaseTimes: [Int: UInt64]
    var endpointSlots: [String?]
    var endpointReleaseTimes: [Int: UInt64]
    /// By `ControlPlaneService.healthKey`.
    var health: [String: Health]

    init(targets: TargetSlotTable, endpoints: EndpointSlotTable, health: [String: TargetHealthState]) {
        targetSlots = targets.owners.map { owner in
            owner.map { Owner(group: $0.group, address: $0.peer.address.description, port: $0.peer.port) }
        }
        targetReleaseTimes = targets.releaseTimes
        endpointSlots = endpoints.ids
        endpointReleaseTimes = endpoints.releasedAt
        self.health = health.mapValues { Health(state: $0.state.rawValue, reason: $0.reason, details: $0.details) }
    }

    func targetSlotTable(capacity: Int) -> TargetSlotTable {
        let owners = targetSlots.map { owner in
            owner.flatMap { owner in IPv4Address(owner.address).map { SlotOwner(group: owner.group, peer: UDPPeer(address: $0, port: owner.port)) } }
        }
        return TargetSlotTable(capacity: capacity, owners: owners, releaseTimes: targetReleaseTimes)
    }

    var endpointSlotTable: EndpointSlotTable { EndpointSlotTable(ids: endpointSlots, releasedAt: endpointReleaseTimes) }

    var targetHealth: [String: TargetHealthState] {
        health.compactMapValues { health in
            TargetHealthState.State(rawValue: health.state).map { TargetHealthState($0, reason: health.reason, details: health.details) }
        }
    }

    /// From a control record; nil when there is none or it is not one of these.
    init?(record: [UInt8]?) {
        guard let record, let state = try? JSONDecoder().decode(Self.self, from: Data(record)) else { return nil }
        self = state
    }

    var record: [UInt8] { (try? Array(JSONEncoder().encode(self))) ?? [] }
}
