import CGWLBLinux
#if canImport(Glibc)
import Glibc
#endif

/// A worker's real I/O: its own queue of every endpoint TUN device, its own GENEVE socket (the
/// workers share the port through SO_REUSEPORT) and an eventfd other threads use to wake it.
/// The endpoint devices come from a registry the control side may change; the worker adopts a
/// change in `refreshEndpoints`, between batches.
public final class SystemIO: WorkerIO {
    public let registry: EndpointRegistry
    public private(set) var endpoints: [TunDevice?] = []
    private var adoptedGeneration = UInt64.max
    public let queue: Int
    public let socket: GeneveSocket
    private let wakeDescriptor: Int32
    private var pollDescriptors: [pollfd] = []

    public init(endpoints registry: EndpointRegistry, queue: Int, socket: GeneveSocket) throws(PacketIOError) {
        self.registry = registry
        self.queue = queue
        self.socket = socket
        wakeDescriptor = gwlb_eventfd()
        guard wakeDescriptor >= 0 else { throw PacketIOError.system("eventfd", "for a worker") }
        refreshEndpoints()
    }

    deinit { _ = close(wakeDescriptor) }

    public var endpointCount: Int { endpoints.count }

    public func refreshEndpoints() {
        guard registry.generation.load(ordering: .acquiring) != adoptedGeneration else { return }
        (adoptedGeneration, endpoints) = registry.snapshot()
        pollDescriptors = endpoints.compactMap { $0.map { pollfd(fd: $0.queues[queue], events: Int16(POLLIN), revents: 0) } }
            + [pollfd(fd: socket.descriptor, events: Int16(POLLIN), revents: 0),
               pollfd(fd: wakeDescriptor, events: Int16(POLLIN), revents: 0)]
    }

    public func readEndpoint(_ endpoint: Int, into batch: PacketBatch) {
        guard let device = endpoints[endpoint] else {
            batch.count = 0
            return
        }
        var count = 0
        while count < batch.capacity, let length = device.read(queue: queue, into: batch.readArea(count)) {
            batch.offsets[count] = batch.headroom
            batch.lengths[count] = length
            count += 1
        }
        batch.count = count
    }

    public func writeEndpoint(_ endpoint: Int, packet: UnsafeRawBufferPointer) -> Bool {
        guard endpoint < endpoints.count, let device = endpoints[endpoint] else { return false }
        return device.write(queue: queue, packet: packet)
    }

    public func receiveDatagrams(into batch: PacketBatch) {
        socket.receive(into: batch)
    }

    public func sendDatagrams(_ batch: PacketBatch) -> Int {
        socket.send(batch)
    }

    public func waitForInput(timeoutMilliseconds: Int32) {
        let ready = pollDescriptors.withUnsafeMutableBufferPointer { poll($0.baseAddress, nfds_t($0.count), timeoutMilliseconds) }
        if ready > 0, pollDescriptors[pollDescriptors.count - 1].revents != 0 {
            var value: UInt64 = 0
            _ = read(wakeDescriptor, &value, 8)
        }
    }

    public func wakeUp() {
        var one: UInt64 = 1
        _ = write(wakeDescriptor, &one, 8)
    }
}
