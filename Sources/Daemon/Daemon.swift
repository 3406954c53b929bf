import ControlAPI
import ControlInput
import ControlPlane
import DataPlane
import Foundation
import Health
import Logging
import PacketIO
import ServiceLifecycle
import Store
import Synchronization
import Telemetry
import Wire
#if canImport(Glibc)
import Glibc
#endif

/// gwlbd. In the file form, endpoints and targets come from a configuration file (SIGHUP reloads
/// the targets); with a state directory, from the elbv2 API on a Unix socket and the SQLite store
/// behind it (the file is optional then). Its parts run as services of one `ServiceGroup` until
/// SIGTERM or SIGINT (`DaemonServices`). Statistics go to a JSON file every second when asked.
///
/// `@unchecked Sendable`: once `run` has started the services, `configuration` and `slots` change
/// only in the ticker's SIGHUP reload, which runs one at a time with its ticks.
public final class Daemon: @unchecked Sendable {
    public let configurationPath: String?
    public let statisticsPath: String?
    /// Where the control plane keeps its state; nil for the configuration-file form.
    public let stateDirectory: String?
    public let socketPath: String
    /// The group that may use the socket besides root (`--socket-group`): operators need not be root.
    public let socketGroup: String?
    public let region: String
    public let account: String
    public let signedAPI: SignedAPIOptions?
    public let telemetry: TelemetryOptions
    /// The file the flows outlive gwlbd in (the API form; nil: they do not).
    public let sharedStatePath: String?
    /// Take over from the gwlbd running on the same socket (`--takeover`) instead of starting anew.
    public let takeover: Bool
    /// A node of a cluster: the configuration in this PostgreSQL, shared with the other nodes
    /// (`--database`, `--node-name`); nil: one node, its configuration in SQLite in the state directory.
    public let cluster: ClusterOptions?
    let metrics = MetricsExporter()
    /// Where a takeover of this gwlbd stands: running, frozen (handing over) or handed over.
    let handover = Handover()
    private(set) var configuration: DaemonConfiguration
    private var slots = TargetSlotTable()

    /// - Parameter geneveAddress: the address to take GENEVE on, over the file's (needed without one).
    public init(configurationPath: String?, geneveAddress: String? = nil, statisticsPath: String?, stateDirectory: String? = nil,
                socketPath: String = APIServer.defaultSocketPath, region: String = "us-east-1", account: String = "123456789012",
                signedAPI: SignedAPIOptions? = nil, telemetry: TelemetryOptions = TelemetryOptions(), socketGroup: String? = nil,
                sharedStatePath: String? = nil, takeover: Bool = false, cluster: ClusterOptions? = nil) throws {
        self.configurationPath = configurationPath
        if cluster != nil, stateDirectory == nil { throw StartupError(description: "--database needs --state-dir (the API form)") }
        self.cluster = cluster
        self.takeover = takeover
        if takeover, stateDirectory == nil { throw StartupError(description: "--takeover needs --state-dir (the API form)") }
        if sharedStatePath != nil, stateDirectory == nil { throw StartupError(description: "--shared-state needs --state-dir (the API form)") }
        self.sharedStatePath = sharedStatePath
        self.socketGroup = socketGroup
        self.signedAPI = signedAPI
        self.telemetry = telemetry
        if signedAPI != nil, stateDirectory == nil { throw StartupError(description: "--api-listen needs --state-dir (the API form)") }
        if telemetry.metricsListen != nil || telemetry.auditLog != nil, stateDirectory == nil {
            throw StartupError(description: "--metrics-listen and --audit-log need --state-dir (the API form)")
        }
        self.statisticsPath = statisticsPath
        self.stateDirectory = stateDirectory
        self.socketPath = socketPath
        self.region = region
        self.account = account
        let form: DaemonConfiguration.Form = stateDirectory == nil ? .file : .api
        if let configurationPath {
            configuration = try DaemonConfiguration.load(path: configurationPath, form: form)
            if let geneveAddress { configuration.geneve = try DaemonConfiguration.defaults(geneveAddress: geneveAddress).geneve }
        } else if form == .api, let geneveAddress {
            configuration = try DaemonConfiguration.defaults(geneveAddress: geneveAddress)
        } else {
            throw StartupError(description: form == .file ? "give --config FILE, or --state-dir DIR to manage gwlbd through the API"
                                                          : "give --geneve-address (the address appliances reach gwlbd on) or --config FILE")
        }
    }

