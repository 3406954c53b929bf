import CGWLBLinux
import Wire
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
    /// The endpoint slot of each of the first entries of `pollDescriptors` (then the socket and
    /// the wake-up descriptor).
    private var polledEndpoints: [Int] = []
    /// Endpoint devices this worker found gone (each is dropped from its poll set and I/O).
    public private(set) var endpointsLost: UInt64 = 0
    /// Per endpoint with offloads: the super-packet read last, and its next segment to hand out
    /// (a batch may fill before all its segments fit).
    private var staged: [StagedRead?] = []
    /// Every endpoint device has offloads: the worker may coalesce what it writes into them.
    public private(set) var acceptsSuperPackets = false
    /// Super-packets whose virtio header did not agree with their headers (dropped whole).
    public private(set) var malformedSuperPackets: UInt64 = 0
    /// Super-packets read, and the segments cut from them.
    public private(set) var superPackets: UInt64 = 0
    public private(set) var superPacketSegments: UInt64 = 0
    /// False while the data plane stops: only what was read already is handed out.
    private var reading = true

    final class StagedRead {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: TunDevice.maximumRead, alignment: 64)
        var length = 0
        var nextSegment = 0
        deinit { buffer.deallocate() }
    }

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
        let (generation, devices) = registry.snapshot()
        adoptedGeneration = generation
        endpoints = devices.map { $0?.isLost == true ? nil : $0 }
        // A device that changed loses what was staged from it (at most one super-packet).
        staged = endpoints.map { $0?.hasVirtioHeader == true ? StagedRead() : nil }
        rebuildPollSet()
    }

    private func rebuildPollSet() {
        acceptsSuperPackets = endpoints.contains { $0 != nil } && endpoints.allSatisfy { $0 == nil || $0!.hasVirtioHeader }
        polledEndpoints = endpoints.indices.filter { endpoints[$0] != nil }
        pollDescriptors = polledEndpoints.map { pollfd(fd: endpoints[$0]!.queues[queue], events: Int16(POLLIN), revents: 0) }
            + [pollfd(fd: socket.descriptor, events: Int16(POLLIN), revents: 0),
               pollfd(fd: wakeDescriptor, events: Int16(POLLIN), revents: 0)]
    }

    /// A device deleted under gwlbd answers every poll with an error at once: left in the poll set
    /// it would keep the worker spinning. It leaves this worker's I/O and is marked lost for the
    /// control side, which re-attaches the endpoint and publishes again.
    private func loseEndpoint(_ endpoint: Int) {
        endpoints[endpoint]?.markLost()
        endpoints[endpoint] = nil
        staged[endpoint] = nil
        endpointsLost += 1
        rebuildPollSet()
    }

    public func readEndpoint(_ endpoint: Int, into batch: PacketBatch) {
        guard let device = endpoints[endpoint] else {
            batch.count = 0
            return
        }
        if let stage = staged[endpoint] {
            batch.count = readSegments(device, stage, into: batch)
            return
        }
        var count = 0
        while reading, count < batch.capacity, let length = device.read(queue: queue, into: batch.readArea(count)) {
            batch.offsets[count] = batch.headroom
            batch.lengths[count] = length
            count += 1
        }
        batch.count = count
    }

    /// Reads super-packets and cuts them into the batch's slots until it is full or nothing waits;
    /// a super-packet that does not fit whole stays staged for the next call.
    private func readSegments(_ device: TunDevice, _ stage: StagedRead, into batch: PacketBatch) -> Int {
        var count = 0
        while count < batch.capacity {
            if stage.length == 0 {
                guard reading, let length = device.read(queue: queue, into: stage.buffer) else { break }
                stage.length = length
                stage.nextSegment = 0
            }
            let raw = UnsafeRawBufferPointer(rebasing: stage.buffer[..<stage.length])
            guard let header = try? VirtioNetHeader(reading: raw),
                  let superPacket = try? SuperPacket(packet: UnsafeRawBufferPointer(rebasing: raw[VirtioNetHeader.length...]), header: header),
                  superPacket.segmentLength(0) <= batch.slotSize - batch.headroom else {
                // A packet too large for a slot after segmentation is larger than any link gwlb
                // serves (9,216 bytes): dropped whole, counted.
                malformedSuperPackets += 1
                stage.length = 0
                continue
            }
            if stage.nextSegment == 0, superPacket.segmentCount > 1 {
                superPackets += 1
                superPacketSegments += UInt64(superPacket.segmentCount)
            }
            while stage.nextSegment < superPacket.segmentCount, count < batch.capacity {
                batch.lengths[count] = superPacket.segment(stage.nextSegment, into: batch.readArea(count))
                batch.offsets[count] = batch.headroom
                stage.nextSegment += 1
                count += 1
            }
            if stage.nextSegment == superPacket.segmentCount { stage.length = 0 }
        }
        return count
    }


    public func writeEndpoint(_ endpoint: Int, packet: UnsafeRawBufferPointer) -> Bool {
        guard endpoint < endpoints.count, let device = endpoints[endpoint] else { return false }
        return device.write(queue: queue, packet: packet)
    }

    public func writeEndpoint(_ endpoint: Int, packet: UnsafeRawBufferPointer, header: VirtioNetHeader) -> Bool {
        guard endpoint < endpoints.count, let device = endpoints[endpoint] else { return false }
        if !device.hasVirtioHeader {
            // Cannot take a super-packet: only a plain one goes.
            return header.gsoType == VirtioNetHeader.gsoNone && !header.needsChecksum && device.write(queue: queue, packet: packet)
        }
        return device.write(queue: queue, packet: packet, header: header)
    }

    public func receiveDatagrams(into batch: PacketBatch) {
        guard reading else {
            batch.count = 0
            return
        }
        socket.receive(into: batch)
    }

    public func setReading(_ reading: Bool) { self.reading = reading }

    public func sendDatagrams(_ batch: PacketBatch) -> Int {
        socket.send(batch)
    }

    public func waitForInput(timeoutMilliseconds: Int32) {
        let ready = pollDescriptors.withUnsafeMutableBufferPointer { poll($0.baseAddress, nfds_t($0.count), timeoutMilliseconds) }
        guard ready > 0 else { return }
        if pollDescriptors[pollDescriptors.count - 1].revents != 0 {
            var value: UInt64 = 0
            _ = read(wakeDescriptor, &value, 8)
        }
        // One lost device per wait (the poll set is rebuilt); another one shows at the next poll.
        let failing = Int16(POLLERR | POLLHUP | POLLNVAL)
        if let position = polledEndpoints.indices.first(where: { pollDescriptors[$0].revents & failing != 0 }) {
            loseEndpoint(polledEndpoints[position])
        }
    }

    public func wakeUp() {
        var one: UInt64 = 1
        _ = write(wakeDescriptor, &one, 8)
    }
}
