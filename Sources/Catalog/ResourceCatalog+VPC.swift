import Foundation

/// EC2's side of the inspection path: endpoint services, VPC endpoints and route tables, with
/// AWS's rules and error codes (README "The EC2 API"). Each operation checks every rule before it
/// changes anything, as the elbv2 ones do.
extension ResourceCatalog {
    // MARK: Endpoint services

    public mutating func createEndpointService(loadBalancerArns: [String], acceptanceRequired: Bool, tags: [Tag],
                                               newID: () -> String, now: Date) throws(EC2Error) -> EndpointService {
        guard !loadBalancerArns.isEmpty else {
            throw EC2Error("MissingParameter", "The request must contain the parameter GatewayLoadBalancerArns (gwlb offers gateway load balancers only)")
        }
        for text in loadBalancerArns {
            guard let arn = ARN(text), loadBalancers.contains(where: { $0.arn == arn }) else {
                throw EC2Error.invalid("GatewayLoadBalancerArns", text, "No gateway load balancer has this ARN.")
            }
            if let other = endpointServices.first(where: { $0.loadBalancerArns.contains(text) }) {
                throw EC2Error.invalid("GatewayLoadBalancerArns", text, "The load balancer is already offered by endpoint service \(other.id).")
            }
        }
        try Self.validateEC2(tags)
        guard endpointServices.count < Limits.endpointServices else {
            throw EC2Error("ServiceQuotaExceeded", "The limit of \(Limits.endpointServices) endpoint services is reached; delete one first")
        }
        let id = "vpce-svc-0" + newID()
        let service = EndpointService(id: id, name: "com.amazonaws.vpce.\(region).\(id)", loadBalancerArns: loadBalancerArns,
                                      acceptanceRequired: acceptanceRequired, tags: tags, createdTime: now)
        endpointServices.append(service)
        return service
    }

    public func endpointService(_ id: String) throws(EC2Error) -> EndpointService {
        guard let service = endpointServices.first(where: { $0.id == id }) else {
            throw EC2Error("InvalidVpcEndpointServiceId.NotFound", "The Vpc Endpoint Service Id '\(Self.printable(id))' does not exist")
        }
        return service
    }

    /// AWS deletes what it can and lists the rest as unsuccessful, with why.
    public mutating func deleteEndpointServices(_ ids: [String]) -> [(id: String, error: EC2Error)] {
        var failures: [(id: String, error: EC2Error)] = []
        for id in ids {
            do throws(EC2Error) {
                _ = try endpointService(id)
                if let endpoint = endpoints.first(where: { $0.vpc?.serviceId == id }) {
                    throw EC2Error("ExistingVpcEndpointConnections", "Service \(id) has endpoint \(endpoint.id); delete its endpoints first")
                }
                endpointServices.removeAll { $0.id == id }
            } catch {
                failures.append((id, error))
            }
        }
        return failures
    }

    public mutating func acceptEndpointConnections(service id: String, endpointIds: [String]) throws(EC2Error) -> [(id: String, error: EC2Error)] {
        _ = try endpointService(id)
        var failures: [(id: String, error: EC2Error)] = []
        for endpointId in endpointIds {
            guard let index = endpoints.firstIndex(where: { $0.id == endpointId && $0.vpc?.serviceId == id }) else {
                failures.append((endpointId, EC2Error("InvalidVpcEndpoint.NotFound", "Endpoint \(Self.printable(endpointId)) has not asked to connect to \(id)")))
                continue
            }
            guard endpoints[index].vpc?.pendingAcceptance == true else {
                failures.append((endpointId, EC2Error("InvalidState", "Endpoint \(endpointId) is not pending acceptance")))
                continue
            }
            endpoints[index].vpc?.pendingAcceptance = false
        }
        return failures
    }

    // MARK: VPC endpoints

    /// The endpoint's TUN device is named by its `gwlb:interface` tag, else `gwlbe-` and nine hex
    /// digits of its id (Linux names have at most 15 characters).
    public static let interfaceTag = "gwlb:interface"