    /// An error that stops the daemon, with what to do about it.
    public struct StartupError: Error, CustomStringConvertible {
        public let description: String
    }

    public func run() throws {
        guard geteuid() == 0 else {
            throw StartupError(description: "gwlbd must run as root: it creates TUN devices and binds the GENEVE port (sudo gwlbd …)")
        }
        // The service group takes the signals through a signalfd, which only sees blocked ones:
        // blocked here, before any other thread exists, so that every thread inherits the mask.
        var signals = sigset_t()
        sigemptyset(&signals)
        for signal in [SIGINT, SIGTERM, SIGHUP] { sigaddset(&signals, signal) }
        pthread_sigmask(SIG_BLOCK, &signals, nil)
        Self.raiseDescriptorLimit()
        // Everything gwlbd creates (state directory, database, audit trail, socket) starts private;
        // the socket is opened to its group on purpose once it listens.
        umask(0o077)
        let socketGID = try socketGroup.map { name in
            guard let group = getgrnam(name) else { throw StartupError(description: "--socket-group \(name): no such group") }
            return group.pointee.gr_gid
        }
        // The signed API's keys and address are checked before anything starts.
        let verifier = try signedAPI.map { SignatureV4Verifier(region: region, credentials: try CredentialsFile.load(path: $0.credentialsPath)) }
        _ = try signedAPI?.hostAndPort()
        _ = try telemetry.metricsListen.map { try ListenAddress.parse($0, option: "--metrics-listen") }
        let workers = configuration.workers
        let own = Takeover.Request(version: GWLBVersion.current, pid: getpid(), workers: workers, geneve: configuration.geneve.description,
                                   offloads: configuration.offloads, sharedState: sharedStatePath)
        // From here on a predecessor is frozen with its workers stopped: anything that fails ends
        // this process, which closes the connection, and the predecessor takes everything back.
        let predecessor = try takeover ? TakeoverClient(path: Takeover.socketPath(apiSocket: socketPath), request: own) : nil
        let handedOverAt = ContinuousClock.now
        if let predecessor {
            log("took over from gwlbd \(predecessor.offer.version) (pid \(predecessor.offer.pid)): \(predecessor.offer.endpoints.count) endpoint devices, \(workers) GENEVE sockets")
        } else {
            try Self.checkPortIsFree(configuration.geneve)
            if stateDirectory != nil { try APIServer.claim(socketPath: socketPath) }
        }
        let devices = EndpointDevices(queueCount: workers, mtu: configuration.endpointMTU, offloads: configuration.offloads)
        if let predecessor {
            devices.adopt(Self.devices(of: predecessor))
        } else {
            try devices.attach(configuration.endpoints.enumerated().map { EndpointAttachment(slot: $0.offset, interface: $0.element.interface,
                                                                                              identity: $0.element.identity) })
        }
        // Bound in worker order: socket N of the SO_REUSEPORT group is worker N's (a predecessor's
        // come in that order).
        let ios = try (0..<workers).map { worker in
            try SystemIO(endpoints: devices.registry, queue: worker,
                         socket: predecessor.map { GeneveSocket(adopting: $0.sockets[worker], local: configuration.geneve, batchCapacity: 64,
                                                                offloads: configuration.offloads) }
                             ?? GeneveSocket(bind: configuration.geneve, reusePort: true, batchCapacity: 64, offloads: configuration.offloads))
        }
        if configuration.offloads, workers > 1 {
            do {
                try ios[0].socket.attachReusePortProgram(ReusePortProgram.steeringByOwner(ownerBits: DataPlane.ownerBits(workers: workers)))
            } catch {
                log("returns are not steered to their flow's worker (they are handed over instead): \(error)")
            }
        }
        var planeConfiguration = DataPlaneConfiguration(flowsPerWorker: configuration.flowsPerWorker)
        planeConfiguration.flowLogInterval = telemetry.flowLog?.interval ?? 0
        let shared = try sharedStatePath.map { path in
            try SharedFlowState(path: path, layout: SharedFlowState.Layout(workers: workers, flowsPerWorker: configuration.flowsPerWorker,
                                                                            targetSlots: planeConfiguration.targetSlots))
        }
        let plane = DataPlane(configuration: planeConfiguration, ios: ios,
                              snapshot: try configuration.snapshot(version: 1, slots: &slots, monotonicSeconds: Self.monotonicSeconds()),
                              shared: shared)
        let flowsTakenOver = shared?.start == .resumed ? Int(plane.statistics().activeFlows) : 0
        if let shared { log(Self.describe(shared, flows: flowsTakenOver)) }
        let published = LatestSnapshot(plane.workers[0].snapshot)
        let flowLog = try telemetry.flowLog.map { options in
            var options = options
            options.account = account
            return try FlowLogWriter(options: options, rings: plane.flowLogRings) { slot in
                let endpoints = published.value.withLock { $0.endpoints }
                return Int(slot) < endpoints.count ? endpoints[Int(slot)].map(Self.endpointName) ?? "-" : "-"
            }
        }
        if let flowLog { log("flow logs (VPC version 2, \(flowLog.options.interval) s) to \(flowLog.options.path)") }
        // Started together when the group runs, after the control plane published its first
        // snapshot (a taken-over flow's packets find their endpoint and target from the first one
        // the workers read); stopped in the reverse order, the last one listed first.
        var services: [any Service] = []
        if let flowLog { services.append(ThreadedService(start: flowLog.start, stop: flowLog.stop)) }
        services.append(ThreadedService(start: plane.start) { [self] in
            // Handed over: the workers stopped already, and the successor writes the statistics.
            guard handover.state != .handedOver else { return }
            log("stopping")
            plane.stop()
            writeStatistics(plane, published.value.withLock { $0 })
        })
        let announce: AnnouncingService
        if let stateDirectory {
            let sockets = ios.map(\.socket.descriptor)
            let (running, started) = AsyncStream.makeStream(of: Void.self)
            let control = try startControlPlane(stateDirectory, plane: plane, devices: devices, published: published, verifier: verifier,
                                                socketGID: socketGID, flowLog: flowLog, shared: shared, flowsTakenOver: flowsTakenOver,
                                                predecessor: predecessor?.offer) { started.yield() }
            services.append(control.service.healthChecker)
            services.append(ticker(plane, devices: devices, published: published, control: control))
            services += control.servers
            if let node = control.cluster { services.append(node) }
            let endpoints = devices.registry.current.compactMap { $0?.name }
            let summary = "API on \(socketPath), state in \(stateDirectory), GENEVE on \(configuration.geneve), \(workers) workers; endpoints: \(endpoints.isEmpty ? "none yet (gwlb create-endpoint)" : endpoints.joined(separator: ", "))"
            announce = AnnouncingService(handover: handover, apiRunning: running) { [self] in
                if let predecessor {
                    // The predecessor exits on `started`: its API answers until this one's is in place.
                    // systemd learns the new main pid first, or it would take the old one's exit for the end.
                    Readiness.ready()
                    try predecessor.started()
                    log("forwarding, the API answering \(Self.milliseconds(since: handedOverAt)) ms after the hand-over; gwlbd pid \(predecessor.offer.pid) exits")
                } else {
                    Readiness.ready()
                }
                try startTakeoverServer(service: control.service, plane: plane, devices: devices, sockets: sockets, flowLog: flowLog, shared: shared, own: own)
                log(summary)
            }
        } else {
            services.append(ticker(plane, devices: devices, published: published, control: nil))
            let summary = "forwarding: \(configuration.endpoints.map(\.interface).joined(separator: ", ")) → \(configuration.targets.count) targets via \(configuration.geneve), \(workers) workers"
            announce = AnnouncingService(handover: handover, apiRunning: nil) { [self] in
                Readiness.ready()
                log(summary)
            }
        }
        services.append(announce)
        let group = ServiceGroup(configuration: Self.groupConfiguration(services))
        try Self.runBlocking { try await group.run() }
        if handover.state == .handedOver {
            // The successor forwards, answers on the socket and writes the statistics now.
            log("exiting: handed over")
            return
        }
        log("stopped")
        if stateDirectory != nil {
            try? FileManager.default.removeItem(atPath: socketPath)
            try? FileManager.default.removeItem(atPath: Takeover.socketPath(apiSocket: socketPath))
        }
        _ = (devices, ios.count)  // devices and sockets live until the workers stopped
    }

