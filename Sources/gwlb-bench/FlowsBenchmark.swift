import Flows
import Wire

/// `gwlb-bench flows`: the flow engine on synthetic mixed traffic with `flowCount` flows resident.
///
/// The per-packet path measured is the one a worker runs for a packet read from an endpoint:
/// parse the IP packet, find (or create) its flow through `FlowTracker`, and write AWS's GENEVE
/// header into the headroom in front of it. The baseline runs the same packets through the same
/// parse and GENEVE write with a Swift `Dictionary` as the flow table.
struct FlowsBenchmark {
    let flowCount: Int
    let batchSize = 64
    let now: UInt32 = 1_000
    let targets = 10

    func run() {
        #if DEBUG
        print("note: debug build; figures mean little. Use `swift run -c release gwlb-bench flows`.")
        #endif
        let establishedPackets = max(1_000_000, 2 * flowCount)
        print("gwlb-bench flows: \(flowCount) flows (60 % TCP, 30 % UDP, 10 % ICMP), \(establishedPackets) packets on established flows, batches of \(batchSize), \(targets) targets")
        var report = Report()
        let arena = UnsafeMutableRawBufferPointer.allocate(byteCount: batchSize * SyntheticTraffic.slotSize, alignment: 64)
        defer { arena.deallocate() }
        var lengths = [Int](repeating: 0, count: batchSize)
        func slot(_ k: Int) -> UnsafeMutableRawBufferPointer {
            UnsafeMutableRawBufferPointer(rebasing: arena[(k * SyntheticTraffic.slotSize)..<((k + 1) * SyntheticTraffic.slotSize)])
        }
        let selection = TargetSelection(targets: (0..<targets).map { (TargetSlot($0), UInt64(0xC614_0000 + $0), TargetHealth.healthy) })

        // The flow table, and what it allocated.
        let before = allocationsSoFar()
        let tracker = FlowTracker(table: FlowTable(capacity: flowCount))
        let table = tracker.table
        // The flow table proper (entries and index), and the traffic counters kept beside it.
        let trafficBytes = Double(table.trafficBytes)
        let tableBytes = Double(allocationsSoFar().bytes - before.bytes) - trafficBytes

        // New flows: fill the table, first packet of each flow (SYN for TCP).
        let state = BatchState(size: batchSize)
        var newFlows = BatchTimes()
        var forwarded = 0
        for start in stride(from: 0, to: flowCount, by: batchSize) {
            let count = min(batchSize, flowCount - start)
            for k in 0..<count { lengths[k] = SyntheticTraffic.write(flow: start + k, first: true, reply: false, into: slot(k)) }
            newFlows.measure(operations: count) {
                forwarded += forwardBatch(slot, lengths, count: count, state, tracker, selection)
            }
        }
        precondition(forwarded == flowCount && table.count == flowCount, "every synthetic flow must be created")

        // Established flows: random flows, either direction; as a batch (the worker's way) and
        // one packet at a time.
        var generator = XorShift(state: 0x9E37_79B9_7F4A_7C15)
        var established = BatchTimes(), establishedSingly = BatchTimes()
        forwarded = 0
        for round in 0..<(2 * establishedPackets / batchSize) {
            for k in 0..<batchSize {
                let flow = Int(generator.next() % UInt64(flowCount))
                lengths[k] = SyntheticTraffic.write(flow: flow, first: false, reply: generator.next() & 1 == 0, into: slot(k))
            }
            if round % 2 == 0 {
                established.measure(operations: batchSize) {
                    forwarded += forwardBatch(slot, lengths, count: batchSize, state, tracker, selection)
                }
            } else {
                establishedSingly.measure(operations: batchSize) {
                    for k in 0..<batchSize where forward(slot(k), lengths[k], tracker, selection) { forwarded += 1 }
                }
            }
        }
        precondition(forwarded == established.operations + establishedSingly.operations && table.counters.created == UInt64(flowCount),
                     "every established packet must find its flow")

        // Baseline: the same path with a Dictionary as the flow table.
        let dictionaryBefore = allocationsSoFar()
        var dictionary: [FlowKey: FlowEntry] = [:]
        dictionary.reserveCapacity(flowCount)
        var keys: [FlowKey] = []
        keys.reserveCapacity(flowCount)
        for flow in 0..<flowCount {
            let length = SyntheticTraffic.write(flow: flow, first: true, reply: false, into: slot(0))
            let summary = try! PacketSummary(parsing: UnsafeRawBufferPointer(rebasing: slot(0)[SyntheticTraffic.headroom..<(SyntheticTraffic.headroom + length)]))
            let key = FlowKey(summary, mode: .fiveTuple)
            keys.append(key)
            dictionary[key] = FlowEntry(key: key, flags: .live, target: TargetSlot(flow % targets), generation: UInt16(truncatingIfNeeded: flow),
                                        created: now, lastSeen: now)
        }
        let dictionaryBytes = Double(allocationsSoFar().bytes - dictionaryBefore.bytes) - Double(flowCount * MemoryLayout<FlowKey>.stride)
        var dictionaryPath = BatchTimes()
        for _ in 0..<(establishedPackets / batchSize) {
            for k in 0..<batchSize {
                let flow = Int(generator.next() % UInt64(flowCount))
                lengths[k] = SyntheticTraffic.write(flow: flow, first: false, reply: generator.next() & 1 == 0, into: slot(k))
            }
            dictionaryPath.measure(operations: batchSize) {
                for k in 0..<batchSize where forwardWithDictionary(slot(k), lengths[k], &dictionary) { forwarded += 1 }
            }
        }

        // Table operations alone: hash + probe for hits; hash + probe + insert for new keys.
        var lookups = BatchTimes(), dictionaryLookups = BatchTimes()
        var found = 0
        var batchKeys = [FlowKey](repeating: keys[0], count: batchSize)
        var hashes = [UInt64](repeating: 0, count: batchSize)
        for _ in 0..<(establishedPackets / batchSize) {
            // The batch's keys are at hand, as a parsed batch's would be.
            for k in 0..<batchSize { batchKeys[k] = keys[Int(generator.next() % UInt64(flowCount))] }
            lookups.measure(operations: batchSize) {
                for k in 0..<batchSize {
                    hashes[k] = table.hasher.hash(batchKeys[k])
                    table.prefetchSlot(hash: hashes[k])
                }
                let distance = FlowTracker.prefetchDistance
                for k in 0..<distance { table.prefetchEntry(hash: hashes[k]) }
                for k in 0..<batchSize {
                    if k + distance < batchSize { table.prefetchEntry(hash: hashes[k + distance]) }
                    if case .found = table.lookup(batchKeys[k], hash: hashes[k], now: now) { found += 1 }
                }
            }
            dictionaryLookups.measure(operations: batchSize) {
                for k in 0..<batchSize where dictionary[batchKeys[k]] != nil { found += 1 }
            }
        }
        precondition(found == 2 * lookups.operations)
        let freshTable = FlowTable(capacity: flowCount)
        var freshDictionary: [FlowKey: UInt16] = [:]
        freshDictionary.reserveCapacity(flowCount)
        var inserts = BatchTimes(), dictionaryInserts = BatchTimes()
        for start in stride(from: 0, to: flowCount, by: batchSize) {
            let count = min(batchSize, flowCount - start)
            inserts.measure(operations: count) {
                for k in 0..<count {
                    hashes[k] = freshTable.hasher.hash(keys[start + k])
                    freshTable.prefetchSlot(hash: hashes[k])
                }
                for k in 0..<count {
                    if case .absent(let point) = freshTable.lookup(keys[start + k], hash: hashes[k], now: now) {
                        _ = freshTable.insert(keys[start + k], at: point, target: TargetSlot(0), isTCP: false, now: now)
                    }
                }
            }
            dictionaryInserts.measure(operations: count) {
                for k in start..<(start + count) where freshDictionary[keys[k]] == nil { freshDictionary[keys[k]] = 0 }
            }
        }
        precondition(freshTable.count == flowCount && freshDictionary.count == flowCount)

        // Maglev for 300 targets, against the simplest possible table (entry i → target i mod N).
        var maglevTimes: [Double] = [], naiveTimes: [Double] = []
        let identities = (0..<300).map { UInt64(0xC614_0000 + $0) }
        for _ in 0..<21 {
            var start = nanoseconds()
            let maglev = Maglev.build(identities: identities)
            maglevTimes.append(Double(nanoseconds() - start) / 1e6)
            start = nanoseconds()
            let naive = (0..<Maglev.defaultTableSize).map { UInt16($0 % identities.count) }
            naiveTimes.append(Double(nanoseconds() - start) / 1e6)
            precondition(maglev.count == naive.count)
        }

        report.add("established packet: parse+lookup+GENEVE", established.median, "ns/pkt",
                   baseline: ("same path, Dictionary table", dictionaryPath.median))
        report.add("  the same, one packet at a time", establishedSingly.median, "ns/pkt",
                   baseline: ("same path, Dictionary table", dictionaryPath.median))
        report.add("new flow: parse+place+insert+GENEVE", newFlows.median, "ns/flow",
                   baseline: ("established packet", established.median))
        report.add("table lookup, hit (hash+probe)", lookups.median, "ns", baseline: ("Dictionary lookup", dictionaryLookups.median),
                   goal: "<= 100 ns (median)")
        report.add("table lookup miss + insert", inserts.median, "ns", baseline: ("Dictionary insert", dictionaryInserts.median),
                   goal: "<= 100 ns (median)")
        report.add("table bytes per flow (allocated)", tableBytes / Double(flowCount), "B",
                   baseline: ("Dictionary<FlowKey, FlowEntry>", dictionaryBytes / Double(flowCount)), goal: "<= 64 B")
        report.add("traffic counters per flow (telemetry)", trafficBytes / Double(flowCount), "B",
                   baseline: ("the table's own bytes per flow", tableBytes / Double(flowCount)))
        report.add("heap allocations per packet, established", (Double(established.allocations + establishedSingly.allocations)) / Double(established.operations + establishedSingly.operations), "allocs",
                   baseline: ("Dictionary path", dictionaryPath.allocationsPerOperation), goal: "0")
        report.add("heap allocations per new flow", newFlows.allocationsPerOperation, "allocs")
        report.add("mean probe length at full table", table.meanProbeLength, "slots")
        report.add("Maglev build, 300 targets, M = 65537", median(maglevTimes), "ms",
                   baseline: ("i mod N table of the same size", median(naiveTimes)), goal: "<= 5 ms")
        report.print()
        print("packets counted for allocations: \(established.operations + establishedSingly.operations) established, \(newFlows.operations) new")
    }

