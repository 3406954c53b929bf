import DataPlane
import Resources

/// An endpoint as the daemon attaches it: its slot (the data plane's number for it), the TUN
/// device and the ids that go into GENEVE.
public struct EndpointAttachment: Hashable, Sendable {
    public let slot: Int
    public let interface: String
    public let identity: EndpointIdentity

    public init(slot: Int, interface: String, identity: EndpointIdentity) {
        self.slot = slot
        self.interface = interface
        self.identity = identity
    }
}

/// Stable data-plane slots for endpoints: an endpoint keeps its slot while it exists (flow keys
/// carry it), and a freed slot is reused only when no never-used one is left, so flows of a
/// deleted endpoint cannot land on a new one.
struct EndpointSlotTable: Sendable, Equatable {
    private(set) var ids: [String?] = []

    /// Slots for `endpoints`, in their order; assigns new ones, frees those of endpoints gone.
    mutating func update(_ endpoints: [Endpoint]) -> [EndpointAttachment] {
        let present = Set(endpoints.map(\.id))
        for slot in ids.indices where ids[slot].map({ !present.contains($0) }) ?? false { ids[slot] = nil }
        return endpoints.map { endpoint in
            let slot = ids.firstIndex(of: endpoint.id) ?? assign(endpoint.id)
            return EndpointAttachment(slot: slot, interface: endpoint.interface,
                                      identity: EndpointIdentity(endpointID: endpoint.endpointNumber, attachmentID: endpoint.attachmentNumber))
        }
    }

    private mutating func assign(_ id: String) -> Int {
        // The catalog allows at most Limits.endpoints endpoints, so a free slot exists.
        let slot = ids.count < Limits.endpoints ? ids.count : ids.indices.first { ids[$0] == nil }!
        if slot == ids.count { ids.append(nil) }
        ids[slot] = id
        return slot
    }

    /// The snapshot's endpoint list: identities by slot, nil for free slots.
    static func identities(_ attachments: [EndpointAttachment]) -> [EndpointIdentity?] {
        var identities = [EndpointIdentity?](repeating: nil, count: (attachments.map(\.slot).max() ?? -1) + 1)
        for attachment in attachments { identities[attachment.slot] = attachment.identity }
        return identities
    }
}
