import DataPlane
import Foundation
import Health
import Resources
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
        var health: [String: TargetHealthState] = [:]
        var version: UInt64 = 0
    }

    private let state: Mutex<State>
    private let store: CatalogStore
    private let endpoints: [EndpointIdentity]
    private let loadBalancerName: String
    private let publish: @Sendable (ForwardingSnapshot) -> Void

    /// Restores the catalog from `store` (or starts an empty one for `region` and `account`) and
    /// publishes the first snapshot for the load balancer named `loadBalancerName`, which the
    /// `endpoints` belong to.
    public init(store: CatalogStore, region: String, account: String, loadBalancerName: String, endpoints: [EndpointIdentity],
                publish: @escaping @Sendable (ForwardingSnapshot) -> Void) throws {
        self.store = store
        self.endpoints = endpoints
        self.loadBalancerName = loadBalancerName
        self.publish = publish
        state = Mutex(State(catalog: try store.load() ?? ResourceCatalog(region: region, account: account)))
        try state.withLock { state in try republish(&state) }
    }

    /// Runs `operation` and commits its result before returning it.
    public func perform<Result: Sendable>(_ operation: (inout ResourceCatalog, Context) throws -> Result) throws -> Result {
        try state.withLock { state in
            var catalog = state.catalog
            let result = try operation(&catalog, Context(now: Date()))
            guard catalog != state.catalog else { return result }
            try store.save(catalog)
            state.catalog = catalog
            try republish(&state)
            return result
        }
    }

    /// What the health checker last found for each target (by target id).
    public var health: [String: TargetHealthState] { state.withLock { $0.health } }

    /// Reads the current state.
    public func read<Result>(_ body: (ResourceCatalog) throws -> Result) rethrows -> Result {
        let catalog = state.withLock { $0.catalog }
        return try body(catalog)
    }

    /// A target's health changed (from the health checker).
    public func recordHealth(target: String, _ health: TargetHealthState) throws {
        try state.withLock { state in
            guard state.health[target] != health else { return }
            state.health[target] = health
            try republish(&state)
        }
    }

    /// Periodic work: targets whose deregistration delay has passed leave their group.
    public func tick(now: Date = Date()) throws {
        _ = try perform { catalog, _ in catalog.removeDrained(now: now) }
        // Draining ends by time alone too: recompile so the snapshot follows the clock.
        try state.withLock { state in try republish(&state) }
    }

    private func republish(_ state: inout State) throws {
        let balancer = state.catalog.loadBalancers.first { $0.name == loadBalancerName }?.arn
        state.version += 1
        publish(try state.compiler.compile(state.catalog, loadBalancer: balancer, endpoints: endpoints, health: state.health.mapValues(\.state),
                                           now: Date(), monotonicSeconds: Self.monotonicSeconds(), version: state.version))
    }

    static func monotonicSeconds() -> UInt64 { UInt64(DataPlaneTime.now().seconds) }
}