    func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

    /// Scratch space for one batch, allocated once.
    final class BatchState {
        let summaries: UnsafeMutableBufferPointer<PacketSummary>
        let probes: UnsafeMutableBufferPointer<FlowProbe>
        let valid: UnsafeMutableBufferPointer<Bool>

        init(size: Int) {
            summaries = .allocate(capacity: size)
            probes = .allocate(capacity: size)
            valid = .allocate(capacity: size)
            valid.initialize(repeating: false)
        }

        deinit {
            summaries.deallocate()
            probes.deallocate()
            valid.deallocate()
        }
    }

    /// The worker's per-batch path: parse all, probe all (key, hash, prefetch slot), then decide and
    /// encapsulate each while prefetching entries a few packets ahead. Returns how many were forwarded.
    @inline(__always)
    func forwardBatch(_ slot: (Int) -> UnsafeMutableRawBufferPointer, _ lengths: [Int], count: Int, _ state: BatchState,
                      _ tracker: FlowTracker, _ selection: TargetSelection) -> Int {
        let headroom = SyntheticTraffic.headroom
        for k in 0..<count {
            let packet = UnsafeRawBufferPointer(rebasing: slot(k)[headroom..<(headroom + lengths[k])])
            if let summary = try? PacketSummary(parsing: packet) {
                state.summaries[k] = summary
                state.valid[k] = true
            } else {
                state.valid[k] = false
            }
        }
        for k in 0..<count where state.valid[k] { state.probes[k] = tracker.probe(state.summaries[k], mode: .fiveTuple) }
        let distance = FlowTracker.prefetchDistance
        for k in 0..<min(distance, count) where state.valid[k] { tracker.prefetch(state.probes[k]) }
        var forwarded = 0
        for k in 0..<count where state.valid[k] {
            if k + distance < count, state.valid[k + distance] { tracker.prefetch(state.probes[k + distance]) }
            guard case .forward(_, _, let cookie, _) = tracker.track(state.summaries[k], probe: state.probes[k],
                                                                    selection: selection, now: now) else { continue }
            AWSGeneveMetadata.write(to: UnsafeMutableRawBufferPointer(rebasing: slot(k)[(headroom - Geneve.awsHeaderLength)..<headroom]),
                                    protocolType: Geneve.protocolTypeIPv4, endpointID: 0x0123_4567_89AB_CDEF,
                                    attachmentID: 0x1122_3344_5566_7788, cookie: cookie)
            forwarded += 1
        }
        return forwarded
    }

