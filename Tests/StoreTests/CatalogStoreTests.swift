import Catalog
import Foundation
import Testing
@testable import Store

/// The store in a temporary directory of its own: a real SQLite file.
@Suite struct CatalogStoreTests {
    let directory = NSTemporaryDirectory() + "gwlb-store-\(UUID().uuidString)"
    let now = Date(timeIntervalSinceReferenceDate: 800_000_000.123456)

    func sampleCatalog() throws -> ResourceCatalog {
        var catalog = ResourceCatalog(region: "eu-west-1", account: "111122223333")
        let lb = try catalog.createLoadBalancer(name: "lb", type: "gateway", subnets: ["s-1", "s-2"], ipAddressType: "dualstack",
                                                tags: [Tag(key: "team", value: "net")], id: "0000000000000001", now: now)
        var check = HealthCheck()
        check.healthProtocol = .http
        check.path = "/healthz"
        check.matcher = "200,204"
        let tg = try catalog.createTargetGroup(name: "tg", protocol: "GENEVE", port: 6081, vpcId: "vpc-1", targetType: "ip",
                                               healthCheck: check, tags: [], id: "0000000000000002")
        try catalog.registerTargets(tg.arn, [("198.18.1.11", nil), ("198.18.1.12", nil)], now: now)
        try catalog.deregisterTargets(tg.arn, ["198.18.1.12"], now: now.addingTimeInterval(5))
        _ = try catalog.modifyTargetGroupAttributes(tg.arn, [("deregistration_delay.timeout_seconds", "30")])
        let listener = try catalog.createListener(loadBalancer: lb.arn, port: nil, protocol: nil, forwardTo: tg.arn,
                                                  actionType: "forward", tags: [], id: "0000000000000003")
        _ = try catalog.modifyListenerAttributes(listener.arn, [("tcp.idle_timeout.seconds", "600")])
        _ = try catalog.createEndpoint(loadBalancer: lb.arn, interface: "gwlbe0", endpointId: "vpce-0123456789abcdef0", attachmentId: nil,
                                       newID: { "00000000000000aa" }, now: now)
        _ = try catalog.modifyLoadBalancerAttributes(lb.arn, [("deletion_protection.enabled", "true")])
        return catalog
    }

    @Test func emptyStoreHasNoCatalog() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(try CatalogStore(directory: directory).load() == nil)
    }

    @Test func whatIsSavedIsWhatLoads() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let catalog = try sampleCatalog()
        try CatalogStore(directory: directory).save(catalog)
        // A new store on the same file: as after a restart.
        let loaded = try #require(try CatalogStore(directory: directory).load())
        #expect(loaded == catalog)
        #expect(loaded.targetGroups[0].targets[1].deregisteredTime == now.addingTimeInterval(5))
        #expect(loaded.endpoints.map(\.interface) == ["gwlbe0"])
        #expect(loaded.endpoints.first?.attachmentNumber == 0xaa)
    }

    /// Endpoint services, VPC endpoints' EC2 details (a pending one too) and route tables with
    /// their associations and routes come back as they were saved.
    @Test func ec2ResourcesSurviveARestart() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var catalog = ResourceCatalog(region: "eu-west-1", account: "111122223333")
        let lb = try catalog.createLoadBalancer(name: "lb", type: "gateway", subnets: [], ipAddressType: nil, tags: [], id: "0000000000000001", now: now)
        let service = try catalog.createEndpointService(loadBalancerArns: [lb.arn.description], acceptanceRequired: true,
                                                        tags: [Tag(key: "team", value: "net")], newID: { "00000000000000a1" }, now: now)
        let endpoint = try catalog.createVpcEndpoint(type: "GatewayLoadBalancer", serviceName: service.name, subnetIds: ["subnet-1"], vpcId: "vpc-1",
                                                     tags: [Tag(key: "gwlb:interface", value: "gwlbe3")], newID: { "00000000000000b1" }, now: now)
        let table = try catalog.createRouteTable(vpcId: "vpc-1", tags: [], newID: { "00000000000000c1" })
        _ = try catalog.associateRouteTable(table.id, subnetId: nil, gatewayId: "igw-1", interface: { _ in "uplink" }, newID: { "00000000000000d1" })
        try catalog.createRoute(table.id, destination: ("198.18.20.0/24", false), endpointId: endpoint.id)
        try catalog.createRoute(table.id, destination: ("fd00:20::/64", true), endpointId: nil)
        try CatalogStore(directory: directory).save(catalog)
        let loaded = try #require(try CatalogStore(directory: directory).load())
        #expect(loaded == catalog)
        #expect(loaded.endpoints.first?.vpc?.pendingAcceptance == true && loaded.activeEndpoints.isEmpty)
        #expect(loaded.routeTables.first?.routes.count == 2 && loaded.routeTables.first?.associations.first?.gatewayId == "igw-1")
    }

    @Test func savesReplaceTheWholeState() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try CatalogStore(directory: directory)
        var catalog = try sampleCatalog()
        try store.save(catalog)
        _ = try catalog.modifyLoadBalancerAttributes(catalog.loadBalancers[0].arn, [("deletion_protection.enabled", "false")])
        catalog.deleteEndpoint(catalog.endpoints[0].id)
        try catalog.deleteLoadBalancer(catalog.loadBalancers[0].arn)
        try store.save(catalog)
        let loaded = try #require(try store.load())
        #expect(loaded == catalog && loaded.loadBalancers.isEmpty && loaded.listeners.isEmpty && loaded.endpoints.isEmpty && loaded.targetGroups.count == 1)
    }

    /// A save that cannot complete changes nothing: here a listener whose target group is missing
    /// breaks a foreign key in the middle of the transaction.
    @Test func aFailedSaveLeavesThePreviousState() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try CatalogStore(directory: directory)
        let catalog = try sampleCatalog()
        try store.save(catalog)
        let broken = ResourceCatalog(region: catalog.region, account: catalog.account, loadBalancers: catalog.loadBalancers,
                                     listeners: catalog.listeners, targetGroups: [])
        #expect(throws: (any Error).self) { try store.save(broken) }
        #expect(try store.load() == catalog)
    }

    @Test func usesWriteAheadLogging() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try CatalogStore(directory: directory)
        try store.save(try sampleCatalog())
        #expect(FileManager.default.fileExists(atPath: store.path + "-wal"))
    }
}
