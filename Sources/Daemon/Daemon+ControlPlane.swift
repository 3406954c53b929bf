import ControlAPI
import ControlInput
import ControlPlane
import DataPlane
import Foundation
import Store
import Synchronization
import Telemetry
#if canImport(Glibc)
import Glibc
#endif

/// The API form's control plane, and the servers that answer for it (not started yet).
struct ControlPlaneParts {
    let service: ControlPlaneService
    let observatory: Observatory
    let servers: [ServerService]
    /// The node's part in its cluster, when it is one.
    let cluster: ClusterService?
}

/// `--database postgres://… [--node-name NAME]`: a node of a cluster.
public struct ClusterOptions: Sendable {
    public var database: PostgresAddress
    /// Unique in the cluster; the host's name by default.
    public var node: String
    public init(database: PostgresAddress, node: String) { (self.database, self.node) = (database, node) }
}

/// The API form's control plane: the catalog's store, the Linux side of its endpoints and route
/// tables, the audit trail and the API servers.
extension Daemon {
    /// The control plane over the store in `directory`, publishing to `plane`, and its API servers.
    func startControlPlane(_ directory: String, plane: DataPlane, devices: EndpointDevices, published: LatestSnapshot,
                                   verifier: SignatureV4Verifier?, socketGID: gid_t?, flowLog: FlowLogWriter?,
                                   shared: SharedFlowState?, flowsTakenOver: Int, predecessor: Takeover.Offer?,
                                   onAPIRunning: @escaping @Sendable () -> Void) throws -> ControlPlaneParts {
        let store: any CatalogStorage
        let clusterStore: PostgresCatalogStore?
        if let cluster = self.cluster {
            let clustered = try PostgresCatalogStore(address: cluster.database, node: cluster.node)
            (store, clusterStore) = (clustered, clustered)
            log("node \(cluster.node) of the cluster whose configuration is in \(cluster.database)")
        } else {
            (store, clusterStore) = (try CatalogStore(directory: directory), nil)
        }
        // A state directory made by hand, or by an older gwlbd, becomes private too.
        chmod(directory, 0o700)
        let routing = LinuxRouting(interfaces: configuration.interfaces)
        let service = try ControlPlaneService(store: store, region: region, account: account, instances: configuration.instances,
                                              attach: { try devices.attach($0) }, route: { try routing.apply($0) },
                                              slotFlows: { plane.statistics().targets.map(\.activeFlows) },
                                              dataPathProbe: Self.dataPathProbe(DataPathProber(address: configuration.geneve.address,
                                                                                              replies: plane.probeReplies)),
                                              shared: shared) { snapshot in
            published.value.withLock { $0 = snapshot }
            plane.publish(snapshot)
        }
        let membership = clusterStore.map { ClusterMembership(address: $0.session.address, node: self.cluster!.node) }
        // A node of a cluster writes the trail every node shares too (README "A cluster of gwlbd nodes").
        var sharedAudit: (@Sendable (String) throws -> Void)? = nil
        if let membership { sharedAudit = { record in try membership.appendAudit(record) } }
        let audit = try AuditTrail(path: telemetry.auditLog ?? (directory as NSString).appendingPathComponent("audit.log"), shared: sharedAudit)
        var configuredActions = ELBActions(service: service, instances: configuration.instances, audit: audit)
        configuredActions.endpointFailure = { devices.failure(of: $0) }
        configuredActions.flows = { plane.flows($0) }
        configuredActions.interfaces = configuration.interfaces
        configuredActions.routingDrift = { catalog in
            do { return try routing.drift(catalog) } catch { return [RoutingDrift(routeTableId: nil, message: "cannot read Linux's routing: \(error)")] }
        }
        let actions = configuredActions
        var observatory = Observatory(plane: plane, flowCapacity: configuration.workers * configuration.flowsPerWorker) {
            published.value.withLock { $0.targets }
        }
        observatory.geneveAddress = configuration.geneve.address.description
        observatory.flowState = shared.map { shared in
            switch shared.start {
            case .created: ("created", 0, nil)
            case .resumed: ("resumed", flowsTakenOver, nil)
            case .cold(let reason): ("cold", 0, reason)
            }
        }
        observatory.upgradedFrom = predecessor.map { ($0.version, $0.pid) }
        observatory.targetSlots = { [weak service] in service?.targetSlots }
        observatory.failedEndpoints = { devices.failedInterfaces }
        // Asked by every console each second and by the metrics: read from Linux every 5 s at most.
        let drift = RecentValue<[String]>(seconds: 5)
        observatory.routingDrift = { [weak service] in
            drift.value {
                guard let catalog = service?.read({ $0 }), !catalog.routeTables.isEmpty else { return [] }
                return actions.routingDrift(catalog).map(\.message)
            }
        }
        if let flowLog { observatory.flowLogRecordsLost = { flowLog.recordsLost } }
        let socketPath = self.socketPath
        let takingOver = predecessor != nil
        let metrics = self.metrics
        let clusterService = clusterStore.map { store in
            ClusterService(store: store, membership: membership!, service: service,
                           geneveAddress: configuration.geneve.address.description, statistics: { plane.statistics() })
        }
        if let clusterService {
            observatory.cluster = { try await clusterService.answer() }
            observatory.clusterView = { clusterService.lastRead.view.withLock { $0 } }
            observatory.node = clusterService.membership.node
        }
        let observed = observatory
        var servers = [ServerService(name: "the API server") {
            try await APIServer.run(socketPath: socketPath, actions: actions, observatory: observed, metrics: metrics, group: socketGID,
                                    onRunning: onAPIRunning)
        }]
        if let signedAPI, let verifier {
            let (host, port) = try signedAPI.hostAndPort()
            let tls = signedAPI.tls
            servers.append(ServerService(name: "the signed API on \(signedAPI.listen)", retrying: takingOver) {
                try await APIServer.runTCP(host: host, port: port, actions: actions, verifier: verifier, tls: tls) { _ in }
            })
            log("signed elbv2 API (SigV4, region \(region)) on \(signedAPI.tls == nil ? "http" : "https")://\(signedAPI.listen)")
        }
        if let listen = telemetry.metricsListen {
            let (host, port) = try ListenAddress.parse(listen, option: "--metrics-listen")
            servers.append(ServerService(name: "the metrics listener on \(listen)", retrying: takingOver) {
                try await APIServer.runMetrics(host: host, port: port, metrics: metrics)
            })
            log("Prometheus metrics on http://\(listen)/metrics")
        }
        log("audit trail: \(audit.path)")
        return ControlPlaneParts(service: service, observatory: observed, servers: servers, cluster: clusterService)
    }
}

/// A value recomputed at most every `seconds`: what many readers ask for often and costs a few
/// processes to find out.
final class RecentValue<Value: Sendable>: Sendable {
    private let seconds: Double
    private let state = Mutex<(value: Value, time: ContinuousClock.Instant)?>(nil)

    init(seconds: Double) { self.seconds = seconds }

    func value(_ compute: () -> Value) -> Value {
        state.withLock { state in
            if let state, ContinuousClock.now - state.time < .seconds(seconds) { return state.value }
            let value = compute()
            state = (value, ContinuousClock.now)
            return value
        }
    }
}
