import Catalog
import ControlInput
import ControlPlane
import Foundation

/// EC2's Query protocol on the wire: its response and error shapes, its lists of `item`s, and
/// its `Filter.N` and `TagSpecification.N` parameters (member names as in botocore's ec2 model).
enum EC2Shapes {
    static let namespace = "http://ec2.amazonaws.com/doc/2016-11-15/"

    /// `<ActionResponse xmlns=…><requestId>…</requestId>…</ActionResponse>`: no Result wrapper.
    static func success(action: String, result: [XMLNode], requestID: String) -> String {
        var output = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<\(action)Response xmlns=\"\(namespace)\">"
        XMLNode.value("requestId", requestID).write(into: &output)
        for node in result { node.write(into: &output) }
        output += "</\(action)Response>\n"
        return output
    }

    /// `<Response><Errors><Error><Code>…</Code><Message>…</Message></Error></Errors><RequestID>…</RequestID></Response>`
    static func error(code: String, message: String, requestID: String) -> String {
        var output = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response>"
        XMLNode.element("Errors", [.element("Error", [.value("Code", code), .value("Message", message)])]).write(into: &output)
        XMLNode.value("RequestID", requestID).write(into: &output)
        output += "</Response>\n"
        return output
    }

    static func items(_ name: String, _ members: [[XMLNode]]) -> XMLNode { .list(name, members, member: "item") }
    static func strings(_ name: String, _ values: [String]) -> XMLNode { .list(name, values.map { [.text($0)] }, member: "item") }
    static func tags(_ tags: [Tag]) -> XMLNode { items("tagSet", tags.map { [.value("key", $0.key), .value("value", $0.value)] }) }

    static func unsuccessful(_ failures: [(id: String, error: EC2Error)]) -> XMLNode {
        items("unsuccessful", failures.map { [.element("error", [.value("code", $0.error.code), .value("message", $0.error.message)]), .value("resourceId", $0.id)] })
    }

    static func serviceConfiguration(_ service: EndpointService) -> [XMLNode] {
        [
            items("serviceType", [[.value("serviceType", "GatewayLoadBalancer")]]),
            .value("serviceId", service.id),
            .value("serviceName", service.name),
            .value("serviceState", "Available"),
            strings("availabilityZoneSet", []),
            .value("acceptanceRequired", String(service.acceptanceRequired)),
            .value("managesVpcEndpoints", "false"),
            strings("gatewayLoadBalancerArnSet", service.loadBalancerArns),
            strings("supportedIpAddressTypeSet", ["ipv4"]),
            tags(service.tags),
        ]
    }

    /// An endpoint; one made with gwlb's CreateEndpoint has no service (`serviceName` is empty).
    /// `gwlbInterface` is gwlb's: the TUN device (the aws CLI leaves it out).
    static func vpcEndpoint(_ endpoint: Endpoint, serviceName: String?, owner: String, failure: String?) -> [XMLNode] {
        let state = endpoint.vpc?.pendingAcceptance == true ? "PendingAcceptance" : failure == nil ? "Available" : "Failed"
        var nodes: [XMLNode] = [
            .value("vpcEndpointId", endpoint.id),
            .value("vpcEndpointType", "GatewayLoadBalancer"),
        ]
        if let vpc = endpoint.vpc?.vpcId { nodes.append(.value("vpcId", vpc)) }
        nodes += [
            .value("serviceName", serviceName ?? ""),
            .value("state", state),
            strings("routeTableIdSet", []),
            strings("subnetIdSet", endpoint.vpc?.subnetIds ?? []),
            .value("ipAddressType", "ipv4"),
            .value("requesterManaged", "false"),
            strings("networkInterfaceIdSet", []),
            .value("creationTimestamp", ResourceXML.timestamp(endpoint.createdTime)),
            tags(endpoint.vpc?.tags ?? []),
            .value("ownerId", owner),
            .value("gwlbInterface", endpoint.interface),
        ]
        if let failure { nodes.append(.element("lastError", [.value("message", failure), .value("code", "DeviceLost")])) }
        return nodes
    }

