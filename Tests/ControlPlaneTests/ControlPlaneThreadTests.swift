import Catalog
import DataPlane
import Foundation
import Store
import Synchronization
import Testing
@testable import ControlPlane

/// A change's blocking work (devices, routes, the store's fsync, the snapshot's publication) runs
/// on the control plane's own thread, never on one of Swift's shared threads, and readers never
/// wait for it.
@Suite struct ControlPlaneThreadTests {
    let directory = NSTemporaryDirectory() + "gwlb-thread-\(UUID().uuidString)"

    @Test func aChangesWorkRunsOnTheControlPlanesThread() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let places = Mutex<[String: Bool]>([:])
        let service = try ControlPlaneService(store: CatalogStore(directory: directory), region: "us-east-1", account: "123456789012",
                                              route: { _ in places.withLock { $0["route"] = ControlPlaneExecutor.isCurrent } },
                                              publish: { _ in places.withLock { $0["publish", default: true] = ControlPlaneExecutor.isCurrent } })
        places.withLock { $0 = [:] }  // the first snapshot is published by the initializer, on the caller's thread
        try await service.perform { catalog, context in _ = try catalog.createRouteTable(vpcId: nil, tags: [], newID: context.newID) }
        #expect(places.withLock { $0 } == ["route": true, "publish": true])
        #expect(!ControlPlaneExecutor.isCurrent, "the test itself runs elsewhere")
    }

    /// A change stuck in Linux (here: routing that does not return) holds up no reader: the
    /// API's describe calls, the stream and the metrics read the last committed state.
    @Test func readersDoNotWaitForAChangeInProgress() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // The change waits on the control plane's thread; the test waits without holding one of
        // Swift's shared threads, which the change's task needs to start.
        let routing = Atomic<Bool>(false), release = DispatchSemaphore(value: 0)
        let service = try ControlPlaneService(store: CatalogStore(directory: directory), region: "us-east-1", account: "123456789012",
                                              route: { catalog in
                                                  guard !catalog.routeTables.isEmpty else { return }
                                                  routing.store(true, ordering: .releasing)
                                                  release.wait()
                                              }, publish: { _ in })
        let change = Task {
            try await service.perform { catalog, context in _ = try catalog.createRouteTable(vpcId: nil, tags: [], newID: context.newID) }
        }
        // Generous: the change's task waits for one of Swift's shared threads, which the rest of
        // the suite can hold for seconds on a busy CI machine.
        let deadline = ContinuousClock.now + .seconds(60)
        while !routing.load(ordering: .acquiring), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        let reached = routing.load(ordering: .acquiring)
        #expect(reached, "the change reached Linux's routing")
        let answered = await withTaskGroup(of: Int?.self) { group in
            group.addTask { service.read { $0.routeTables.count } + service.health.count + service.targetSlots.current }
            group.addTask {
                // A reader that waits for the change would wait for ever: let the change go on.
                if (try? await Task.sleep(for: .seconds(2))) != nil { release.signal() }
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        #expect(answered == 0, "a reader answered at once, with the state before the change")
        release.signal()
        try await change.value
        #expect(service.read { $0.routeTables.count } == 1, "and sees the change once it is committed")
    }
}
