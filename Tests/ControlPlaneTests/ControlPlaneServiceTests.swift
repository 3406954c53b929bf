import Catalog
import DataPlane
import Flows
import Foundation
import Health
import Store
import Synchronization
import Testing
@testable import ControlPlane

@Suite struct ControlPlaneServiceTests {
    final class Published: Sendable {
        let snapshots = Mutex<[ForwardingSnapshot]>([])
        var last: ForwardingSnapshot? { snapshots.withLock { $0.last } }
        var count: Int { snapshots.withLock { $0.count } }
    }

    let directory = NSTemporaryDirectory() + "gwlb-cp-\(UUID().uuidString)"
    func service(_ published: Published, targetSlots: Int = 1024,
                 attach: @escaping @Sendable ([EndpointAttachment]) throws -> Void = { _ in }) throws -> ControlPlaneService {
        try ControlPlaneService(store: CatalogStore(directory: directory), region: "eu-west-1", account: "111122223333",
                                targetSlots: targetSlots, attach: attach) { snapshot in published.snapshots.withLock { $0.append(snapshot) } }
    }

    /// A deleted endpoint's slot is not given to a new endpoint while flows of the old one may
    /// live (with the same ids, their returns would enter the new device): with every slot used
    /// once, a new endpoint is refused with TooManyEndpoints and nothing changes.
    @Test func aDeletedEndpointsSlotIsHeldForItsFlows() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let published = Published()
        let service = try service(published)
        let first = try await service.perform { catalog, context in
            let lb = try catalog.createLoadBalancer(name: "lb", type: "gateway", subnets: [], ipAddressType: nil, tags: [], id: context.newID(), now: context.now)
            var ids: [String] = []
            for number in 1...Limits.endpoints {
                ids.append(try catalog.createEndpoint(loadBalancer: lb.arn, interface: "e\(number)", endpointId: nil, attachmentId: nil,
                                                      newID: context.newID, now: context.now).id)
            }
            return (lb.arn, ids[0])
        }
        let all = service.read { $0.endpoints }
        _ = try await service.perform { catalog, _ in catalog.deleteEndpoint(first.1) }
        let before = service.read { $0 }
        await #expect {
            try await service.perform { catalog, context in
                _ = try catalog.createEndpoint(loadBalancer: first.0, interface: "again", endpointId: nil, attachmentId: nil,
                                               newID: context.newID, now: context.now)
            }
        } throws: { ($0 as? ELBError)?.code == .tooManyEndpoints }
        #expect(service.read { $0 } == before, "nothing of the refused call was kept")
        // The table alone, on a manual clock: the held slot is given again once the delay passed.
        var copy = before
        let newcomer = try copy.createEndpoint(loadBalancer: first.0, interface: "again", endpointId: nil, attachmentId: nil,
                                               newID: { "00000000000abcde" }, now: Date())
        var table = EndpointSlotTable()
        _ = try table.update(all, now: 0)
        _ = try table.update(Array(all.dropFirst()), now: 10)
        #expect(throws: ELBError.self) { _ = try table.update(Array(all.dropFirst()) + [newcomer], now: 10 + EndpointSlotTable.reuseDelay - 1) }
        let attachments = try table.update(Array(all.dropFirst()) + [newcomer], now: 10 + EndpointSlotTable.reuseDelay)
        #expect(attachments.last?.slot == 0)
    }

    /// With every target slot taken (two targets left less than the reuse delay ago, two are
    /// current), registering a fifth is refused with AWS's TooManyTargets and changes nothing, in
    /// memory or in the store; calls that need no new slot still work.
    @Test func aChangeTheDataPlaneCannotTakeIsRefusedBeforeItIsStored() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let published = Published()
        let service = try service(published, targetSlots: 4)
        let group = try await gettingStarted(service)
        _ = try await service.perform { catalog, _ in try catalog.modifyTargetGroupAttributes(group, [("deregistration_delay.timeout_seconds", "0")]) }
        _ = try await service.perform { catalog, context in try catalog.deregisterTargets(group, ["198.18.1.11", "198.18.1.12"], now: context.now) }
        try await service.tick(now: Date().addingTimeInterval(1))
        _ = try await service.perform { catalog, context in try catalog.registerTargets(group, [("198.18.1.13", nil), ("198.18.1.14", nil)], now: context.now) }
        #expect(service.targetSlots == (4, 2, 2))
        let before = (published.count, service.read { $0 }, try CatalogStore(directory: directory).load())
        await #expect {
            try await service.perform { catalog, context in try catalog.registerTargets(group, [("198.18.1.15", nil)], now: context.now) }
        } throws: { ($0 as? ELBError)?.code == .tooManyTargets }
        #expect(service.read { $0 } == before.1)
        #expect(try CatalogStore(directory: directory).load() == before.2, "nothing of the refused call was stored")
        #expect(published.count == before.0)
        // Tags need no slot: still accepted and published.
        try await service.perform { catalog, _ in try catalog.addTags([group], [Tag(key: "team", value: "net")]) }
        #expect(published.count == before.0 + 1)
    }

    func gettingStarted(_ service: ControlPlaneService) async throws -> ARN {
        try await service.perform { catalog, context in
            let lb = try catalog.createLoadBalancer(name: "lb", type: "gateway", subnets: [], ipAddressType: nil, tags: [], id: context.newID(), now: context.now)
            let tg = try catalog.createTargetGroup(name: "tg", protocol: "GENEVE", port: 6081, vpcId: nil, targetType: "ip",
                                                   healthCheck: HealthCheck(), tags: [], id: context.newID())
            try catalog.registerTargets(tg.arn, [("198.18.1.11", nil), ("198.18.1.12", nil)], now: context.now)
            _ = try catalog.createListener(loadBalancer: lb.arn, port: nil, protocol: nil, forwardTo: tg.arn, actionType: "forward", tags: [], id: context.newID())
            _ = try catalog.createEndpoint(loadBalancer: lb.arn, interface: "gwlbe0", endpointId: "vpce-1", attachmentId: "0x2",
                                           newID: context.newID, now: context.now)
            return tg.arn
        }
    }

    @Test func changesReachTheDataPlaneAfterTheyAreStored() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let published = Published()
        let service = try service(published)
        #expect(published.last?.policies.isEmpty == true, "nothing configured yet")
        let group = try await gettingStarted(service)
        #expect(published.last?.targets.compactMap { $0?.address.description } == ["198.18.1.11", "198.18.1.12"])
        #expect(published.last?.policies.first?.selection.health == [.initial, .initial])
        try await service.recordHealth(target: ControlPlaneService.healthKey(group: group, target: "198.18.1.11"), TargetHealthState.healthy)
        #expect(published.last?.policies.first?.selection.health == [.healthy, .initial])
        #expect(try CatalogStore(directory: directory).load()?.targetGroups.first?.arn == group, "stored before acknowledged")
    }

    @Test func aFailedOperationChangesNothing() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let published = Published()
        let service = try service(published)
        let group = try await gettingStarted(service)
        let before = (published.count, service.read { $0 })
        await #expect(throws: ELBError.self) {
            try await service.perform { catalog, context in
                try catalog.registerTargets(group, [("198.18.1.13", nil)], now: context.now)
                try catalog.registerTargets(group, [("not-an-address", nil)], now: context.now)
            }
        }
        #expect(service.read { $0 } == before.1 && published.count == before.0)
        #expect(try CatalogStore(directory: directory).load() == before.1)
    }

    @Test func aRestartRestoresEverything() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = try service(Published())
        _ = try await gettingStarted(first)
        let published = Published()
        let restarted = try service(published)
        #expect(restarted.read { $0 } == first.read { $0 })
        #expect(published.last?.targets.compactMap { $0?.address.description } == ["198.18.1.11", "198.18.1.12"])
    }

    @Test func drainingEndsOnTheTick() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let published = Published()
        let service = try service(published)
        let group = try await gettingStarted(service)
        try await service.perform { catalog, context in
            _ = try catalog.modifyTargetGroupAttributes(group, [("deregistration_delay.timeout_seconds", "0")])
            try catalog.deregisterTargets(group, ["198.18.1.12"], now: context.now)
        }
        try await service.tick(now: Date().addingTimeInterval(1))
        #expect(service.read { $0.targetGroups[0].targets.map(\.id) } == ["198.18.1.11"])
        #expect(published.last?.policies.first?.selection.health(of: TargetSlot(1)) == .unused, "its flows keep their appliance")
    }

    /// Endpoints reach the daemon (which makes their devices) before they are stored, keep their
    /// slots while they exist, and a device that cannot be made fails the call and stores nothing.
    @Test func endpointsAttachBeforeTheyAreStored() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let published = Published()
        let attached = Mutex<[[EndpointAttachment]]>([])
        let refuse = Atomic<Bool>(false)
        let service = try service(published) { attachments in
            if refuse.load(ordering: .relaxed) { throw CocoaError(.fileWriteNoPermission) }
            attached.withLock { $0.append(attachments) }
        }
        _ = try await gettingStarted(service)
        let balancer = try #require(service.read { $0.servedLoadBalancers.first })
        #expect(attached.withLock { $0.last } == [EndpointAttachment(slot: 0, interface: "gwlbe0", identity: EndpointIdentity(endpointID: 1, attachmentID: 2),
                                                                     loadBalancer: balancer)])
        #expect(published.last?.endpoints == [EndpointIdentity(endpointID: 1, attachmentID: 2)])
        _ = try await service.perform { catalog, context in
            try catalog.createEndpoint(loadBalancer: balancer, interface: "gwlbe1", endpointId: "vpce-3", attachmentId: "0x4", newID: context.newID, now: context.now)
        }
        try await service.perform { catalog, _ in catalog.deleteEndpoint("vpce-1") }
        #expect(attached.withLock { $0.last }?.map(\.slot) == [1], "gwlbe1 keeps slot 1")
        #expect(published.last?.endpoints == [nil, EndpointIdentity(endpointID: 3, attachmentID: 4)])

        refuse.store(true, ordering: .relaxed)
        let error = await #expect(throws: ELBError.self) {
            _ = try await service.perform { catalog, context in
                try catalog.createEndpoint(loadBalancer: balancer, interface: "gwlbe2", endpointId: nil, attachmentId: nil, newID: context.newID, now: context.now)
            }
        }
        #expect(error?.code == .invalidConfigurationRequest)
        #expect(try CatalogStore(directory: directory).load()?.endpoints.map(\.interface) == ["gwlbe1"], "nothing stored")
        #expect(service.read { $0.endpoints.map(\.interface) } == ["gwlbe1"])
    }

    /// An instance target group: the service resolves instance ids through its map, for the data
    /// plane and for the health checks.
    @Test func instanceTargetsForwardToTheirAddresses() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let published = Published()
        let service = try ControlPlaneService(store: CatalogStore(directory: directory), region: "eu-west-1", account: "111122223333",
                                              instances: ["i-0123456789abcdef0": "198.18.1.21"]) { snapshot in
            published.snapshots.withLock { $0.append(snapshot) }
        }
        try await service.perform { catalog, context in
            let lb = try catalog.createLoadBalancer(name: "lb", type: "gateway", subnets: [], ipAddressType: nil, tags: [], id: context.newID(), now: context.now)
            let tg = try catalog.createTargetGroup(name: "tg", protocol: "GENEVE", port: 6081, vpcId: nil, targetType: "instance",
                                                   healthCheck: HealthCheck(), tags: [], id: context.newID())
            try catalog.registerTargets(tg.arn, [("i-0123456789abcdef0", nil)], instances: ["i-0123456789abcdef0": "198.18.1.21"], now: context.now)
            _ = try catalog.createListener(loadBalancer: lb.arn, port: nil, protocol: nil, forwardTo: tg.arn, actionType: "forward", tags: [], id: context.newID())
            _ = try catalog.createEndpoint(loadBalancer: lb.arn, interface: "gwlbe0", endpointId: nil, attachmentId: nil, newID: context.newID, now: context.now)
        }
        #expect(published.last?.targets.compactMap { $0?.address.description } == ["198.18.1.21"])
        let group = try #require(service.servedBalancers.first?.group)
        #expect(try service.targets(of: group).map(\.address) == ["198.18.1.21"])
    }
}

