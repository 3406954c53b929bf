import Foundation
import ControlPlane
import PacketIO
import Synchronization

/// The endpoint TUN devices, by slot: made (persistent, so they outlive a restart) or attached to
/// when an endpoint appears, removed when it goes. The workers find them in `registry`.
final class EndpointDevices: Sendable {
    let registry = EndpointRegistry()
    let queueCount: Int
    let mtu: Int
    let offloads: Bool
    private let lock = Mutex<Void>(())
    /// Interfaces whose device was lost and could not be made again yet, with why.
    private let failures = Mutex<[String: String]>([:])

    init(queueCount: Int, mtu: Int, offloads: Bool) {
        self.queueCount = queueCount
        self.mtu = mtu
        self.offloads = offloads
    }

    /// Starts with `devices` (by slot), another gwlbd's queues taken over: `attach` then keeps them.
    func adopt(_ devices: [TunDevice?]) {
        lock.withLock { _ in registry.set(devices) }
    }

    /// Makes the devices match `attachments`; on failure nothing changes.
    func attach(_ attachments: [EndpointAttachment]) throws {
        try lock.withLock { _ in
            let existing = registry.current.compactMap { $0 }
            var devices = [TunDevice?](repeating: nil, count: (attachments.map(\.slot).max() ?? -1) + 1)
            for attachment in attachments {
                // A lost device stays as it is: `reattachLost` makes it again, and another endpoint's
                // change must not fail because its name is taken.
                devices[attachment.slot] = try existing.first { $0.name == attachment.interface }
                    ?? TunDevice(name: attachment.interface, queueCount: queueCount, mtu: mtu, offloads: offloads)
            }
            let attached = Set(attachments.map(\.interface))
            failures.withLock { $0 = $0.filter { attached.contains($0.key) } }
            // A deleted endpoint's device goes when the workers let go of it, if gwlbd made it.
            for device in existing where !attached.contains(device.name) { device.remove() }
            registry.set(devices)
        }
    }

    /// Why the endpoint on `interface` forwards nothing, or nil when its device is in place: a
    /// worker found it deleted, and it is not back yet.
    func failure(of interface: String) -> String? {
        if let reason = failures.withLock({ $0[interface] }) { return reason }
        let lost = registry.current.contains { $0?.name == interface && $0?.isLost == true }
        return lost ? "the TUN device was deleted; gwlbd re-creates it within a second" : nil
    }

    /// Interfaces whose endpoint forwards nothing for want of its device.
    var failedInterfaces: [String] {
        registry.current.compactMap { $0?.name }.filter { failure(of: $0) != nil }
    }

    /// Endpoints whose device a worker found deleted get a device again: made anew, or attached
    /// to one of that name made since. Returns whether any did (the workers must then pick the set
    /// up), and what to log: each re-attachment, and each new reason one cannot be made.
    func reattachLost() -> (changed: Bool, log: [String]) {
        lock.withLock { _ in
            var devices = registry.current
            var changed = false
            var lines: [String] = []
            for (slot, device) in devices.enumerated() {
                guard let device, device.isLost else { continue }
                do {
                    devices[slot] = try TunDevice(name: device.name, queueCount: queueCount, mtu: mtu, offloads: offloads)
                    changed = true
                    failures.withLock { $0[device.name] = nil }
                    lines.append("endpoint device \(device.name) was deleted under gwlbd: re-created it (routes into it went with it: gwlbd puts back those of its route tables; add any others again)")
                } catch {
                    let reason = "the TUN device was deleted and cannot be made again: \(error)"
                    let known = failures.withLock { failures in
                        defer { failures[device.name] = reason }
                        return failures[device.name] == reason
                    }
                    if !known { lines.append("endpoint device \(device.name): \(reason); trying again every second") }
                }
            }
            if changed { registry.set(devices) }
            return (changed, lines)
        }
    }
}
