import Catalog
import DataPlane
import Foundation
import Health
import Store
import Synchronization

/// The control plane's state and its one way of changing: an operation runs on a copy of the
/// catalog, the result is committed to the store, and only then does it become the state, and
/// the data plane gets a new snapshot. Calls are serialized; a failed one changes nothing.
public final class ControlPlaneService: Sendable {
    /// What an operation may need besides the catalog.
    public struct Context: Sendable {
        public let now: Date
        /// A fresh 16-hex-digit resource id.
        public func newID() -> String {
            var generator = SystemRandomNumberGenerator()
            return String(format: "%016llx", generator.next() as UInt64)
        }
    }

    struct State {
        var catalog: ResourceCatalog
        var compiler = SnapshotCompiler()
        var endpointSlots = EndpointSlotTable()
        var attachments: [EndpointAttachment] = []
        var health: [String: TargetHealthState] = [:]
        var healthEvents: [HealthEvent] = []
        var version: UInt64 = 0
        /// A takeover is under way: nothing changes until `thaw()` (or the process ends).
        var frozen = false
    }

    let state: Mutex<State>
    private let store: CatalogStore
    /// Checks the targets the catalog names; it checks only while something runs it (gwlbd runs
    /// it as one of its services).
    public let healthChecker: HealthChecker
    let instances: [String: String]
    private let attach: @Sendable ([EndpointAttachment]) throws -> Void
    private let route: @Sendable (ResourceCatalog) throws -> Void
    private let publish: @Sendable (ForwardingSnapshot) -> Void
    private let slotFlows: @Sendable () -> [Int64]
    /// Where the slots and health outlive this process (nil: they do not).
    private let shared: SharedFlowState?

    /// Restores the catalog from `store` (or starts an empty one for `region` and `account`),
    /// attaches its endpoints and publishes the first snapshot for the load balancer they belong to.
    /// - Parameters:
    ///   - attach: makes the endpoint devices match the list (every endpoint, by slot); called
    ///     before a change of endpoints is committed, so a device that cannot be made fails the call.
    ///   - route: makes Linux's policy routing match the catalog's route tables (`RoutingPlan`);
    ///     called after `attach` and before a change of route tables or endpoints is committed.
    ///   - slotFlows: the data plane's live flows per target slot (a slot of a target that left is
    ///     reused only when none is left).
    ///   - dataPathProbe: sends a probe through a target in GENEVE, for target groups with
    ///     `health_check.data_path.enabled`.
    ///   - shared: the data plane's shared flow state: the target and endpoint slots and the
    ///     targets' health are kept in its control record and resumed from it, so that a restarted
    ///     gwlbd's snapshots name the same slots its taken-over flows do.
    public init(store: CatalogStore, region: String, account: String, instances: [String: String] = [:],
                targetSlots: Int = 1024,
                attach: @escaping @Sendable ([EndpointAttachment]) throws -> Void = { _ in },
                route: @escaping @Sendable (ResourceCatalog) throws -> Void = { _ in },
                slotFlows: @escaping @Sendable () -> [Int64] = { [] },
                dataPathProbe: HealthChecker.DataPathProbe? = nil, shared: SharedFlowState? = nil,
                publish: @escaping @Sendable (ForwardingSnapshot) -> Void) throws {
        self.store = store
        self.instances = instances
        self.attach = attach
        self.route = route
        self.publish = publish
        self.slotFlows = slotFlows
        self.shared = shared
        let forwarder = HealthReportForwarder()
        healthChecker = HealthChecker(dataPathProbe: dataPathProbe) { target, health in forwarder.forward(target, health) }
        var compiler = SnapshotCompiler()
        compiler.slots = TargetSlotTable(capacity: targetSlots)
        var initial = State(catalog: try store.load() ?? ResourceCatalog(region: region, account: account), compiler: compiler)
        if let resumed = ResumableState(record: shared?.readControlRecord()) {
            initial.compiler.slots = resumed.targetSlotTable(capacity: targetSlots)
            initial.endpointSlots = resumed.endpointSlotTable
            initial.health = resumed.targetHealth
        }
        state = Mutex(initial)
        try state.withLock { state in
            state.attachments = try state.endpointSlots.update(state.catalog.activeEndpoints, now: Self.monotonicSeconds())
            try attach(state.attachments)
            try route(state.catalog)
            try republish(&state)
        }
        forwarder.service.withLock { $0 = WeakService(self) }
    }

