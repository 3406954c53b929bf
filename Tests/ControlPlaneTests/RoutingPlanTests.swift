import Catalog
import Foundation
import Store
import Synchronization
import Testing
@testable import ControlPlane

/// What Linux routing the route tables stand for, and the control plane's all-or-nothing changes
/// when Linux refuses it.
@Suite struct RoutingPlanTests {
    let now = Date(timeIntervalSinceReferenceDate: 800_000_000)

    /// A catalog with an active endpoint (gwlbe0, in subnet-e), a pending one (gwlbe1), an ingress
    /// table on the gateway and a table on the endpoint's own subnet.
    func catalog() throws -> ResourceCatalog {
        var catalog = ResourceCatalog()
        let lb = try catalog.createLoadBalancer(name: "lb", type: "gateway", subnets: [], ipAddressType: nil, tags: [], id: "0000000000000001", now: now)
        let open = try catalog.createEndpointService(loadBalancerArns: [lb.arn.description], acceptanceRequired: false, tags: [], newID: { "a1" }, now: now)
        let active = try catalog.createVpcEndpoint(type: "GatewayLoadBalancer", serviceName: open.name, subnetIds: ["subnet-e"], vpcId: nil,
                                                   tags: [Tag(key: "gwlb:interface", value: "gwlbe0")], newID: { "00000000000000b1" }, now: now)
        let lb2 = try catalog.createLoadBalancer(name: "lb2", type: "gateway", subnets: [], ipAddressType: nil, tags: [], id: "0000000000000002", now: now)
        let gated = try catalog.createEndpointService(loadBalancerArns: [lb2.arn.description], acceptanceRequired: true, tags: [], newID: { "a2" }, now: now)
        let pending = try catalog.createVpcEndpoint(type: "GatewayLoadBalancer", serviceName: gated.name, subnetIds: ["subnet-p"], vpcId: nil,
                                                    tags: [Tag(key: "gwlb:interface", value: "gwlbe1")], newID: { "00000000000000b2" }, now: now)
        let endpoints = catalog
        let interfaces: (String) -> String? = { RoutingPlan.interface(of: $0, catalog: endpoints, interfaces: ["igw-1": "uplink"]) }
        let ingress = try catalog.createRouteTable(vpcId: nil, tags: [], newID: { "00000000000000c1" })
        _ = try catalog.associateRouteTable(ingress.id, subnetId: nil, gatewayId: "igw-1", interface: interfaces, newID: { "00000000000000d1" })
        try catalog.createRoute(ingress.id, destination: ("198.18.20.0/24", false), endpointId: active.id)
        try catalog.createRoute(ingress.id, destination: ("198.18.30.0/24", false), endpointId: pending.id)
        try catalog.createRoute(ingress.id, destination: ("fd00:20::/64", true), endpointId: nil)
        let returns = try catalog.createRouteTable(vpcId: nil, tags: [], newID: { "00000000000000c2" })
        _ = try catalog.associateRouteTable(returns.id, subnetId: "subnet-e", gatewayId: nil, interface: interfaces, newID: { "00000000000000d2" })
        return catalog
    }

    @Test func rulesForBothFamiliesRoutesIntoDevicesBlackholesAndThrows() throws {
        let catalog = try catalog()
        let plan = RoutingPlan(catalog, interfaces: ["igw-1": "uplink"])
        let (ingress, returns) = (catalog.routeTables[0].linuxTable, catalog.routeTables[1].linuxTable)
        #expect(Set(plan.rules) == [
            .init(family: .ipv4, interface: "uplink", table: ingress), .init(family: .ipv6, interface: "uplink", table: ingress),
            // The endpoint's own subnet is its device: what comes back from inspection.
            .init(family: .ipv4, interface: "gwlbe0", table: returns), .init(family: .ipv6, interface: "gwlbe0", table: returns),
        ])
        #expect(plan.routes == [
            .init(family: .ipv4, table: ingress, destination: "198.18.20.0/24", kind: .device("gwlbe0")),
            .init(family: .ipv4, table: ingress, destination: "198.18.30.0/24", kind: .blackhole),
            .init(family: .ipv6, table: ingress, destination: "fd00:20::/64", kind: .throwToMain),
        ])
        #expect(plan.unmapped.isEmpty)
        // The configuration no longer names the gateway: its association is reported, not applied.
        let unmapped = RoutingPlan(catalog, interfaces: [:])
        #expect(unmapped.rules.allSatisfy { $0.interface == "gwlbe0" })
        #expect(unmapped.unmapped[catalog.routeTables[0].associations[0].id]?.contains("igw-1 maps to no interface") == true)
    }

    /// Linux refuses a change's routing: the call fails, nothing is stored, and the routing of the
    /// state before is applied again.
    @Test func aChangeLinuxRefusesChangesNothing() async throws {
        let directory = NSTemporaryDirectory() + "gwlb-plan-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let applied = Mutex<[Int]>([])
        let refuseNext = Mutex(false)
        let service = try ControlPlaneService(store: CatalogStore(directory: directory), region: "us-east-1", account: "123456789012",
                                              route: { catalog in
                                                  if refuseNext.withLock({ $0 }) && catalog.routeTables.count == 2 {
                                                      struct Refused: Error {}
                                                      throw Refused()
                                                  }
                                                  applied.withLock { $0.append(catalog.routeTables.count) }
                                              }) { _ in }
        _ = try await service.perform { catalog, context in try catalog.createRouteTable(vpcId: nil, tags: [], newID: context.newID) }
        refuseNext.withLock { $0 = true }
        await #expect { try await service.perform { catalog, context in try catalog.createRouteTable(vpcId: nil, tags: [], newID: context.newID) } }
            throws: { $0 is ControlPlaneService.RoutingFailure }
        #expect(service.read { $0.routeTables.count } == 1)
        #expect(try CatalogStore(directory: directory).load()?.routeTables.count == 1)
        #expect(applied.withLock { $0 } == [0, 1, 1], "at start, the first table, then the state before again")
    }
}
