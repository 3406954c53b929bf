import Catalog
import DataPlane
import Flows
import Foundation
import Health
import Store
import Synchronization

/// The control plane's state and its one way of changing: an operation runs on a copy of the
/// catalog, the result is committed to the store, and only then does it become the state, and
/// the data plane gets a new snapshot. Changes are serialized by the actor; a failed one changes
/// nothing.
///
/// The actor runs on a thread of its own (`ControlPlaneExecutor`): a change's work blocks (the
/// store's fsync, devices, routes), and must neither hold one of Swift's shared threads nor a
/// lock anyone else waits for. Readers never wait for a change: they read `view`, which a change
/// replaces once it is committed.
public actor ControlPlaneService {
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
        /// The targets' health the data plane and the API use: this node's checks alone, or in a
        /// cluster their consensus with the other live nodes' (`HealthConsensus`).
        var health: [String: TargetHealthState] = [:]
        /// What this node's own checks found.
        var localHealth: [String: TargetHealthState] = [:]
        /// The other live nodes' views (by node), and how many nodes are alive (this one included).
        var peerHealth: [String: [String: TargetHealthState]] = [:]
        var liveNodes = 1
        var healthEvents: [HealthEvent] = []
        var version: UInt64 = 0
    }

    /// What readers see: the last committed state, replaced whole after each change.
    struct View: Sendable {
        var catalog: ResourceCatalog
        var health: [String: TargetHealthState]
        var healthEvents: [HealthEvent]
        var targetSlots: TargetSlotTable
        var localHealth: [String: TargetHealthState]
        var peerHealth: [String: [String: TargetHealthState]]
    }

    var state: State
    let view: Mutex<View>
    /// A takeover is under way: nothing changes until `thaw()` (or the process ends).
    private let frozen = Atomic<Bool>(false)
    private nonisolated let executor = ControlPlaneExecutor()
    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    let store: any CatalogStorage
    /// Checks the targets the catalog names; it checks only while something runs it (gwlbd runs
    /// it as one of its services).
    public nonisolated let healthChecker: HealthChecker
    nonisolated let instances: [String: String]
    let attach: @Sendable ([EndpointAttachment]) throws -> Void
    let route: @Sendable (ResourceCatalog) throws -> Void
    private let output: Output

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
    public init(store: any CatalogStorage, region: String, account: String, instances: [String: String] = [:],
                targetSlots: Int = 1024,
                attach: @escaping @Sendable ([EndpointAttachment]) throws -> Void = { _ in },
                route: @escaping @Sendable (ResourceCatalog) throws -> Void = { _ in },
                slotFlows: @escaping @Sendable () -> [Int64] = { [] },
                dataPathProbe: HealthChecker.DataPathProbe? = nil, shared: SharedFlowState? = nil,
                publish: @escaping @Sendable (ForwardingSnapshot) -> Void) throws {
        let forwarder = HealthReportForwarder()
        let healthChecker = HealthChecker(dataPathProbe: dataPathProbe) { target, health in await forwarder.forward(target, health) }
        let output = Output(healthChecker: healthChecker, instances: instances, slotFlows: slotFlows, publish: publish, shared: shared)
        var compiler = SnapshotCompiler()
        compiler.slots = TargetSlotTable(capacity: targetSlots)
        if let secret = try store.sharedSecret(Self.clusterCookieSecret, make: ClusterCookie.newSecret) {
            guard let cookie = ClusterCookie(secret: secret) else {
                throw StoreError(description: "the cluster's \(Self.clusterCookieSecret) secret is not 32 hex digits")
            }
            compiler.clusterCookie = cookie
        }
        var initial = State(catalog: try store.load() ?? ResourceCatalog(region: region, account: account), compiler: compiler)
        if let resumed = ResumableState(record: shared?.readControlRecord()) {
            initial.compiler.slots = resumed.targetSlotTable(capacity: targetSlots)
            initial.endpointSlots = resumed.endpointSlotTable
            initial.localHealth = resumed.targetHealth
        }
        initial.attachments = try initial.endpointSlots.update(initial.catalog.activeEndpoints, now: Self.monotonicSeconds())
        try attach(initial.attachments)
        try route(initial.catalog)
        try output.republish(&initial)
        (self.store, self.instances, self.attach, self.route, self.output, self.healthChecker) = (store, instances, attach, route, output, healthChecker)
        state = initial
        view = Mutex(Self.view(of: initial))
        forwarder.service.withLock { $0 = WeakService(self) }
    }

    /// Runs `operation` and commits its result before returning it. In a cluster, when another
    /// node committed a change first, the operation runs again on the catalog with that change (so
    /// it gets the answer it would have got on that node: a name taken, a limit reached).
    public func perform<Result: Sendable>(_ operation: @Sendable (inout ResourceCatalog, Context) throws -> Result) throws -> Result {
        for attempt in 1...Self.attemptsAgainstOtherNodes {
            do { return try self.attempt(operation) } catch is CatalogChangedElsewhere {
                // Another node keeps committing: a random pause, growing, lets this one's turn come.
                if attempt > 1 { usleep(UInt32.random(in: 0...UInt32(attempt) * 5_000)) }
                try refresh()
            }
        }
        throw ELBError(.serviceUnavailable, "Other gwlbd nodes kept changing the configuration while this change was tried \(Self.attemptsAgainstOtherNodes) times; nothing was changed: try again")
    }

    static let attemptsAgainstOtherNodes = 10
    /// The name of the key of the cluster's flow cookies among the cluster's shared secrets.
    static let clusterCookieSecret = "flow-cookie"

    private func attempt<Result: Sendable>(_ operation: @Sendable (inout ResourceCatalog, Context) throws -> Result) throws -> Result {
        var catalog = state.catalog
        let result = try operation(&catalog, Context(now: Date()))
        guard catalog != state.catalog else { return result }
        guard !frozen.load(ordering: .acquiring) else { throw Self.frozenError }
        // The data plane must be able to take the change before it is stored: a change the
        // snapshot cannot hold (no target slot left) is refused and changes nothing.
        var trial = state.compiler
        var trialSlots = state.endpointSlots
        do {
            _ = try output.compile(catalog, attachments: trialSlots.update(catalog.activeEndpoints, now: Self.monotonicSeconds()), compiler: &trial,
                                   health: state.health, version: state.version + 1)
        } catch let exhausted as SlotsExhausted {
            throw ELBError(.tooManyTargets, "No target slot is free: \(exhausted). A slot of a target that left is reused once no flow uses it any more; try again later or deregister targets")
        }
        // Devices first (routes point into them), then routing, then the store; a step that
        // fails puts the earlier ones back.
        let (devicesChange, routingChange) = changes(to: catalog)
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
        try republish()
        return result
    }

    /// Whether going to `catalog` changes the endpoint devices, and Linux's routing.
    func changes(to catalog: ResourceCatalog) -> (devices: Bool, routing: Bool) {
        // Endpoints matter to routing only where a route table names them.
        (catalog.activeEndpoints != state.catalog.activeEndpoints,
         catalog.routeTables != state.catalog.routeTables || (!catalog.routeTables.isEmpty && catalog.endpoints != state.catalog.endpoints))
    }

    /// Linux refused the routing a change implies; nothing was changed.
    public struct RoutingFailure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Makes Linux's routing match the catalog again (after a device was re-created, or on an
    /// operator's request when routes drifted).
    public func reapplyRouting() throws {
        try route(state.catalog)
    }

    static let frozenError = ELBError(.serviceUnavailable, "gwlbd is handing over to a new gwlbd (an upgrade); no change was made: try again in a moment")

    /// Stops every change for a takeover: a call that would change something fails with
    /// `ServiceUnavailable` (AWS's SDKs, the aws CLI and `gwlb` retry it), health reports and
    /// draining steps are not applied. Returns once a change in progress has finished, so the
    /// store and the shared control record hold everything this process acknowledged. Blocks
    /// the calling thread (the takeover's own) for that: call it from no task.
    public nonisolated func freeze() {
        frozen.store(true, ordering: .releasing)
        // A change is one job of the actor's serial executor: once the executor has run what it
        // was given before now, no change that missed the flag is left.
        executor.waitForQueuedJobs()
    }

    nonisolated var isFrozen: Bool { frozen.load(ordering: .acquiring) }

    /// Changes apply again (a takeover that did not complete).
    public nonisolated func thaw() { frozen.store(false, ordering: .releasing) }

    /// What the health checker last found for each target (by `healthKey`).
    public nonisolated var health: [String: TargetHealthState] { view.withLock { $0.health } }

    /// The most recent health changes, oldest first (at most `healthEventCapacity`).
    public nonisolated var healthEvents: [HealthEvent] { view.withLock { $0.healthEvents } }
    public static let healthEventCapacity = 100

    /// Reads the last committed state; never waits for a change in progress.
    public nonisolated func read<Result>(_ body: (ResourceCatalog) throws -> Result) rethrows -> Result {
        let catalog = view.withLock { $0.catalog }
        return try body(catalog)
    }

    /// The key of a target's health: the same appliance in two target groups is checked by each
    /// group's own health check.
    public static func healthKey(group: ARN, target: String) -> String { group.description + " " + target }

    static func splitHealthKey(_ key: String) -> (group: String, target: String) {
        let parts = key.split(separator: " ", maxSplits: 1)
        return parts.count == 2 ? (String(parts[0]), String(parts[1])) : ("", key)
    }

    /// A target's health changed (from this node's health checker), by `healthKey`.
    public func recordHealth(target: String, _ health: TargetHealthState) throws {
        guard !frozen.load(ordering: .acquiring), state.localHealth[target] != health, healthChecker.states[target] != nil else { return }
        state.localHealth[target] = health
        try republish()
    }

    /// The targets' health is this node's view, or its consensus with the other live nodes'; a
    /// change of a target's verdict is a health event.
    static func decide(_ state: inout State) {
        let decided = HealthConsensus.decide(local: state.localHealth, peers: state.peerHealth, liveNodes: state.liveNodes)
        for (target, health) in decided.sorted(by: { $0.key < $1.key }) where state.health[target] != health {
            let (group, id) = Self.splitHealthKey(target)
            state.healthEvents.append(HealthEvent(time: Date(), targetGroup: group, target: id, from: state.health[target], to: health))
            if state.healthEvents.count > Self.healthEventCapacity { state.healthEvents.removeFirst() }
        }
        state.health = decided
    }

    /// Periodic work: targets whose deregistration delay has passed leave their group (a change,
    /// so the data plane gets a new snapshot; nothing is recompiled when nothing changed).
    public func tick(now: Date = Date()) throws {
        guard !frozen.load(ordering: .acquiring) else { return }
        _ = try perform { catalog, _ in catalog.removeDrained(now: now) }
    }

    /// A new snapshot for the data plane from the state, and the view readers see.
    func republish() throws {
        try output.republish(&state)
        let next = Self.view(of: state)
        view.withLock { $0 = next }
    }

    private static func view(of state: State) -> View {
        View(catalog: state.catalog, health: state.health, healthEvents: state.healthEvents, targetSlots: state.compiler.slots,
             localHealth: state.localHealth, peerHealth: state.peerHealth)
    }

    /// Where a committed state goes: the health checker's list, the data plane's snapshot, the
    /// shared control record.
    struct Output: Sendable {
        let healthChecker: HealthChecker
        let instances: [String: String]
        let slotFlows: @Sendable () -> [Int64]
        let publish: @Sendable (ForwardingSnapshot) -> Void
        /// Where the slots and health outlive this process (nil: they do not).
        let shared: SharedFlowState?

        func republish(_ state: inout State) throws {
            healthChecker.update(ControlPlaneService.healthCheckTargets(state.catalog, instances: instances), resuming: state.localHealth)
            // Forget the health of targets no longer checked: re-registered ones start from initial.
            let checked = healthChecker.states
            state.localHealth = state.localHealth.filter { checked[$0.key] != nil }
            ControlPlaneService.decide(&state)
            state.version += 1
            publish(try compile(state.catalog, attachments: state.attachments, compiler: &state.compiler, health: state.health, version: state.version))
            if let shared {
                shared.writeControlRecord(ResumableState(targets: state.compiler.slots, endpoints: state.endpointSlots, health: state.localHealth).record)
            }
        }

        func compile(_ catalog: ResourceCatalog, attachments: [EndpointAttachment], compiler: inout SnapshotCompiler,
                     health: [String: TargetHealthState], version: UInt64) throws -> ForwardingSnapshot {
            try compiler.compile(catalog, endpoints: attachments, health: health.mapValues(\.state), instances: instances, slotFlows: slotFlows(), now: Date(),
                                 monotonicSeconds: ControlPlaneService.monotonicSeconds(),
                                 version: version)
        }
    }

    /// The snapshot the data plane would get if `operation` ran on the catalog: nothing is
    /// committed or published, and slots assigned for it are not kept.
    public func previewSnapshot(_ operation: @Sendable (inout ResourceCatalog, Context) throws -> Void) throws -> ForwardingSnapshot {
        var catalog = state.catalog
        try operation(&catalog, Context(now: Date()))
        var compiler = state.compiler
        return try output.compile(catalog, attachments: state.attachments, compiler: &compiler, health: state.health, version: state.version + 1)
    }

    /// Target slots of the data plane's counters and snapshots: how many exist, how many hold a
    /// registered target, and how many wait for their flows to end after their target left.
    public nonisolated var targetSlots: (capacity: Int, current: Int, retired: Int) {
        let slots = view.withLock { $0.targetSlots }
        return (slots.capacity, slots.peers.compactMap { $0 }.count - slots.retired.count, slots.retired.count)
    }

    /// The targets the served load balancers' target groups check: registered, not draining.
    static func healthCheckTargets(_ catalog: ResourceCatalog, instances: [String: String]) -> [HealthChecker.Target] {
        catalog.servedLoadBalancers.flatMap { balancer -> [HealthChecker.Target] in
            guard let listener = catalog.listeners.first(where: { $0.loadBalancerArn == balancer }),
                  let group = catalog.targetGroups.first(where: { $0.arn == listener.targetGroupArn }) else { return [] }
            return healthCheckTargets(group, instances: instances)
        }
    }

    private static func healthCheckTargets(_ group: TargetGroup, instances: [String: String]) -> [HealthChecker.Target] {
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

    nonisolated static func monotonicSeconds() -> UInt64 { UInt64(DataPlaneTime.now().seconds) }
}

/// Passes health reports to the service once it exists (the checker is made before it).
private final class HealthReportForwarder: Sendable {
    let service = Mutex<WeakService?>(nil)

    func forward(_ target: String, _ health: TargetHealthState) async {
        guard let service = self.service.withLock({ $0?.value }) else { return }
        try? await service.recordHealth(target: target, health)
    }
}

private struct WeakService: @unchecked Sendable {
    // @unchecked: a weak reference to a Sendable class, read under the forwarder's lock.
    weak var value: ControlPlaneService?
    init(_ value: ControlPlaneService) { self.value = value }
}
