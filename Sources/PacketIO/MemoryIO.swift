import Wire

/// In-memory I/O for tests: packets waiting on each endpoint and on the socket are arrays of
/// bytes, and what the worker writes or sends is collected. Single-threaded: the test drives the
/// worker.
public final class MemoryIO: WorkerIO {
    /// Packets waiting to be read from each endpoint.
    public var endpointInput: [[[UInt8]]]
    /// Packets the worker wrote into each endpoint.
    public var endpointOutput: [[[UInt8]]]
    /// Datagrams waiting on the socket, with their senders.
    public var datagramInput: [(from: UDPPeer, bytes: [UInt8])] = []
    /// Datagrams the worker sent, with their destinations.
    public var datagramOutput: [(to: UDPPeer, bytes: [UInt8])] = []
    /// When false, endpoint writes fail (a device gone away).
    public var endpointsAcceptWrites = true
    /// Whether the worker may write TCP super-packets (as into a TUN device with offloads).
    public var acceptsSuperPackets = false
    /// Each endpoint write's virtio header, in order (plain ones too), when super-packets are accepted.
    public var endpointWriteHeaders: [VirtioNetHeader] = []

    public init(endpointCount: Int) {
        endpointInput = Array(repeating: [], count: endpointCount)
        endpointOutput = Array(repeating: [], count: endpointCount)
    }

    public var endpointCount: Int { endpointInput.count }

    public func readEndpoint(_ endpoint: Int, into batch: PacketBatch) {
        var count = 0
        while count < batch.capacity, !endpointInput[endpoint].isEmpty {
            let packet = endpointInput[endpoint].removeFirst()
            let area = batch.readArea(count)
            let length = min(packet.count, area.count)
            area.copyBytes(from: packet.prefix(length))
            batch.offsets[count] = batch.headroom
            batch.lengths[count] = length
            count += 1
        }
        batch.count = count
    }

    public func writeEndpoint(_ endpoint: Int, packet: UnsafeRawBufferPointer) -> Bool {
        guard endpointsAcceptWrites else { return false }
        endpointOutput[endpoint].append(Array(packet))
        return true
    }

    /// A super-packet is kept whole in `endpointOutput`; its header goes to `endpointWriteHeaders`.
    public func writeEndpoint(_ endpoint: Int, packet: UnsafeRawBufferPointer, header: VirtioNetHeader) -> Bool {
        guard endpointsAcceptWrites else { return false }
        endpointOutput[endpoint].append(Array(packet))
        endpointWriteHeaders.append(header)
        return true
    }

    public func receiveDatagrams(into batch: PacketBatch) {
        var count = 0
        while count < batch.capacity, !datagramInput.isEmpty {
            let (peer, bytes) = datagramInput.removeFirst()
            let slot = batch.slot(count)
            // As the kernel does: a datagram larger than the buffer arrives truncated, length 0 here.
            if bytes.count <= slot.count {
                slot.copyBytes(from: bytes)
                batch.lengths[count] = bytes.count
            } else {
                batch.lengths[count] = 0
            }
            batch.offsets[count] = 0
            batch.segmentSizes[count] = 0
            batch.peers[count] = peer
            count += 1
        }
        batch.count = count
    }

    public func sendDatagrams(_ batch: PacketBatch) -> Int {
        var sent = 0
        for index in 0..<batch.count where batch.lengths[index] > 0 {
            datagramOutput.append((batch.peers[index], Array(batch.data(index))))
            sent += 1
        }
        return sent
    }

    public func waitForInput(timeoutMilliseconds: Int32) {}
    public func wakeUp() {}
}