    /// SIGTERM and SIGINT stop the services gracefully; one that takes over 4 s (an API call that
    /// does not finish) is cancelled then.
    static func groupConfiguration(_ services: [any Service]) -> ServiceGroupConfiguration {
        var configuration = ServiceGroupConfiguration(services: services.map { .init(service: $0) }, gracefulShutdownSignals: [.sigterm, .sigint],
                                                      logger: Logger.gwlbd)
        configuration.maximumGracefulShutdownDuration = .seconds(4)
        return configuration
    }

    /// Runs `operation` on Swift's concurrency threads and waits for it on this one (gwlbd's and
    /// gwlb's command lines are synchronous). Call it from a thread of one's own (a command's main
    /// thread), never from a task: waiting there would hold a thread `operation` may need.
    public static func runBlocking<Value: Sendable>(_ operation: @escaping @Sendable () async throws -> Value) throws -> Value {
        let outcome = Mutex<Result<Value, any Error>?>(nil)
        let finished = DispatchSemaphore(value: 0)
        Task {
            let result: Result<Value, any Error>
            do { result = .success(try await operation()) } catch { result = .failure(error) }
            outcome.withLock { $0 = result }
            finished.signal()
        }
        finished.wait()
        return try outcome.withLock { $0! }.get()
    }

