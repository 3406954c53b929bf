import Foundation
import Testing
@testable import Catalog

/// EC2's rules for endpoint services, VPC endpoints and route tables, on the catalog value.
@Suite struct VPCCatalogTests {
    let now = Date(timeIntervalSinceReferenceDate: 800_000_000)
    var counter = 0

    mutating func id() -> String {
        counter += 1
        return String(format: "%016llx", counter)
    }

    /// A load balancer offered by a service, and the catalog.
    mutating func offered(acceptance: Bool) throws -> (ResourceCatalog, EndpointService) {
        var catalog = ResourceCatalog()
        let lb = try catalog.createLoadBalancer(name: "lb", type: "gateway", subnets: [], ipAddressType: nil, tags: [], id: id(), now: now)
        let service = try catalog.createEndpointService(loadBalancerArns: [lb.arn.description], acceptanceRequired: acceptance, tags: [],
                                                        newID: { "00000000000000a1" }, now: now)
        return (catalog, service)
    }

    @Test mutating func anEndpointWaitingForAcceptanceCarriesNothingUntilAccepted() throws {
        var (catalog, service) = try offered(acceptance: true)
        #expect(service.name == "com.amazonaws.vpce.us-east-1.vpce-svc-000000000000000a1")
        let endpoint = try catalog.createVpcEndpoint(type: "GatewayLoadBalancer", serviceName: service.name, subnetIds: ["subnet-1"], vpcId: "vpc-1",
                                                     tags: [], newID: { "0123456789abcdef" }, now: now)
        #expect(endpoint.id == "vpce-00123456789abcdef" && endpoint.interface == "gwlbe-012345678")
        #expect(catalog.activeEndpoints.isEmpty && catalog.servedLoadBalancers.isEmpty)
        let failures = try catalog.acceptEndpointConnections(service: service.id, endpointIds: [endpoint.id, endpoint.id])
        #expect(failures.map(\.error.code) == ["InvalidState"], "the second acceptance finds it accepted")
        #expect(catalog.activeEndpoints.map(\.id) == [endpoint.id] && catalog.servedLoadBalancers.count == 1)
    }