    /// A route table; routes to an endpoint show its id as `gatewayId`, as AWS shows them.
    /// Drift (`gwlbDrift`, gwlb's) is told per route and, for a rule, in its association's state.
    static func routeTable(_ table: RouteTable, catalog: ResourceCatalog, unmapped: [String: String], drift: [RoutingDrift]) -> [XMLNode] {
        let ruleDrift = drift.filter { $0.destination == nil }.map(\.message)
        let associations: [[XMLNode]] = table.associations.map { association in
            var nodes: [XMLNode] = [.value("main", "false"), .value("routeTableAssociationId", association.id), .value("routeTableId", table.id)]
            if let subnet = association.subnetId { nodes.append(.value("subnetId", subnet)) }
            if let gateway = association.gatewayId { nodes.append(.value("gatewayId", gateway)) }
            let problem = unmapped[association.id] ?? (ruleDrift.isEmpty ? nil : ruleDrift.joined(separator: "; "))
            var state: [XMLNode] = [.value("state", problem == nil ? "associated" : "failed")]
            if let problem { state.append(.value("statusMessage", problem)) }
            nodes.append(.element("associationState", state))
            return nodes
        }
        let routes: [[XMLNode]] = table.routes.map { route in
            let active = route.endpointId.map { id in catalog.endpoints.contains { $0.id == id && $0.isActive } } ?? true
            var nodes: [XMLNode] = [
                .value(route.isIPv6 ? "destinationIpv6CidrBlock" : "destinationCidrBlock", route.destination),
                .value("gatewayId", route.endpointId ?? "local"),
                .value("origin", "CreateRoute"),
                .value("state", active ? "active" : "blackhole"),
            ]
            let messages = drift.filter { $0.destination == route.destination }.map(\.message)
            if !messages.isEmpty { nodes.append(.value("gwlbDrift", messages.joined(separator: "; "))) }
            return nodes
        }
        var nodes: [XMLNode] = [items("associationSet", associations), items("propagatingVgwSet", []), .value("routeTableId", table.id),
                                items("routeSet", routes), tags(table.tags)]
        if let vpc = table.vpcId { nodes.append(.value("vpcId", vpc)) }
        nodes.append(.value("ownerId", catalog.account))
        let stray = drift.filter { $0.destination != nil && !table.routes.map(\.destination).contains($0.destination!) }.map(\.message)
        if !stray.isEmpty { nodes.append(strings("gwlbDriftSet", stray)) }
        return nodes
    }
}

/// `Filter.N.Name` / `Filter.N.Value.M`: a resource matches when, for every filter, one of the
/// filter's values equals one of the resource's values under that name (`tag:KEY`, `tag-key` from its tags).
struct EC2Filters {
    let filters: [(name: String, values: [String])]

    init(_ request: QueryRequest, allowed: Set<String>) throws {
        filters = try request.ec2Structures("Filter").map { fields in
            guard let name = fields["Name"] else { throw EC2Error("InvalidParameterValue", "Every filter needs a Name") }
            guard allowed.contains(name) || name.hasPrefix("tag:") || name == "tag-key" else {
                throw EC2Error("InvalidParameterValue", "The filter '\(name)' is invalid; gwlb knows \(allowed.sorted().joined(separator: ", ")), tag:KEY and tag-key")
            }
            let values = fields.filter { $0.key.hasPrefix("Value.") }.sorted { (Int($0.key.dropFirst(6)) ?? 0) < (Int($1.key.dropFirst(6)) ?? 0) }.map(\.value)
            return (name, values)
        }
    }

    func matches(_ fields: [String: [String]], tags: [Tag]) -> Bool {
        filters.allSatisfy { filter in
            let have: [String] = if filter.name.hasPrefix("tag:") {
                tags.filter { $0.key == String(filter.name.dropFirst(4)) }.map(\.value)
            } else if filter.name == "tag-key" {
                tags.map(\.key)
            } else {
                fields[filter.name] ?? []
            }
            return filter.values.contains { have.contains($0) }
        }
    }
}

extension QueryRequest {
    /// `TagSpecification.N.ResourceType` and `.Tag.M.Key/Value`: the tags for `resourceType`.
    func tagSpecifications(for resourceType: String) throws -> [Tag] {
        var tags: [Tag] = []
        for specification in try ec2Structures("TagSpecification") {
            guard specification["ResourceType"] == resourceType else {
                throw EC2Error("InvalidParameterValue", "TagSpecification ResourceType must be \(resourceType) here, not '\(specification["ResourceType"] ?? "")'")
            }
            let numbers = Set(specification.keys.compactMap { key -> Int? in
                let parts = key.split(separator: ".")
                return parts.count == 3 && parts[0] == "Tag" ? Int(parts[1]) : nil
            })
            for number in numbers.sorted() {
                guard let key = specification["Tag.\(number).Key"] else { throw EC2Error("InvalidParameterValue", "Every tag needs a Key") }
                tags.append(Tag(key: key, value: specification["Tag.\(number).Value"] ?? ""))
            }
        }
        return tags
    }

    /// `MaxResults` (within `range`) and `NextToken` over `items`: the page and the next token.
    func ec2Page<T>(_ items: [T], range: ClosedRange<Int>) throws -> (items: [T], nextToken: String?) {
        let size = try int("MaxResults") ?? range.upperBound
        guard range.contains(size) else {
            throw EC2Error("InvalidParameterValue", "Value (\(size)) for parameter maxResults is invalid. Expecting a value between \(range.lowerBound) and \(range.upperBound).")
        }
        var start = 0
        if let token = string("NextToken") {
            guard let offset = Int(token), (0...items.count).contains(offset) else {
                throw EC2Error("InvalidNextToken", "The token '\(token)' is not one this API gave out")
            }
            start = offset
        }
        let end = min(items.count, start + size)
        return (Array(items[start..<end]), end < items.count ? String(end) : nil)
    }
}