    /// The once-a-second work, and SIGHUP's reload, while no takeover is under way.
    private func ticker(_ plane: DataPlane, devices: EndpointDevices, published: LatestSnapshot, control: ControlPlaneParts?) -> TickerService {
        TickerService(tick: { [self] in
            // While handing over, the successor-to-be owns what happens next.
            guard handover.state == .running else { return }
            do { try await control?.service.tick() } catch { log("draining step failed: \(error)") }
            let (reattached, lines) = devices.reattachLost()
            lines.forEach(log)
            // The workers adopt devices when they pick up a snapshot: the same one again will do.
            if reattached {
                plane.publish(published.value.withLock { $0 })
                // Routes into a device go with it: the route tables put them back.
                do { try await control?.service.reapplyRouting() } catch { log("cannot restore the routes into a re-created device: \(error)") }
            }
            if let control { metrics.flush(control.observatory.metricsSample(control.service)) }
            writeStatistics(plane, published.value.withLock { $0 })
        }, reload: { [self] in
            guard handover.state == .running else { return }
            guard control == nil else { return log("SIGHUP: targets come from the API with --state-dir; nothing to reload") }
            let snapshot = reload(plane, current: published.value.withLock { $0 })
            published.value.withLock { $0 = snapshot }
        })
    }

    static func milliseconds(since start: ContinuousClock.Instant) -> Int {
        let elapsed = ContinuousClock.now - start
        return Int(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)
    }

