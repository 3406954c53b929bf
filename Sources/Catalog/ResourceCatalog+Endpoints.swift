import Foundation

/// Endpoints (gwlb's extension, README "Endpoints (gwlb's extension)"): each belongs to one
/// gateway load balancer; one gwlbd serves every load balancer that has an endpoint.
extension ResourceCatalog {
    public mutating func createEndpoint(loadBalancer arn: ARN, interface: String, endpointId: String?, attachmentId: String?,
                                        newID: () -> String, now: Date) throws(ELBError) -> Endpoint {
        _ = try loadBalancer(arn)
        guard (1...15).contains(interface.utf8.count),
              interface.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }) else {
            throw .validation("Interface '\(interface)' must be 1-15 letters, digits, '-', '_' or '.' (a Linux interface name)")
        }
        let id = endpointId ?? "vpce-0" + newID()
        guard id.hasPrefix("vpce-"), Endpoint.number(id) != nil else {
            throw .validation("EndpointId '\(id)' must be vpce- and at most 17 hex digits (64 bits)")
        }
        let attachment = attachmentId ?? "0x" + newID()
        guard Endpoint.number(attachment) != nil else {
            throw .validation("AttachmentId '\(attachment)' must be hex (0x…), at most 64 bits")
        }
        if let clash = endpoints.first(where: { $0.interface == interface || $0.endpointNumber == Endpoint.number(id) }) {
            throw ELBError(.duplicateEndpoint, "Endpoint \(clash.id) already uses interface \(clash.interface) or that endpoint id; choose another")
        }
        guard endpoints.count < Limits.endpoints else {
            throw ELBError(.tooManyEndpoints, "The limit of \(Limits.endpoints) endpoints is reached; delete one first")
        }
        let endpoint = Endpoint(id: id, loadBalancerArn: arn, interface: interface, attachmentId: attachment, createdTime: now)
        endpoints.append(endpoint)
        return endpoint
    }

    public func endpoint(_ id: String) throws(ELBError) -> Endpoint {
        guard let endpoint = endpoints.first(where: { $0.id == id }) else {
            throw ELBError(.endpointNotFound, "Endpoint '\(id)' not found")
        }
        return endpoint
    }

    /// Deleting one that does not exist succeeds, as AWS's deletes do.
    public mutating func deleteEndpoint(_ id: String) {
        endpoints.removeAll { $0.id == id }
    }

    /// The endpoints that carry traffic (have a device): all but those waiting for acceptance.
    public var activeEndpoints: [Endpoint] { endpoints.filter(\.isActive) }

    /// The load balancers the data plane serves: those with an endpoint, in the order of their
    /// first endpoint's creation.
    public var servedLoadBalancers: [ARN] {
        var served: [ARN] = []
        for endpoint in activeEndpoints where !served.contains(endpoint.loadBalancerArn) { served.append(endpoint.loadBalancerArn) }
        return served
    }
}
