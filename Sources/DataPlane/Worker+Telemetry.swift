import Flows
import PacketIO
import Synchronization
import Wire

/// What the worker tells the rest of gwlbd: captures, flow queries, drop records and flow logs.
extension Worker {
    // MARK: Captures

    func pickUpCaptureFilter() {
        let generation = capture.generation.load(ordering: .acquiring)
        guard generation != captureGeneration else { return }
        captureGeneration = generation
        captureFilter = capture.filter.withLock { $0 }
    }

    /// Copies a forwarded or returned packet when the running capture wants its flow.
    @inline(__always)
    func captureIfWanted(_ summary: PacketSummary, _ packet: UnsafeRawBufferPointer, _ event: CaptureEvent, endpoint: Int) {
        guard let filter = captureFilter, filter.matches(summary) else { return }
        captureRing.push(UnsafeRawBufferPointer(rebasing: packet[..<min(summary.length, packet.count)]), time: time.wallNanoseconds,
                         event: event, endpoint: endpoint, appliance: nil, isGeneveDatagram: false)
    }

    // MARK: Flow queries

    func answerFlowQuery() {
        let box = mailbox.flowQuery
        box.pending.store(false, ordering: .relaxed)
        guard let (id, query) = box.take() else { return }
        var records: [FlowRecord] = []
        table.forEachFlow { handle, entry in
            guard records.count < query.limit, query.matches(entry) else { return }
            let traffic = table.traffic(handle)
            records.append(FlowRecord(key: entry.key, target: entry.target, cookie: table.cookie(handle),
                                      ageSeconds: time.seconds &- entry.created, idleSeconds: time.seconds &- entry.lastSeen,
                                      confirmed: entry.isConfirmed, state: entry.state, worker: index, packets: traffic.packets,
                                      bytes: traffic.bytes))
        }
        box.answer(records, id: id)
    }

    /// Copies counters and drops where readers find them.

    // MARK: Drops

    func record(_ reason: DropReason, _ summary: PacketSummary? = nil, detail: WireError? = nil, size: Int,
                        endpoint: Int? = nil, appliance: IPv4Address? = nil, packet: UnsafeRawBufferPointer? = nil,
                        isGeneveDatagram: Bool = false) {
        counters.drops[Int(reason.rawValue)] += 1
        if let packet, captureFilter?.drops == true {
            captureRing.push(packet, time: time.wallNanoseconds, event: .dropped(reason, detail), endpoint: endpoint, appliance: appliance,
                             isGeneveDatagram: isGeneveDatagram)
        }
        if let flowLog, let summary, let endpoint, flowLogIntervalEnd > 0 {
            let now = wallSeconds
            flowLog.push(FlowLogRecord(interval: flowLogIntervalEnd - flowLogInterval, source: summary.source, destination: summary.destination,
                                       sourcePort: summary.sourcePort, destinationPort: summary.destinationPort, protocol: summary.protocol,
                                       endpoint: UInt8(endpoint), accepted: false, packets: 1, bytes: UInt64(size), start: now, end: now))
        }
        drops.append(DropRecord(time: time.wallNanoseconds, reason: reason, detail: detail,
                                source: summary?.source ?? .zero, destination: summary?.destination ?? .zero,
                                sourcePort: summary?.sourcePort ?? 0, destinationPort: summary?.destinationPort ?? 0,
                                protocol: summary?.protocol ?? IPProtocol(rawValue: 0), size: size,
                                endpoint: endpoint.map { UInt8($0) }, appliance: appliance))
    }

    // MARK: Flow logs

    var wallSeconds: UInt32 { UInt32(truncatingIfNeeded: time.wallNanoseconds / 1_000_000_000) }

    /// At the end of each aggregation interval, every flow that carried something in it gets its
    /// records (a scan of the table once a minute or ten, never per packet).
    func closeFlowLogIntervalIfDue() {
        let now = wallSeconds
        guard now >= flowLogIntervalEnd else { return }
        if flowLogIntervalEnd > 0 {
            table.forEachFlow { handle, entry in logFlow(handle, entry) }
        }
        flowLogIntervalEnd = (now / flowLogInterval + 1) * flowLogInterval
    }

    /// Records of every flow's traffic so far (the data plane stopping; the worker's thread has ended).
    public func flushFlowLog() {
        guard flowLog != nil else { return }
        table.forEachFlow { handle, entry in logFlow(handle, entry) }
    }

    /// The flow's traffic since its last record, one record per direction that carried any.
    func logFlow(_ handle: FlowHandle, _ entry: FlowEntry) {
        guard let flowLog, flowLogIntervalEnd > 0 else { return }
        let interval = flowLogIntervalEnd - flowLogInterval
        let (fromLow, fromHigh) = table.takeInterval(handle)
        let key = entry.key
        if fromLow.packets > 0 {
            flowLog.push(FlowLogRecord(interval: interval, source: key.lowAddress, destination: key.highAddress, sourcePort: key.lowPort,
                                       destinationPort: key.highPort, protocol: key.protocol, endpoint: key.endpoint, accepted: true,
                                       packets: UInt64(fromLow.packets), bytes: fromLow.bytes, start: fromLow.first, end: fromLow.last))
        }
        if fromHigh.packets > 0 {
            flowLog.push(FlowLogRecord(interval: interval, source: key.highAddress, destination: key.lowAddress, sourcePort: key.highPort,
                                       destinationPort: key.lowPort, protocol: key.protocol, endpoint: key.endpoint, accepted: true,
                                       packets: UInt64(fromHigh.packets), bytes: fromHigh.bytes, start: fromHigh.first, end: fromHigh.last))
        }
    }
}
