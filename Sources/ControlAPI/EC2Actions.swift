import Catalog
import ControlInput
import ControlPlane
import Foundation

/// The EC2 operations of README "The EC2 API" over the control plane: endpoint services, VPC
/// endpoints and route tables, with EC2's parameters, shapes and error codes.
enum EC2Actions {
    typealias Operation = @Sendable (ELBActions, QueryRequest) async throws -> [XMLNode]

    static let dryRunError = EC2Error("DryRunOperation", "Request would have succeeded, but DryRun flag is set.")

    /// Runs a change; with `DryRun` checks it and changes nothing.
    static func change<Result: Sendable>(_ actions: ELBActions, _ request: QueryRequest,
                                         _ operation: @escaping @Sendable (inout ResourceCatalog, ControlPlaneService.Context) throws -> Result) async throws -> Result {
        let dryRun = try request.bool("DryRun") ?? false
        return try await actions.service.perform { catalog, context in
            let result = try operation(&catalog, context)
            if dryRun { throw dryRunError }
            return result
        }
    }

    static func read<Result>(_ actions: ELBActions, _ request: QueryRequest, _ body: (ResourceCatalog) throws -> Result) throws -> Result {
        if try request.bool("DryRun") == true { throw dryRunError }
        return try actions.service.read(body)
    }

    static func interface(_ actions: ELBActions, _ catalog: ResourceCatalog) -> (String) -> String? {
        { RoutingPlan.interface(of: $0, catalog: catalog, interfaces: actions.interfaces) }
    }

