import ControlPlane
import DataPlane
import Foundation
import PacketIO
import Wire
#if canImport(Glibc)
import Glibc
#endif

/// gwlbd, first form: endpoints, GENEVE socket and targets from a configuration file; runs the
/// data plane until SIGTERM or SIGINT; SIGHUP reloads the targets. Statistics go to a JSON file
/// every second.
public final class Daemon {
    public let configurationPath: String
    public let statisticsPath: String?
    private var configuration: DaemonConfiguration
    private var slots = TargetSlotTable()

    public init(configurationPath: String, statisticsPath: String?) throws {
        self.configurationPath = configurationPath
        self.statisticsPath = statisticsPath
        configuration = try DaemonConfiguration.load(path: configurationPath)
    }

    /// An error that stops the daemon, with what to do about it.
    public struct StartupError: Error, CustomStringConvertible {
        public let description: String
    }

    public func run() throws {
        guard geteuid() == 0 else {
            throw StartupError(description: "gwlbd must run as root: it creates TUN devices and binds the GENEVE port (sudo gwlbd …)")
        }
        try Self.checkPortIsFree(configuration.geneve)
        // Signals go to this thread only: block them before the workers start, then wait for them.
        var signals = sigset_t()
        sigemptyset(&signals)
        for signal in [SIGINT, SIGTERM, SIGHUP] { sigaddset(&signals, signal) }
        pthread_sigmask(SIG_BLOCK, &signals, nil)

        let workers = configuration.workers
        let devices = try configuration.endpoints.map { try TunDevice(name: $0.interface, queueCount: workers, mtu: configuration.endpointMTU) }
        let ios = try (0..<workers).map { worker in
            try SystemIO(endpoints: devices, queue: worker,
                         socket: GeneveSocket(bind: configuration.geneve, reusePort: true, batchCapacity: 64))
        }
        let plane = DataPlane(configuration: DataPlaneConfiguration(flowsPerWorker: configuration.flowsPerWorker),
                              ios: ios, snapshot: try configuration.snapshot(version: 1, slots: &slots, monotonicSeconds: Self.monotonicSeconds()))
        plane.start()
        var snapshot = plane.workers[0].snapshot
        log("forwarding: \(configuration.endpoints.map(\.interface).joined(separator: ", ")) → \(configuration.targets.count) targets via \(configuration.geneve), \(workers) workers")

        var timeout = timespec(tv_sec: 1, tv_nsec: 0)
        while true {
            let received = sigtimedwait(&signals, nil, &timeout)
            if received == SIGINT || received == SIGTERM { break }
            if received == SIGHUP { snapshot = reload(plane, current: snapshot) }
            writeStatistics(plane, snapshot)
        }
        log("stopping")
        plane.stop()
        writeStatistics(plane, snapshot)
        _ = (devices.count, ios.count)  // devices and sockets live until the workers stopped
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
        do {
            let fresh = try DaemonConfiguration.load(path: configurationPath)
            guard fresh.endpoints == configuration.endpoints, fresh.geneve == configuration.geneve, fresh.workers == configuration.workers else {
                log("reload: endpoints, GENEVE address and workers need a restart; kept the running configuration")
                return current
            }
            let snapshot = try fresh.snapshot(version: current.version + 1, slots: &slots, monotonicSeconds: Self.monotonicSeconds())
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
        let report = StatisticsReport.json(plane.statistics(), drops: plane.recentDrops(), targets: snapshot.targets)
        do { try StatisticsReport.write(report, to: statisticsPath) } catch { log("cannot write \(statisticsPath): \(error)") }
    }

    static func monotonicSeconds() -> UInt64 { UInt64(DataPlaneTime.now().seconds) }

    private func log(_ message: String) {
        FileHandle.standardError.write(Data("gwlbd: \(message)\n".utf8))
    }
}
