import Wire

/// Where a data-plane worker's packets come from and go: its queues of the endpoint TUN devices
/// and its GENEVE socket (`SystemIO`), or memory for tests (`MemoryIO`).
public protocol WorkerIO: AnyObject {
    /// Number of endpoints, numbered 0..<endpointCount.
    var endpointCount: Int { get }

    /// Reads waiting packets of endpoint `endpoint` into `batch` (data after the headroom) until it
    /// is full or nothing waits; sets `batch.count`.
    func readEndpoint(_ endpoint: Int, into batch: PacketBatch)

    /// Writes one IP packet into endpoint `endpoint`, for the kernel to route on.
    /// False if the device refused it.
    func writeEndpoint(_ endpoint: Int, packet: UnsafeRawBufferPointer) -> Bool

    /// Whether `writeEndpoint(_:packet:header:)` takes TCP super-packets (a TUN device with offloads).
    var acceptsSuperPackets: Bool { get }

    /// Writes one IP packet, or a super-packet `header` describes (only when `acceptsSuperPackets`).
    func writeEndpoint(_ endpoint: Int, packet: UnsafeRawBufferPointer, header: VirtioNetHeader) -> Bool

    /// Receives waiting datagrams into `batch` (data at `offsets`, sender in `peers`) until full or
    /// nothing waits; sets `batch.count`.
    func receiveDatagrams(into batch: PacketBatch)

    /// Sends the first `batch.count` slots' data to their `peers`. Returns how many went out.
    func sendDatagrams(_ batch: PacketBatch) -> Int

    /// Blocks until something may be readable, `wakeup` fires, or `timeoutMilliseconds` passes.
    func waitForInput(timeoutMilliseconds: Int32)

    /// Adopts a changed set of endpoint devices, if any; called by the worker between batches.
    func refreshEndpoints()

    /// Makes a `waitForInput` in progress (or the next one) return at once; any thread may call it.
    func wakeUp()

    /// Stops (false) or resumes taking new packets from the devices and the socket. What was read
    /// already (the rest of a super-packet) is still handed out: a stop then loses nothing read.
    func setReading(_ reading: Bool)
}

extension WorkerIO {
    /// Most I/O has a fixed set of endpoints.
    public func refreshEndpoints() {}

    public func setReading(_ reading: Bool) {}

    public var acceptsSuperPackets: Bool { false }

    /// Without super-packets, a plain packet is all there is to write.
    public func writeEndpoint(_ endpoint: Int, packet: UnsafeRawBufferPointer, header: VirtioNetHeader) -> Bool {
        writeEndpoint(endpoint, packet: packet)
    }
}