    public mutating func createVpcEndpoint(type: String?, serviceName: String?, subnetIds: [String], vpcId: String?, tags: [Tag],
                                           newID: () -> String, now: Date) throws(EC2Error) -> Endpoint {
        guard type == "GatewayLoadBalancer" else {
            throw EC2Error.invalid("VpcEndpointType", type ?? "Gateway", "gwlb makes GatewayLoadBalancer endpoints only.")
        }
        guard let serviceName, let service = endpointServices.first(where: { $0.name == serviceName }) else {
            throw EC2Error("InvalidServiceName", "The Vpc Endpoint Service '\(Self.printable(serviceName ?? ""))' does not exist")
        }
        guard subnetIds.count == 1 else {
            throw EC2Error("InvalidParameter", "A Gateway Load Balancer endpoint takes exactly one subnet (got \(subnetIds.count))")
        }
        do throws(ELBError) {
            try Self.validate(identifier: subnetIds[0], what: "SubnetId")
            if let vpcId { try Self.validate(identifier: vpcId, what: "VpcId") }
        } catch {
            throw EC2Error("InvalidParameterValue", error.message)
        }
        try Self.validateEC2(tags)
        guard let arn = service.loadBalancerArns.first.flatMap(ARN.init) else {
            throw EC2Error("InvalidServiceName", "Service \(service.id) offers no load balancer")
        }
        let number = newID()
        let id = "vpce-0" + number
        let interface = tags.first { $0.key == Self.interfaceTag }?.value ?? "gwlbe-" + number.prefix(9)
        var endpoint: Endpoint
        do throws(ELBError) {
            endpoint = try createEndpoint(loadBalancer: arn, interface: interface, endpointId: id, attachmentId: nil, newID: newID, now: now)
        } catch {
            let code = error.code == .tooManyEndpoints ? "VpcEndpointLimitExceeded" : "InvalidParameterValue"
            throw EC2Error(code, error.message)
        }
        endpoint.vpc = .init(serviceId: service.id, subnetIds: subnetIds, vpcId: vpcId, tags: tags, pendingAcceptance: service.acceptanceRequired)
        endpoints[endpoints.count - 1] = endpoint
        return endpoint
    }

    /// EC2's view of every endpoint; one made with gwlb's CreateEndpoint shows with no service.
    public func vpcEndpoint(_ id: String) throws(EC2Error) -> Endpoint {
        guard let endpoint = endpoints.first(where: { $0.id == id }) else {
            throw EC2Error("InvalidVpcEndpointId.NotFound", "The Vpc Endpoint Id '\(Self.printable(id))' does not exist")
        }
        return endpoint
    }

    /// Routes to a deleted endpoint stay, as `blackhole` (AWS's behaviour).
    public mutating func deleteVpcEndpoints(_ ids: [String]) -> [(id: String, error: EC2Error)] {
        var failures: [(id: String, error: EC2Error)] = []
        for id in ids {
            if endpoints.contains(where: { $0.id == id }) {
                deleteEndpoint(id)
            } else {
                failures.append((id, EC2Error("InvalidVpcEndpoint.NotFound", "The Vpc Endpoint Id '\(Self.printable(id))' does not exist")))
            }
        }
        return failures
    }

    // MARK: Route tables

    public mutating func createRouteTable(vpcId: String?, tags: [Tag], newID: () -> String) throws(EC2Error) -> RouteTable {
        if let vpcId {
            do throws(ELBError) { try Self.validate(identifier: vpcId, what: "VpcId") } catch { throw EC2Error("InvalidParameterValue", error.message) }
        }
        try Self.validateEC2(tags)
        let used = Set(routeTables.map(\.linuxTable))
        guard let table = (RouteTable.firstLinuxTable..<(RouteTable.firstLinuxTable + Limits.routeTables)).first(where: { !used.contains($0) }) else {
            throw EC2Error("RouteTableLimitExceeded", "The limit of \(Limits.routeTables) route tables is reached; delete one first")
        }
        let routeTable = RouteTable(id: "rtb-0" + newID(), vpcId: vpcId, linuxTable: table, tags: tags)
        routeTables.append(routeTable)
        return routeTable
    }