    /// Runs `operation` and commits its result before returning it.
    public func perform<Result: Sendable>(_ operation: (inout ResourceCatalog, Context) throws -> Result) throws -> Result {
        try state.withLock { state in
            var catalog = state.catalog
            let result = try operation(&catalog, Context(now: Date()))
            guard catalog != state.catalog else { return result }
            guard !state.frozen else { throw Self.frozenError }
            // The data plane must be able to take the change before it is stored: a change the
            // snapshot cannot hold (no target slot left) is refused and changes nothing.
            var trial = state.compiler
            var trialSlots = state.endpointSlots
            do {
                _ = try compile(catalog, attachments: trialSlots.update(catalog.activeEndpoints, now: Self.monotonicSeconds()), compiler: &trial,
                                health: state.health, version: state.version + 1)
            } catch let exhausted as SlotsExhausted {
                throw ELBError(.tooManyTargets, "No target slot is free: \(exhausted). A slot of a target that left is reused once no flow uses it any more; try again later or deregister targets")
            }
            // Devices first (routes point into them), then routing, then the store; a step that
            // fails puts the earlier ones back.
            let devicesChange = catalog.activeEndpoints != state.catalog.activeEndpoints
            // Endpoints matter to routing only where a route table names them.
            let routingChange = catalog.routeTables != state.catalog.routeTables
                || (!catalog.routeTables.isEmpty && catalog.endpoints != state.catalog.endpoints)
            var slots = state.endpointSlots, attachments = state.attachments
            if devicesChange {
                attachments = try slots.update(catalog.activeEndpoints, now: Self.monotonicSeconds())
                do { try attach(attachments) } catch {
                    try? attach(state.attachments)
                    throw ELBError(.invalidConfigurationRequest, "Cannot attach the endpoint: \(error)")
                }
            }
            let (previousCatalog, previousAttachments) = (state.catalog, state.attachments)
            let undo = {
                if routingChange { try? self.route(previousCatalog) }
                if devicesChange { try? self.attach(previousAttachments) }
            }
            if routingChange {
                do { try route(catalog) } catch {
                    undo()
                    throw RoutingFailure(description: "\(error)")
                }
            }
            do { try store.save(catalog) } catch {
                undo()
                throw error
            }
            (state.endpointSlots, state.attachments) = (slots, attachments)
            state.catalog = catalog
            try republish(&state)
            return result
        }
    }

    /// Linux refused the routing a change implies; nothing was changed.
    public struct RoutingFailure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Makes Linux's routing match the catalog again (after a device was re-created, or on an
    /// operator's request when routes drifted).
    public func reapplyRouting() throws {
        try state.withLock { state in try route(state.catalog) }
    }

    static let frozenError = ELBError(.serviceUnavailable, "gwlbd is handing over to a new gwlbd (an upgrade); no change was made: try again in a moment")

    /// Stops every change for a takeover: a call that would change something fails with
    /// `ServiceUnavailable` (AWS's SDKs, the aws CLI and `gwlb` retry it), health reports and
    /// draining steps are not applied. Returns once a change in progress has finished, so the
    /// store and the shared control record hold everything this process acknowledged.
    public func freeze() { state.withLock { $0.frozen = true } }

    /// Changes apply again (a takeover that did not complete).
    public func thaw() { state.withLock { $0.frozen = false } }

    /// What the health checker last found for each target (by `healthKey`).
    public var health: [String: TargetHealthState] { state.withLock { $0.health } }

    /// The most recent health changes, oldest first (at most `healthEventCapacity`).
    public var healthEvents: [HealthEvent] { state.withLock { $0.healthEvents } }
    public static let healthEventCapacity = 100

    /// Reads the current state.
    public func read<Result>(_ body: (ResourceCatalog) throws -> Result) rethrows -> Result {
        let catalog = state.withLock { $0.catalog }
        return try body(catalog)
    }

    /// The key of a target's health: the same appliance in two target groups is checked by each
    /// group's own health check.
    public static func healthKey(group: ARN, target: String) -> String { group.description + " " + target }

    static func splitHealthKey(_ key: String) -> (group: String, target: String) {
        let parts = key.split(separator: " ", maxSplits: 1)
        return parts.count == 2 ? (String(parts[0]), String(parts[1])) : ("", key)
    }

    /// A target's health changed (from the health checker), by `healthKey`.
    public func recordHealth(target: String, _ health: TargetHealthState) throws {
        try state.withLock { state in
            guard !state.frozen, state.health[target] != health, healthChecker.states[target] != nil else { return }
            let (group, id) = Self.splitHealthKey(target)
            state.healthEvents.append(HealthEvent(time: Date(), targetGroup: group, target: id, from: state.health[target], to: health))
            if state.healthEvents.count > Self.healthEventCapacity { state.healthEvents.removeFirst() }
            state.health[target] = health
            try republish(&state)
        }
    }

