import ControlPlane
import DataPlane
import Foundation
import Logging
import PacketIO
import Synchronization
import Telemetry
#if canImport(Glibc)
import Glibc
#endif

/// The running gwlbd's side of a takeover (`gwlbd --takeover`, see `Takeover`), and what the new
/// one needs to build on what it was handed.
extension Daemon {
    /// Where a takeover of this gwlbd stands; the takeover thread sets it, the main loop reads it.
    final class Handover: Sendable {
        enum State: UInt8, AtomicRepresentable { case running, frozen, handedOver }
        private let value = Atomic<State>(.running)
        var state: State { value.load(ordering: .acquiring) }
        func set(_ state: State) { value.store(state, ordering: .releasing) }
    }

    /// The endpoint devices a predecessor handed over, by slot.
    static func devices(of predecessor: TakeoverClient) -> [TunDevice?] {
        var devices = [TunDevice?](repeating: nil, count: (predecessor.offer.endpoints.map(\.slot).max() ?? -1) + 1)
        for (endpoint, queues) in zip(predecessor.offer.endpoints, predecessor.queues) {
            devices[endpoint.slot] = TunDevice(adopting: queues, name: endpoint.interface, offloadFlags: endpoint.offloadFlags)
        }
        return devices
    }

    /// Waits for a successor (`gwlbd --takeover`) and hands over to it: see `Takeover`.
    func startTakeoverServer(service: ControlPlaneService, plane: DataPlane, devices: EndpointDevices, sockets: [Int32],
                                     flowLog: FlowLogWriter?, shared: SharedFlowState?, own: Takeover.Request) throws {
        let handover = self.handover
        let log: @Sendable (String) -> Void = { Logger.gwlbd.info("\($0)") }
        let steps = TakeoverServer.Steps(own: own, freeze: {
            handover.set(.frozen)
            service.freeze()
            plane.stop()
            flowLog?.stop()
            shared?.unlock()
            // A device a worker found deleted is not handed over: the successor makes it again.
            let endpoints = devices.registry.current.enumerated().compactMap { slot, device in
                device.flatMap { $0.isLost ? nil : $0 }.map { (slot, $0) }
            }
            var offer = Takeover.Offer(version: own.version, pid: own.pid, workers: own.workers)
            offer.endpoints = endpoints.map { Takeover.Offer.Endpoint(slot: $0.0, interface: $0.1.name, offloadFlags: $0.1.offloadFlags) }
            let descriptors = sockets + endpoints.flatMap(\.1.queues)
            log("handing over: workers stopped with \(plane.statistics().activeFlows) flows, control plane frozen")
            return (offer, descriptors)
        }, thaw: { reason in
            log("the takeover did not complete (\(reason)); carrying on")
            if let shared {
                var locked = shared.relock()
                for _ in 0..<50 where !locked {
                    usleep(100_000)
                    locked = shared.relock()
                }
                guard locked else {
                    log("the new gwlbd holds \(shared.path): this one cannot carry on; exiting")
                    exit(1)
                }
            }
            flowLog?.start()
            plane.start()
            service.thaw()
            handover.set(.running)
        }, handedOver: { successor in
            log("handed over to gwlbd \(successor.version) (pid \(successor.pid))")
            handover.set(.handedOver)
            kill(getpid(), SIGTERM)
        }, log: log)
        _ = try TakeoverServer(path: Takeover.socketPath(apiSocket: socketPath), steps: steps)
    }
}
