import Synchronization

/// The endpoint TUN devices by slot, shared by the workers' `SystemIO`s: the control side changes
/// the set (an endpoint created or deleted through the API), each worker adopts the new set when it
/// picks up the next snapshot. A slot keeps its number while its endpoint exists (flow keys carry it).
public final class EndpointRegistry: Sendable {
    private let devices: Mutex<[TunDevice?]>
    /// Counts changes; a worker compares it with the one it adopted, without the lock.
    let generation = Atomic<UInt64>(0)

    public init(_ devices: [TunDevice?] = []) {
        self.devices = Mutex(devices)
    }

    /// Replaces the set. Devices no longer listed close when the last worker lets go of them.
    public func set(_ devices: [TunDevice?]) {
        self.devices.withLock { $0 = devices }
        generation.add(1, ordering: .releasing)
    }

    public var current: [TunDevice?] { devices.withLock { $0 } }

    /// The set and its generation, read together.
    func snapshot() -> (generation: UInt64, devices: [TunDevice?]) {
        devices.withLock { devices in (generation.load(ordering: .acquiring), devices) }
    }
}