    /// The worker's per-packet path for a packet read from an endpoint.
    @inline(__always)
    func forward(_ slot: UnsafeMutableRawBufferPointer, _ length: Int, _ tracker: FlowTracker, _ selection: TargetSelection) -> Bool {
        let headroom = SyntheticTraffic.headroom
        let packet = UnsafeRawBufferPointer(rebasing: slot[headroom..<(headroom + length)])
        guard let summary = try? PacketSummary(parsing: packet) else { return false }
        guard case .forward(_, _, let cookie, _) = tracker.track(summary, mode: .fiveTuple, selection: selection, now: now) else { return false }
        AWSGeneveMetadata.write(to: UnsafeMutableRawBufferPointer(rebasing: slot[(headroom - Geneve.awsHeaderLength)..<headroom]),
                                protocolType: Geneve.protocolTypeIPv4, endpointID: 0x0123_4567_89AB_CDEF,
                                attachmentID: 0x1122_3344_5566_7788, cookie: cookie)
        return true
    }

    @inline(__always)
    func forwardWithDictionary(_ slot: UnsafeMutableRawBufferPointer, _ length: Int, _ dictionary: inout [FlowKey: FlowEntry]) -> Bool {
        let headroom = SyntheticTraffic.headroom
        let packet = UnsafeRawBufferPointer(rebasing: slot[headroom..<(headroom + length)])
        guard let summary = try? PacketSummary(parsing: packet) else { return false }
        let key = FlowKey(summary, mode: .fiveTuple)
        guard let index = dictionary.index(forKey: key) else { return false }
        dictionary.values[index].lastSeen = now
        let entry = dictionary.values[index]
        AWSGeneveMetadata.write(to: UnsafeMutableRawBufferPointer(rebasing: slot[(headroom - Geneve.awsHeaderLength)..<headroom]),
                                protocolType: Geneve.protocolTypeIPv4, endpointID: 0x0123_4567_89AB_CDEF,
                                attachmentID: 0x1122_3344_5566_7788, cookie: UInt32(entry.generation))
        return true
    }
}
