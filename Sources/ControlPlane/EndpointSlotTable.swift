import Catalog
import DataPlane

/// An endpoint as the daemon attaches it: its slot (the data plane's number for it), the TUN
/// device, the ids that go into GENEVE and the load balancer whose policy its traffic follows.
public struct EndpointAttachment: Hashable, Sendable {
    public let slot: Int
    public let interface: String
    public let identity: EndpointIdentity
    /// Nil for the first-form daemon's endpoints (its configuration file names no load balancer).
    public let loadBalancer: ARN?

    public init(slot: Int, interface: String, identity: EndpointIdentity, loadBalancer: ARN? = nil) {
        self.slot = slot
        self.interface = interface
        self.identity = identity
        self.loadBalancer = loadBalancer
    }
}

/// Stable data-plane slots for endpoints: an endpoint keeps its slot while it exists (flow keys
/// carry it). A deleted endpoint's slot is held for `reuseDelay`, as long as a flow of it may still
/// be in a worker's table: given sooner to a new endpoint (with the same ids, say), that flow's
/// returns would enter the new endpoint. Never-used slots go first.
struct EndpointSlotTable: Sendable, Equatable {
    /// 6000 s, the longest TCP idle timeout, plus a margin: a deleted endpoint's flows get no
    /// packet (its device is gone, its returns name no endpoint), so all have expired by then.
    static let reuseDelay: UInt64 = 6_600
    private(set) var ids: [String?] = []
    /// When each slot of a deleted endpoint was given up (monotonic seconds).
    private(set) var releasedAt: [Int: UInt64] = [:]

    init() {}

    /// A table as an earlier process left it.
    init(ids: [String?], releasedAt: [Int: UInt64]) {
        self.ids = Array(ids.prefix(Limits.endpoints))
        self.releasedAt = releasedAt.filter { $0.key < self.ids.count }
    }

    /// Slots for `endpoints`, in their order; assigns new ones, releases those of endpoints gone.
    /// Throws, changing nothing, when no slot is free.
    mutating func update(_ endpoints: [Endpoint], now: UInt64) throws(ELBError) -> [EndpointAttachment] {
        var next = self
        let present = Set(endpoints.map(\.id))
        for slot in next.ids.indices {
            if let id = next.ids[slot], !present.contains(id) {
                next.ids[slot] = nil
                next.releasedAt[slot] = now
            }
        }
        for (slot, time) in next.releasedAt where now >= time + Self.reuseDelay { next.releasedAt[slot] = nil }
        var attachments: [EndpointAttachment] = []
        for endpoint in endpoints {
            let slot: Int
            if let existing = next.ids.firstIndex(of: endpoint.id) { slot = existing } else { slot = try next.assign(endpoint.id) }
            attachments.append(EndpointAttachment(slot: slot, interface: endpoint.interface,
                                                  identity: EndpointIdentity(endpointID: endpoint.endpointNumber, attachmentID: endpoint.attachmentNumber),
                                                  loadBalancer: endpoint.loadBalancerArn))
        }
        self = next
        return attachments
    }

    private mutating func assign(_ id: String) throws(ELBError) -> Int {
        if ids.count < Limits.endpoints {
            ids.append(id)
            return ids.count - 1
        }
        guard let free = ids.indices.first(where: { ids[$0] == nil && releasedAt[$0] == nil }) else {
            throw ELBError(.tooManyEndpoints, "Every endpoint slot is in use or held for the flows of a deleted endpoint (for \(Self.reuseDelay / 60) minutes after its deletion); try again later")
        }
        ids[free] = id
        return free
    }
}