extension ControlPlaneServiceTests {
    /// While a takeover is under way nothing changes: a change is refused with
    /// ServiceUnavailable and leaves the catalog, the store and the snapshots as they were; a call
    /// that changes nothing still succeeds; health reports wait. After `thaw()` all apply again.
    @Test func aFrozenControlPlaneRefusesChangesAndKeepsEverything() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let published = Published()
        let service = try service(published)
        func createGroup(_ name: String) async throws {
            _ = try await service.perform { catalog, context in
                try catalog.createTargetGroup(name: name, protocol: "GENEVE", port: 6081, vpcId: nil, targetType: "ip",
                                              healthCheck: HealthCheck(), tags: [], id: context.newID())
            }
        }
        try await createGroup("before")
        let catalog = service.read { $0 }, snapshots = published.count
        service.freeze()
        await #expect { try await createGroup("during") } throws: { ($0 as? ELBError)?.code == .serviceUnavailable }
        #expect(service.read { $0 } == catalog && published.count == snapshots, "nothing of the refused call was kept")
        try await createGroup("before")   // the same group again: no change, answered as AWS does
        #expect(try CatalogStore(directory: directory).load() == catalog, "the store holds what was acknowledged, nothing more")
        service.thaw()
        try await createGroup("during")
        #expect(service.read { $0.targetGroups.map(\.name) }.sorted() == ["before", "during"])
    }
}