    /// What answers each EC2 operation of the contract's table (`ELBOperation.ec2`), by action.
    static let handlers: [String: Operation] = [
        // Endpoint services.
        "CreateVpcEndpointServiceConfiguration": { actions, request in
            let tags = try request.tagSpecifications(for: "vpc-endpoint-service")
            if !(try request.ec2List("NetworkLoadBalancerArn")).isEmpty {
                throw EC2Error("InvalidParameter", "gwlb offers gateway load balancers only: use GatewayLoadBalancerArns")
            }
            let service = try await change(actions, request) { catalog, context in
                try catalog.createEndpointService(loadBalancerArns: try request.ec2List("GatewayLoadBalancerArn"),
                                                  acceptanceRequired: try request.bool("AcceptanceRequired") ?? true, tags: tags,
                                                  newID: context.newID, now: context.now)
            }
            return [.element("serviceConfiguration", EC2Shapes.serviceConfiguration(service))]
        },
        "DescribeVpcEndpointServiceConfigurations": { actions, request in
            let ids = try request.ec2List("ServiceId")
            let filters = try EC2Filters(request, allowed: ["service-name", "service-id", "service-state"])
            let services = try read(actions, request) { catalog in
                ids.isEmpty ? catalog.endpointServices : try ids.map { try catalog.endpointService($0) }
            }.filter { filters.matches(["service-name": [$0.name], "service-id": [$0.id], "service-state": ["Available"]], tags: $0.tags) }
            let page = try request.ec2Page(services, range: 5...1000)
            return [EC2Shapes.items("serviceConfigurationSet", page.items.map(EC2Shapes.serviceConfiguration))]
                + (page.nextToken.map { [.value("nextToken", $0)] } ?? [])
        },
        "DeleteVpcEndpointServiceConfigurations": { actions, request in
            let ids = try request.ec2List("ServiceId")
            let failures = try await change(actions, request) { catalog, _ in catalog.deleteEndpointServices(ids) }
            return [EC2Shapes.unsuccessful(failures)]
        },
        "AcceptVpcEndpointConnections": { actions, request in
            let service = try request.required("ServiceId"), ids = try request.ec2List("VpcEndpointId")
            let failures = try await change(actions, request) { catalog, _ in try catalog.acceptEndpointConnections(service: service, endpointIds: ids) }
            return [EC2Shapes.unsuccessful(failures)]
        },
        // VPC endpoints.
        "CreateVpcEndpoint": { actions, request in
            let tags = try request.tagSpecifications(for: "vpc-endpoint")
            let endpoint = try await change(actions, request) { catalog, context in
                try catalog.createVpcEndpoint(type: request.string("VpcEndpointType"), serviceName: request.string("ServiceName"),
                                              subnetIds: try request.ec2List("SubnetId"), vpcId: request.string("VpcId"), tags: tags,
                                              newID: context.newID, now: context.now)
            }
            return [.element("vpcEndpoint", vpcEndpoint(actions, endpoint))]
        },
        "DescribeVpcEndpoints": { actions, request in
            let ids = try request.ec2List("VpcEndpointId")
            let filters = try EC2Filters(request, allowed: ["vpc-endpoint-id", "vpc-endpoint-type", "service-name", "vpc-endpoint-state", "vpc-id"])
            let shown = try read(actions, request) { catalog in
                let endpoints = ids.isEmpty ? catalog.endpoints : try ids.map { try catalog.vpcEndpoint($0) }
                return endpoints.compactMap { endpoint -> [XMLNode]? in
                    let nodes = vpcEndpoint(actions, endpoint, catalog: catalog)
                    let state = endpoint.vpc?.pendingAcceptance == true ? "pendingacceptance" : "available"
                    let fields = ["vpc-endpoint-id": [endpoint.id], "vpc-endpoint-type": ["GatewayLoadBalancer"], "vpc-endpoint-state": [state],
                                  "service-name": [serviceName(endpoint, catalog) ?? ""], "vpc-id": [endpoint.vpc?.vpcId ?? ""]]
                    return filters.matches(fields, tags: endpoint.vpc?.tags ?? []) ? nodes : nil
                }
            }
            let page = try request.ec2Page(shown, range: 5...1000)
            return [EC2Shapes.items("vpcEndpointSet", page.items)] + (page.nextToken.map { [.value("nextToken", $0)] } ?? [])
        },
        "DeleteVpcEndpoints": { actions, request in
            let ids = try request.ec2List("VpcEndpointId")
            let failures = try await change(actions, request) { catalog, _ in catalog.deleteVpcEndpoints(ids) }
            return [EC2Shapes.unsuccessful(failures)]
        },
        // Route tables.
        "CreateRouteTable": { actions, request in
            let tags = try request.tagSpecifications(for: "route-table")
            let table = try await change(actions, request) { catalog, context in
                try catalog.createRouteTable(vpcId: request.string("VpcId"), tags: tags, newID: context.newID)
            }
            return actions.service.read { catalog in [.element("routeTable", routeTables(actions, [table], catalog: catalog)[0])] }
        },
        "AssociateRouteTable": { actions, request in
            let id = try request.required("RouteTableId")
            let association = try await change(actions, request) { catalog, context in
                try catalog.associateRouteTable(id, subnetId: request.string("SubnetId"), gatewayId: request.string("GatewayId"),
                                                interface: interface(actions, catalog), newID: context.newID)
            }
            return [.value("associationId", association.id), .element("associationState", [.value("state", "associated")])]
        },
        "ReplaceRouteTableAssociation": { actions, request in
            let (association, table) = (try request.required("AssociationId"), try request.required("RouteTableId"))
            let moved = try await change(actions, request) { catalog, context in
                try catalog.replaceRouteTableAssociation(association, with: table, newID: context.newID)
            }
            return [.value("newAssociationId", moved.id), .element("associationState", [.value("state", "associated")])]
        },
        "DisassociateRouteTable": { actions, request in
            let id = try request.required("AssociationId")
            try await change(actions, request) { catalog, _ in try catalog.disassociateRouteTable(id) }
            return [.value("return", "true")]
        },
        "CreateRoute": { actions, request in
            try await changeRoute(actions, request) { catalog, table, destination, target in
                try catalog.createRoute(table, destination: destination, endpointId: target)
            }
        },
        "ReplaceRoute": { actions, request in
            try await changeRoute(actions, request) { catalog, table, destination, target in
                try catalog.replaceRoute(table, destination: destination, endpointId: target)
            }
        },
        "DeleteRoute": { actions, request in
            let table = try request.required("RouteTableId")
            let destination = try ResourceCatalog.routeDestination(ipv4: request.string("DestinationCidrBlock"), ipv6: request.string("DestinationIpv6CidrBlock"))
            try await change(actions, request) { catalog, _ in try catalog.deleteRoute(table, destination: destination) }
            return [.value("return", "true")]
        },
        "DescribeRouteTables": { actions, request in
            let ids = try request.ec2List("RouteTableId")
            let filters = try EC2Filters(request, allowed: ["route-table-id", "vpc-id", "association.route-table-association-id", "association.subnet-id",
                                                            "association.gateway-id", "route.destination-cidr-block", "route.destination-ipv6-cidr-block",
                                                            "route.gateway-id", "route.state"])
            let tables = try read(actions, request) { catalog in
                let tables = ids.isEmpty ? catalog.routeTables : try ids.map { try catalog.routeTable($0) }
                return tables.filter { filters.matches(filterFields($0, catalog), tags: $0.tags) }
            }
            let page = try request.ec2Page(tables, range: 5...100)
            let shown = actions.service.read { catalog in routeTables(actions, page.items, catalog: catalog) }
            return [EC2Shapes.items("routeTableSet", shown)] + (page.nextToken.map { [.value("nextToken", $0)] } ?? [])
        },
        "DeleteRouteTable": { actions, request in
            let id = try request.required("RouteTableId")
            try await change(actions, request) { catalog, _ in try catalog.deleteRouteTable(id) }
            return [.value("return", "true")]
        },
        // gwlb's: puts back what drifted (rules and routes changed behind gwlbd's back).
        "RepairRouteTables": { actions, request in
            let before = actions.service.read { actions.routingDrift($0) }
            try await actions.service.reapplyRouting()
            let after = actions.service.read { actions.routingDrift($0) }
            return [EC2Shapes.strings("repaired", before.map(\.message)), EC2Shapes.strings("remaining", after.map(\.message))]
        },
    ]