    /// Periodic work: targets whose deregistration delay has passed leave their group (a change,
    /// so the data plane gets a new snapshot; nothing is recompiled when nothing changed).
    public func tick(now: Date = Date()) throws {
        guard !(state.withLock { $0.frozen }) else { return }
        _ = try perform { catalog, _ in catalog.removeDrained(now: now) }
    }

    private func republish(_ state: inout State) throws {
        healthChecker.update(healthCheckTargets(state.catalog), resuming: state.health)
        // Forget the health of targets no longer checked: re-registered ones start from initial.
        let checked = healthChecker.states
        state.health = state.health.filter { checked[$0.key] != nil }
        state.version += 1
        publish(try compile(state.catalog, attachments: state.attachments, compiler: &state.compiler, health: state.health, version: state.version))
        if let shared {
            shared.writeControlRecord(ResumableState(targets: state.compiler.slots, endpoints: state.endpointSlots, health: state.health).record)
        }
    }

    private func compile(_ catalog: ResourceCatalog, attachments: [EndpointAttachment], compiler: inout SnapshotCompiler,
                         health: [String: TargetHealthState], version: UInt64) throws -> ForwardingSnapshot {
        try compiler.compile(catalog, endpoints: attachments, health: health.mapValues(\.state), instances: instances, slotFlows: slotFlows(), now: Date(),
                             monotonicSeconds: Self.monotonicSeconds(),
                             version: version)
    }

    /// The snapshot the data plane would get if `operation` ran on the catalog: nothing is
    /// committed or published, and slots assigned for it are not kept.
    public func previewSnapshot(_ operation: (inout ResourceCatalog, Context) throws -> Void) throws -> ForwardingSnapshot {
        try state.withLock { state in
            var catalog = state.catalog
            try operation(&catalog, Context(now: Date()))
            var compiler = state.compiler
            return try compile(catalog, attachments: state.attachments, compiler: &compiler, health: state.health, version: state.version + 1)
        }
    }

    /// Target slots of the data plane's counters and snapshots: how many exist, how many hold a
    /// registered target, and how many wait for their flows to end after their target left.
    public var targetSlots: (capacity: Int, current: Int, retired: Int) {
        state.withLock { state in
            let slots = state.compiler.slots
            return (slots.capacity, slots.peers.compactMap { $0 }.count - slots.retired.count, slots.retired.count)
        }
    }

    /// The targets the served load balancers' target groups check: registered, not draining.
    private func healthCheckTargets(_ catalog: ResourceCatalog) -> [HealthChecker.Target] {
        catalog.servedLoadBalancers.flatMap { balancer -> [HealthChecker.Target] in
            guard let listener = catalog.listeners.first(where: { $0.loadBalancerArn == balancer }),
                  let group = catalog.targetGroups.first(where: { $0.arn == listener.targetGroupArn }) else { return [] }
            return healthCheckTargets(group)
        }
    }

    private func healthCheckTargets(_ group: TargetGroup) -> [HealthChecker.Target] {
        let check = group.healthCheck
        let codes = HealthCheck.codes(check.effectiveMatcher) ?? Set(200...399)
        let kind: Probe.Kind = switch check.healthProtocol {
        case .tcp: .tcp
        case .https: .https(path: check.effectivePath, codes: codes)
        case .http: .http(path: check.effectivePath, codes: codes)
        }
        return group.targets.filter { $0.deregisteredTime == nil }.map { target in
            let address = group.targetType == "instance" ? instances[target.id] ?? target.id : target.id
            return HealthChecker.Target(id: Self.healthKey(group: group.arn, target: target.id), address: address, port: Int(check.port) ?? target.port, kind: kind,
                                        intervalSeconds: check.intervalSeconds, timeoutSeconds: check.timeoutSeconds,
                                        healthyThreshold: check.healthyThreshold, unhealthyThreshold: check.unhealthyThreshold,
                                        dataPath: group.attributes.bool("health_check.data_path.enabled"))
        }
    }

    static func monotonicSeconds() -> UInt64 { UInt64(DataPlaneTime.now().seconds) }
}

/// Passes health reports to the service once it exists (the checker is made before it).
private final class HealthReportForwarder: Sendable {
    let service = Mutex<WeakService?>(nil)

    func forward(_ target: String, _ health: TargetHealthState) {
        guard let service = self.service.withLock({ $0?.value }) else { return }
        try? service.recordHealth(target: target, health)
    }
}

private struct WeakService: @unchecked Sendable {
    // @unchecked: a weak reference to a Sendable class, read under the forwarder's lock.
    weak var value: ControlPlaneService?
    init(_ value: ControlPlaneService) { self.value = value }
}