    /// The log line that says how the flow state started.
    static func describe(_ shared: SharedFlowState, flows: Int) -> String {
        switch shared.start {
        case .created: "shared flow state: \(shared.path) created"
        case .resumed: "shared flow state: resumed \(flows) flows from \(shared.path)"
        case .cold(let reason): "shared flow state: \(shared.path) could not be taken over (\(reason)); starting cold, every flow new"
        }
    }

    /// Where the API form keeps its flows by default: one file per state directory under /dev/shm.
    public static func defaultSharedStatePath(stateDirectory: String) -> String {
        let absolute = URL(fileURLWithPath: stateDirectory).standardizedFileURL.path
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in absolute.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return "/dev/shm/gwlbd-" + String(hash, radix: 16)
    }

    /// Health checks' data-path probe, through `prober`.
    static func dataPathProbe(_ prober: DataPathProber) -> HealthChecker.DataPathProbe {
        { address, timeout in
            guard let target = IPv4Address(address) else { return .success(nil) }
            switch prober.probe(target, timeout: timeout) {
            case .returned(let seconds): return .success(seconds)
            case .lost: return .success(nil)
            case .localError(let code): return .failure(HealthChecker.LocalProbeError(code: code))
            }
        }
    }

    /// Another socket on the port (even one with SO_REUSEPORT) makes a plain bind fail: that is a
    /// second gwlbd or another program, and sharing the port would split the traffic.
    static func checkPortIsFree(_ address: UDPPeer) throws {
        let probe: GeneveSocket
        do {
            probe = try GeneveSocket(bind: address, reusePort: false, batchCapacity: 1)
        } catch {
            if error.kind == .addressInUse {
                throw StartupError(description: "UDP \(address) is in use (another gwlbd?): stop it or set geneveAddress/genevePort")
            }
            throw error
        }
        _ = probe.descriptor
    }

    private func reload(_ plane: DataPlane, current: ForwardingSnapshot) -> ForwardingSnapshot {
        guard let configurationPath else { return current }
        do {
            let fresh = try DaemonConfiguration.load(path: configurationPath)
            guard fresh.endpoints == configuration.endpoints, fresh.geneve == configuration.geneve, fresh.workers == configuration.workers else {
                log("reload: endpoints, GENEVE address and workers need a restart; kept the running configuration")
                return current
            }
            let snapshot = try fresh.snapshot(version: current.version + 1, slots: &slots, monotonicSeconds: Self.monotonicSeconds(),
                                              slotFlows: plane.statistics().targets.map(\.activeFlows))
            configuration = fresh
            plane.publish(snapshot)
            log("reloaded: \(fresh.targets.count) targets")
            return snapshot
        } catch {
            log("reload failed, kept the running configuration: \(error)")
            return current
        }
    }

    private func writeStatistics(_ plane: DataPlane, _ snapshot: ForwardingSnapshot) {
        guard let statisticsPath else { return }
        let report = StatisticsReport.report(plane.statistics(), drops: plane.recentDrops(), targets: snapshot.targets)
        do { try StatisticsReport.write(report, to: statisticsPath) } catch { log("cannot write \(statisticsPath): \(error)") }
    }

    /// An endpoint as AWS names it: `vpce-` and 17 hexadecimal digits.
    static func endpointName(_ identity: EndpointIdentity) -> String {
        let digits = String(identity.endpointID, radix: 16)
        return "vpce-" + String(repeating: "0", count: max(0, 17 - digits.count)) + digits
    }

    static func monotonicSeconds() -> UInt64 { UInt64(DataPlaneTime.now().seconds) }

    /// The soft descriptor limit up to the hard one: listeners, probes, captures and TUN queues all
    /// take descriptors, and the default 1,024 is a few hundred connections from running out.
    static func raiseDescriptorLimit() {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }

    func log(_ message: String) {
        Logger.gwlbd.info("\(message)")
    }
}

/// The snapshot the data plane runs with now, for the statistics that name targets by slot.
final class LatestSnapshot: Sendable {
    let value: Mutex<ForwardingSnapshot>
    init(_ snapshot: ForwardingSnapshot) { value = Mutex(snapshot) }
}