    static func changeRoute(_ actions: ELBActions, _ request: QueryRequest,
                            _ body: @escaping @Sendable (inout ResourceCatalog, String, (text: String, isIPv6: Bool), String?) throws -> Void) async throws -> [XMLNode] {
        let table = try request.required("RouteTableId")
        let destination = try ResourceCatalog.routeDestination(ipv4: request.string("DestinationCidrBlock"), ipv6: request.string("DestinationIpv6CidrBlock"))
        try await change(actions, request) { catalog, _ in
            let target = try catalog.routeTarget(endpointId: request.string("VpcEndpointId"), gatewayId: request.string("GatewayId"),
                                                 localTarget: try request.bool("LocalTarget") ?? false)
            try body(&catalog, table, destination, target)
        }
        return [.value("return", "true")]
    }

    static func serviceName(_ endpoint: Endpoint, _ catalog: ResourceCatalog) -> String? {
        endpoint.vpc.flatMap { vpc in catalog.endpointServices.first { $0.id == vpc.serviceId }?.name }
    }

    static func vpcEndpoint(_ actions: ELBActions, _ endpoint: Endpoint, catalog: ResourceCatalog? = nil) -> [XMLNode] {
        let catalog = catalog ?? actions.service.read { $0 }
        return EC2Shapes.vpcEndpoint(endpoint, serviceName: serviceName(endpoint, catalog), owner: catalog.account,
                                     failure: endpoint.isActive ? actions.endpointFailure(endpoint.interface) : nil)
    }

    /// Route tables as EC2 shows them, with their drift: Linux's routing is read once for all.
    static func routeTables(_ actions: ELBActions, _ tables: [RouteTable], catalog: ResourceCatalog) -> [[XMLNode]] {
        let plan = RoutingPlan(catalog, interfaces: actions.interfaces)
        let drift = tables.isEmpty ? [] : actions.routingDrift(catalog)
        return tables.map { table in
            EC2Shapes.routeTable(table, catalog: catalog, unmapped: plan.unmapped, drift: drift.filter { $0.routeTableId == table.id })
        }
    }

    static func filterFields(_ table: RouteTable, _ catalog: ResourceCatalog) -> [String: [String]] {
        [
            "route-table-id": [table.id], "vpc-id": [table.vpcId ?? ""],
            "association.route-table-association-id": table.associations.map(\.id),
            "association.subnet-id": table.associations.compactMap(\.subnetId),
            "association.gateway-id": table.associations.compactMap(\.gatewayId),
            "route.destination-cidr-block": table.routes.filter { !$0.isIPv6 }.map(\.destination),
            "route.destination-ipv6-cidr-block": table.routes.filter(\.isIPv6).map(\.destination),
            "route.gateway-id": table.routes.map { $0.endpointId ?? "local" },
            "route.state": table.routes.map { route in
                route.endpointId.map { id in catalog.endpoints.contains { $0.id == id && $0.isActive } ? "active" : "blackhole" } ?? "active"
            },
        ]
    }
}