    public func routeTable(_ id: String) throws(EC2Error) -> RouteTable {
        routeTables[try indexOfRouteTable(id)]
    }

    public mutating func deleteRouteTable(_ id: String) throws(EC2Error) {
        let table = try routeTable(id)
        guard table.associations.isEmpty else {
            throw EC2Error("DependencyViolation", "The routeTable '\(id)' has dependencies and cannot be deleted (associated with \(table.associations.map(\.target).joined(separator: ", "))).")
        }
        routeTables.removeAll { $0.id == id }
    }

    /// Binds a subnet or, for ingress routing, a gateway to a table. `interface` names the Linux
    /// interface of a subnet or gateway (nil: gwlbd knows none, and the call fails).
    public mutating func associateRouteTable(_ id: String, subnetId: String?, gatewayId: String?, interface: (String) -> String?,
                                             newID: () -> String) throws(EC2Error) -> RouteTable.Association {
        let index = try indexOfRouteTable(id)
        guard (subnetId == nil) != (gatewayId == nil) else {
            throw EC2Error("InvalidParameterCombination", "Give exactly one of SubnetId and GatewayId")
        }
        let target = subnetId ?? gatewayId ?? ""
        guard interface(target) != nil else {
            let code = subnetId != nil ? "InvalidSubnetID.NotFound" : "InvalidGatewayID.NotFound"
            throw EC2Error(code, "The \(subnetId != nil ? "subnet" : "gateway") ID '\(Self.printable(target))' does not exist: gwlbd's configuration maps no interface to it (\"interfaces\" in its configuration file)")
        }
        if let other = routeTables.first(where: { $0.associations.contains { $0.target == target } }) {
            throw EC2Error("Resource.AlreadyAssociated", "the specified association for route table \(other.id) conflicts with an existing association: \(target) is associated with it")
        }
        let association = RouteTable.Association(id: "rtbassoc-0" + newID(), subnetId: subnetId, gatewayId: gatewayId)
        routeTables[index].associations.append(association)
        return association
    }

    /// Moves an association to another table in one call (a new association id, as AWS gives).
    public mutating func replaceRouteTableAssociation(_ associationId: String, with id: String, newID: () -> String) throws(EC2Error) -> RouteTable.Association {
        let target = try indexOfRouteTable(id)
        guard let source = routeTables.firstIndex(where: { $0.associations.contains { $0.id == associationId } }),
              let association = routeTables[source].associations.first(where: { $0.id == associationId }) else {
            throw EC2Error("InvalidAssociationID.NotFound", "The association ID '\(Self.printable(associationId))' does not exist")
        }
        routeTables[source].associations.removeAll { $0.id == associationId }
        let moved = RouteTable.Association(id: "rtbassoc-0" + newID(), subnetId: association.subnetId, gatewayId: association.gatewayId)
        routeTables[target].associations.append(moved)
        return moved
    }

    public mutating func disassociateRouteTable(_ associationId: String) throws(EC2Error) {
        guard let index = routeTables.firstIndex(where: { $0.associations.contains { $0.id == associationId } }) else {
            throw EC2Error("InvalidAssociationID.NotFound", "The association ID '\(Self.printable(associationId))' does not exist")
        }
        routeTables[index].associations.removeAll { $0.id == associationId }
    }