    @Test mutating func servicesAndTheirLoadBalancersCannotBeDeletedWhileUsed() throws {
        var (catalog, service) = try offered(acceptance: false)
        let lb = catalog.loadBalancers[0].arn
        #expect { try catalog.deleteLoadBalancer(lb) } throws: { ($0 as? ELBError)?.code == .resourceInUse }
        #expect { try catalog.createEndpointService(loadBalancerArns: [lb.description], acceptanceRequired: false, tags: [], newID: { "1" }, now: now) }
            throws: { ($0 as? EC2Error)?.code == "InvalidParameterValue" }
        let tagged = try catalog.createVpcEndpoint(type: "GatewayLoadBalancer", serviceName: service.name, subnetIds: ["subnet-1"], vpcId: nil,
                                                   tags: [Tag(key: ResourceCatalog.interfaceTag, value: "gwlbe7")], newID: { "00000000000000b1" }, now: now)
        #expect(tagged.interface == "gwlbe7" && tagged.isActive)
        #expect(catalog.deleteEndpointServices([service.id, "vpce-svc-0nope"]).map(\.error.code)
                == ["ExistingVpcEndpointConnections", "InvalidVpcEndpointServiceId.NotFound"])
        #expect(catalog.deleteVpcEndpoints([tagged.id]).isEmpty)
        #expect(catalog.deleteEndpointServices([service.id]).isEmpty && catalog.endpointServices.isEmpty)
        #expect(throws: Never.self) { try catalog.deleteLoadBalancer(lb) }
    }

    @Test mutating func endpointsAreGatewayLoadBalancerOnesInOneSubnet() throws {
        var (catalog, service) = try offered(acceptance: false)
        func code(_ type: String?, _ name: String?, _ subnets: [String]) -> String? {
            do {
                _ = try catalog.createVpcEndpoint(type: type, serviceName: name, subnetIds: subnets, vpcId: nil, tags: [], newID: { "00000000000000c1" }, now: now)
                return nil
            } catch { return error.code }
        }
        #expect(code(nil, service.name, ["subnet-1"]) == "InvalidParameterValue")
        #expect(code("GatewayLoadBalancer", "com.amazonaws.vpce.us-east-1.vpce-svc-0nope", ["subnet-1"]) == "InvalidServiceName")
        #expect(code("GatewayLoadBalancer", service.name, ["subnet-1", "subnet-2"]) == "InvalidParameter")
        #expect(code("GatewayLoadBalancer", service.name, []) == "InvalidParameter")
        #expect(catalog.endpoints.isEmpty, "nothing was made by a refused call")
    }

    @Test mutating func routeTablesTakeTheLowestFreeLinuxTableAndKeepTheirRoutesPerDestination() throws {
        var (catalog, service) = try offered(acceptance: false)
        let endpoint = try catalog.createVpcEndpoint(type: "GatewayLoadBalancer", serviceName: service.name, subnetIds: ["subnet-1"], vpcId: nil,
                                                     tags: [], newID: { "00000000000000d1" }, now: now)
        let first = try catalog.createRouteTable(vpcId: nil, tags: [], newID: { "00000000000000e1" })
        let second = try catalog.createRouteTable(vpcId: nil, tags: [], newID: { "00000000000000e2" })
        #expect([first.linuxTable, second.linuxTable] as [Int] == [RouteTable.firstLinuxTable, RouteTable.firstLinuxTable + 1])
        try catalog.deleteRouteTable(first.id)
        #expect(try catalog.createRouteTable(vpcId: nil, tags: [], newID: { "00000000000000e3" }).linuxTable == RouteTable.firstLinuxTable)

        let destination = try ResourceCatalog.routeDestination(ipv4: nil, ipv6: "fd00:20:0::/64")
        #expect(destination.text == "fd00:20::/64" && destination.isIPv6)
        try catalog.createRoute(second.id, destination: destination, endpointId: endpoint.id)
        #expect { try catalog.createRoute(second.id, destination: destination, endpointId: nil) } throws: { ($0 as? EC2Error)?.code == "RouteAlreadyExists" }
        try catalog.replaceRoute(second.id, destination: destination, endpointId: nil)
        #expect(try catalog.routeTable(second.id).routes == [RouteTable.Route(destination: "fd00:20::/64", isIPv6: true, endpointId: nil)])
        try catalog.deleteRoute(second.id, destination: destination)
        #expect { try catalog.deleteRoute(second.id, destination: destination) } throws: { ($0 as? EC2Error)?.code == "InvalidRoute.NotFound" }

        // A deleted endpoint's routes stay (AWS shows them as blackhole).
        try catalog.createRoute(second.id, destination: try ResourceCatalog.routeDestination(ipv4: "0.0.0.0/0", ipv6: nil), endpointId: endpoint.id)
        _ = catalog.deleteVpcEndpoints([endpoint.id])
        #expect(try catalog.routeTable(second.id).routes.map(\.endpointId) == [endpoint.id])
        #expect { try catalog.routeTarget(endpointId: endpoint.id, gatewayId: nil, localTarget: false) }
            throws: { ($0 as? EC2Error)?.code == "InvalidVpcEndpointId.NotFound" }
        #expect(try catalog.routeTarget(endpointId: nil, gatewayId: "local", localTarget: false) == nil)
        #expect { try catalog.routeTarget(endpointId: nil, gatewayId: "igw-1", localTarget: false) } throws: { ($0 as? EC2Error)?.code == "InvalidParameterValue" }
    }

    @Test func destinationsAreCIDRBlocksWithoutHostBits() {
        #expect(CIDR.canonical("198.18.20.0/24", isIPv6: false) == "198.18.20.0/24")
        #expect(CIDR.canonical("198.18.20.1/24", isIPv6: false) == nil)
        #expect(CIDR.canonical("198.18.20.0/33", isIPv6: false) == nil)
        #expect(CIDR.canonical("198.18.20.0", isIPv6: false) == nil)
        #expect(CIDR.canonical("fd00:0020:0000::/48", isIPv6: true) == "fd00:20::/48")
        #expect(CIDR.canonical("fd00:20::/64", isIPv6: false) == nil)
        #expect(CIDR.canonical("::/0", isIPv6: true) == "::/0")
        #expect(CIDR.canonical("0.0.0.0/+0", isIPv6: false) == nil)
        #expect { try ResourceCatalog.routeDestination(ipv4: "198.18.0.0/15", ipv6: "fd00::/8") } throws: { ($0 as? EC2Error)?.code == "InvalidParameterCombination" }
        #expect { try ResourceCatalog.routeDestination(ipv4: nil, ipv6: nil) } throws: { ($0 as? EC2Error)?.code == "MissingParameter" }
    }

    @Test mutating func anInterfaceIsAssociatedWithOneTableAtMost() throws {
        var catalog = ResourceCatalog()
        let first = try catalog.createRouteTable(vpcId: nil, tags: [], newID: { "00000000000000f1" })
        let second = try catalog.createRouteTable(vpcId: nil, tags: [], newID: { "00000000000000f2" })
        let known: (String) -> String? = { ["subnet-app": "app", "igw-edge": "uplink"][$0] }
        let association = try catalog.associateRouteTable(first.id, subnetId: "subnet-app", gatewayId: nil, interface: known, newID: { "0000000000000001" })
        #expect { try catalog.associateRouteTable(second.id, subnetId: "subnet-app", gatewayId: nil, interface: known, newID: { "2" }) }
            throws: { ($0 as? EC2Error)?.code == "Resource.AlreadyAssociated" }
        #expect { try catalog.associateRouteTable(second.id, subnetId: "subnet-app", gatewayId: "igw-edge", interface: known, newID: { "2" }) }
            throws: { ($0 as? EC2Error)?.code == "InvalidParameterCombination" }
        #expect { try catalog.associateRouteTable(second.id, subnetId: nil, gatewayId: "igw-other", interface: known, newID: { "2" }) }
            throws: { ($0 as? EC2Error)?.code == "InvalidGatewayID.NotFound" }
        #expect { try catalog.deleteRouteTable(first.id) } throws: { ($0 as? EC2Error)?.code == "DependencyViolation" }
        // Moved to the other table in one call: a new association id, the old one gone.
        let moved = try catalog.replaceRouteTableAssociation(association.id, with: second.id, newID: { "0000000000000003" })
        #expect(moved.subnetId == "subnet-app" && moved.id != association.id)
        #expect(try catalog.routeTable(first.id).associations.isEmpty && catalog.routeTable(second.id).associations == [moved])
        #expect { try catalog.replaceRouteTableAssociation(association.id, with: first.id, newID: { "4" }) }
            throws: { ($0 as? EC2Error)?.code == "InvalidAssociationID.NotFound" }
        #expect { try catalog.replaceRouteTableAssociation(moved.id, with: "rtb-0nope", newID: { "4" }) }
            throws: { ($0 as? EC2Error)?.code == "InvalidRouteTableID.NotFound" }
        // Back again, with the id newID gives (here the first one's number again).
        #expect(try catalog.replaceRouteTableAssociation(moved.id, with: first.id, newID: { "0000000000000001" }).id == association.id)
        try catalog.disassociateRouteTable(association.id)
        #expect { try catalog.disassociateRouteTable(association.id) } throws: { ($0 as? EC2Error)?.code == "InvalidAssociationID.NotFound" }
        try catalog.deleteRouteTable(first.id)
    }
}