    /// The destination of a route request: exactly one of the IPv4 and IPv6 blocks, canonical.
    public static func routeDestination(ipv4: String?, ipv6: String?) throws(EC2Error) -> (text: String, isIPv6: Bool) {
        switch (ipv4, ipv6) {
        case (let block?, nil):
            guard let canonical = CIDR.canonical(block, isIPv6: false) else {
                throw EC2Error.invalid("destinationCidrBlock", block, "This is not a valid CIDR block.")
            }
            return (canonical, false)
        case (nil, let block?):
            guard let canonical = CIDR.canonical(block, isIPv6: true) else {
                throw EC2Error.invalid("destinationIpv6CidrBlock", block, "This is not a valid IPv6 CIDR block.")
            }
            return (canonical, true)
        case (nil, nil): throw EC2Error("MissingParameter", "The request must contain the parameter destinationCidrBlock or destinationIpv6CidrBlock")
        default: throw EC2Error("InvalidParameterCombination", "Give only one of DestinationCidrBlock and DestinationIpv6CidrBlock")
        }
    }

    /// A route's target: an endpoint, or `local` (`--gateway-id local`, ReplaceRoute's `--local-target`).
    public func routeTarget(endpointId: String?, gatewayId: String?, localTarget: Bool) throws(EC2Error) -> String? {
        let local = localTarget || gatewayId == "local"
        if let gatewayId, gatewayId != "local" {
            throw EC2Error.invalid("gatewayId", gatewayId, "gwlb's routes go to a Gateway Load Balancer endpoint (--vpc-endpoint-id) or local.")
        }
        switch (endpointId, local) {
        case (let id?, false):
            _ = try vpcEndpoint(id)
            return id
        case (nil, true): return nil
        case (nil, false): throw EC2Error("MissingParameter", "The request must name a target: --vpc-endpoint-id (or --gateway-id local)")
        default: throw EC2Error("InvalidParameterCombination", "Give only one target: a VPC endpoint or local")
        }
    }

    public mutating func createRoute(_ id: String, destination: (text: String, isIPv6: Bool), endpointId: String?) throws(EC2Error) {
        let index = try indexOfRouteTable(id)
        guard !routeTables[index].routes.contains(where: { $0.destination == destination.text }) else {
            throw EC2Error("RouteAlreadyExists", "The route identified by \(destination.text) already exists.")
        }
        guard routeTables[index].routes.count < Limits.routesPerTable else {
            throw EC2Error("RouteLimitExceeded", "Route table \(id) holds \(Limits.routesPerTable) routes, the limit")
        }
        routeTables[index].routes.append(.init(destination: destination.text, isIPv6: destination.isIPv6, endpointId: endpointId))
    }

    public mutating func replaceRoute(_ id: String, destination: (text: String, isIPv6: Bool), endpointId: String?) throws(EC2Error) {
        let (table, route) = try indexOfRoute(id, destination)
        routeTables[table].routes[route].endpointId = endpointId
    }

    public mutating func deleteRoute(_ id: String, destination: (text: String, isIPv6: Bool)) throws(EC2Error) {
        let (table, route) = try indexOfRoute(id, destination)
        routeTables[table].routes.remove(at: route)
    }

    private func indexOfRoute(_ id: String, _ destination: (text: String, isIPv6: Bool)) throws(EC2Error) -> (Int, Int) {
        let table = try indexOfRouteTable(id)
        guard let route = routeTables[table].routes.firstIndex(where: { $0.destination == destination.text }) else {
            let parameter = destination.isIPv6 ? "destination-ipv6-cidr-block" : "destination-cidr-block"
            throw EC2Error("InvalidRoute.NotFound", "no route with \(parameter) \(destination.text) in route table \(id)")
        }
        return (table, route)
    }

    private func indexOfRouteTable(_ id: String) throws(EC2Error) -> Int {
        guard let index = routeTables.firstIndex(where: { $0.id == id }) else {
            throw EC2Error("InvalidRouteTableID.NotFound", "The routeTable ID '\(Self.printable(id))' does not exist")
        }
        return index
    }

    static func validateEC2(_ tags: [Tag]) throws(EC2Error) {
        do throws(ELBError) { try validate(tags) } catch {
            throw EC2Error(error.code == .tooManyTags ? "TagLimitExceeded" : "InvalidParameterValue", error.message)
        }
    }
}
