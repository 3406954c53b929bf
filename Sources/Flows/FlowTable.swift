import CGWLBLinux
import Wire

/// The flows one worker tracks: a fixed number of entries allocated at start, found through an
/// open-addressing index (linear probing, 1.5 slots per entry, backward-shift deletion, no
/// tombstones). Nothing is allocated per insert or lookup, and expiry happens in small steps
/// (`expire(now:budget:)`) or when a lookup meets an expired flow, never in a sweep of the table.
///
/// An index slot is a 32-bit word: 0 when empty, else the top 8 bits of the key's hash (so most
/// mismatches never touch the entry) and the entry index + 1 in the low 24 bits.
///
/// Not thread-safe: one worker owns a table.
public final class FlowTable {
    /// Entries are addressed with 24 bits in an index slot.
    public static let maximumCapacity = (1 << 24) - 2

    public let capacity: Int
    public let hasher: FlowHasher
    public let cookies: FlowCookieCodec
    /// This table's worker number, carried in its cookies.
    public let owner: UInt32
    /// Active flows.
    public internal(set) var count = 0
    public internal(set) var counters = FlowTableCounters()
    /// Told of every flow that expires, just before its entry is freed: for TCP resets on idle
    /// timeout and flow records. Runs on the owning worker's thread.
    public var onExpire: (FlowEntry) -> Void = { _ in }
    /// Told of every flow that ends, by expiry or `remove`, while its entry and traffic are still
    /// readable: the flow log's last record of it.
    public var onRelease: (FlowHandle, FlowEntry) -> Void = { _, _ in }

    let entries: UnsafeMutablePointer<FlowEntry>
    /// False when the entries live in memory someone else provided (and frees).
    private let ownsEntries: Bool
    /// The idle timeouts of each endpoint slot's flows (its load balancer's listener), by the key's
    /// endpoint: one fixed array, so expiry costs one load and a change allocates nothing.
    private let endpointTimeouts: UnsafeMutableBufferPointer<FlowTimeouts>
    /// Live flows pinned to each target slot, kept where a flow's target is set or its entry freed,
    /// so the count is exact: a slot nobody's flow uses may go to another appliance.
    private let targetFlows: UnsafeMutableBufferPointer<Int>
    private let traffic: UnsafeMutablePointer<FlowTraffic>
    let slots: UnsafeMutablePointer<UInt32>
    let slotCount: Int
    /// Entries below this index have been used at least once; the rest were never touched.
    private var highWater = 0
    /// Head of the list of freed entries, linked through `lastSeen`; `noEntry` when empty.
    var freeHead = FlowTable.noEntry
    /// Next entry the expiry steps look at.
    private var hand = 0

    private static let noEntry = UInt32.max
    private static let tagMask: UInt32 = 0xFF00_0000
    static let indexMask: UInt32 = 0x00FF_FFFF

    /// - Parameter memory: where the entries and their traffic live (shared memory that outlives
    ///   the process, `SharedFlowState`); nil allocates them here.
    public init(capacity: Int, timeouts: FlowTimeouts = FlowTimeouts(), hasher: FlowHasher = .random(),
                cookies: FlowCookieCodec? = nil, owner: UInt32 = 0, targetSlots: Int = 1024, memory: FlowTableMemory? = nil) {
        precondition((1...Self.maximumCapacity).contains(capacity), "flow table capacity must be 1...\(Self.maximumCapacity)")
        self.capacity = capacity
        endpointTimeouts = .allocate(capacity: Int(UInt8.max) + 1)
        endpointTimeouts.initialize(repeating: timeouts)
        self.hasher = hasher
        self.cookies = cookies ?? .random(capacity: capacity)
        precondition(self.cookies.indexBits >= Int.bitWidth - (capacity - 1).leadingZeroBitCount,
                     "cookie codec too small for the table")
        self.owner = owner
        slotCount = capacity + capacity / 2 + 1
        ownsEntries = memory == nil
        entries = memory?.entries ?? HugePageMemory.allocate(FlowEntry.self, count: capacity)
        traffic = memory?.traffic ?? HugePageMemory.allocate(FlowTraffic.self, count: capacity)
        slots = HugePageMemory.allocate(UInt32.self, count: slotCount)
        slots.initialize(repeating: 0, count: slotCount)
        targetFlows = .allocate(capacity: targetSlots)
        targetFlows.initialize(repeating: 0)
        if let memory, memory.adopt { adoptEntries(written: min(memory.written, capacity)) }
    }

    deinit {
        endpointTimeouts.deallocate()
        targetFlows.deallocate()
        if ownsEntries {
            HugePageMemory.free(entries)
            HugePageMemory.free(traffic)
        }
        HugePageMemory.free(slots)
    }

    /// Takes over the live flows an earlier process left in shared memory: everything but the
    /// entries and their traffic (the index, the free list, the counts) is rebuilt from them, so
    /// a process killed at any instruction leaves nothing to repair. Entries never used are zero
    /// (not live); the rest of the table below the last live entry becomes the free list, lowest
    /// first, each keeping its generation so a reused entry still gets a new cookie.
    private func adoptEntries(written: Int) {
        var last = -1
        for index in 0..<written where entries[index].flags.contains(.live) { last = index }
        highWater = last + 1
        for index in stride(from: highWater - 1, through: 0, by: -1) where !entries[index].flags.contains(.live) {
            entries[index].lastSeen = freeHead
            freeHead = UInt32(index)
        }
        for index in 0..<highWater where entries[index].flags.contains(.live) {
            let key = entries[index].key
            guard case .absent(let point) = lookup(key, hash: hasher.hash(key), now: 0) else {
                // The same key twice (a process killed between two writes): keep the first.
                entries[index].flags = []
                continue
            }
            slots[point.slot] = point.tag | UInt32(index + 1)
            countTarget(entries[index].target, 1)
            count += 1
            countProtocol(of: key, 1)
        }
    }

    /// The timeouts flows of `endpoint` live by.
    public func timeouts(endpoint: UInt8) -> FlowTimeouts { endpointTimeouts[Int(endpoint)] }

    /// Sets the timeouts of `endpoint`'s flows; its live flows follow them from now on.
    public func setTimeouts(_ timeouts: FlowTimeouts, endpoint: UInt8) { endpointTimeouts[Int(endpoint)] = timeouts }

    /// True when `entry` has outlived its endpoint's timeout at `now`.
    @inline(__always)
    public func isExpired(_ entry: FlowEntry, now: UInt32) -> Bool {
        endpointTimeouts[Int(entry.key.endpoint)].isExpired(entry, now: now)
    }

    /// Bytes this table allocated: entries, index and the traffic beside them.
    public var allocatedBytes: Int {
        capacity * MemoryLayout<FlowEntry>.stride + slotCount * MemoryLayout<UInt32>.stride + trafficBytes
    }

    /// Of those, the per-flow traffic (telemetry: flow listings and flow logs).
    public var trafficBytes: Int { capacity * MemoryLayout<FlowTraffic>.stride }

    public subscript(handle: FlowHandle) -> FlowEntry {
        // Safe: handles come from this table and index live entries below highWater.
        entries[handle.index]
    }

    // MARK: Lookup and insert

    /// First stage of a batched lookup: starts loading the key's index slot. Looking up a batch
    /// as prefetchSlot for all, prefetchEntry for all, then lookup for all overlaps the memory
    /// latencies of the batch instead of paying them one after another.
    @inline(__always)
    public func prefetchSlot(hash: UInt64) {
        gwlb_prefetch_read(slots + homeSlot(hash))
    }

    /// Second stage: walks the probe run (loaded by now; runs are short) to the first slot whose
    /// tag matches and starts loading that entry, for writing (a hit updates `lastSeen`). An entry
    /// can straddle two cache lines.
    @inline(__always)
    public func prefetchEntry(hash: UInt64) {
        let tag = UInt32(truncatingIfNeeded: hash >> 56) << 24
        var slot = homeSlot(hash)
        while true {
            let value = slots[slot]
            if value == 0 { return }
            if value & Self.tagMask == tag {
                let entry = UnsafeRawPointer(entries + (Int(value & Self.indexMask) - 1))
                gwlb_prefetch_write(entry)
                gwlb_prefetch_write(entry + (MemoryLayout<FlowEntry>.size - 1))
                return
            }
            slot = slot + 1 == slotCount ? 0 : slot + 1
        }
    }

    /// Finds the live flow with `key` (`hash` = `hasher.hash(key)`). An expired flow met on the way
    /// is removed, reported through `onExpire`, and the key is then absent.
    @inline(__always)
    public func lookup(_ key: FlowKey, hash: UInt64, now: UInt32) -> FlowLookup {
        let tag = UInt32(truncatingIfNeeded: hash >> 56) << 24
        var slot = homeSlot(hash)
        while true {
            // Safe: slot < slotCount throughout; slotCount > capacity >= count, so an empty slot ends the probe.
            let value = slots[slot]
            if value == 0 { return .absent(FlowInsertionPoint(slot: slot, tag: tag)) }
            if value & Self.tagMask == tag {
                let index = Int(value & Self.indexMask) - 1
                if entries[index].key == key {
                    guard isExpired(entries[index], now: now) else { return .found(FlowHandle(index: index)) }
                    expireEntry(index, slot: slot)
                    return .absent(insertionPoint(hash))
                }
            }
            slot = slot + 1 == slotCount ? 0 : slot + 1
        }
    }

    /// Adds a flow at the point an `.absent` lookup returned (nothing may change the table in
    /// between). Returns nil, and counts a rejected flow, when all entries are in use.
    @inline(__always)
    public func insert(_ key: FlowKey, at point: FlowInsertionPoint, target: TargetSlot, isTCP: Bool, isUDP: Bool = false,
                       now: UInt32) -> FlowHandle? {
        let index: Int
        let generation: UInt16
        if freeHead != Self.noEntry {
            index = Int(freeHead)
            freeHead = entries[index].lastSeen
            generation = entries[index].generation &+ 1
        } else if highWater < capacity {
            index = highWater
            highWater += 1
            generation = 0
        } else {
            counters.rejected += 1
            if isTCP { counters.rejectedTCP += 1 }
            return nil
        }
        (entries + index).initialize(to: FlowEntry(key: key, flags: isTCP ? [.live, .tcp, .halfOpen] : isUDP ? [.live, .udp] : .live,
                                                   target: target, generation: generation, created: now, lastSeen: now))
        (traffic + index).initialize(to: FlowTraffic())
        slots[point.slot] = point.tag | UInt32(index + 1)
        countTarget(target, 1)
        count += 1
        countProtocol(of: key, 1)
        counters.created += 1
        return FlowHandle(index: index)
    }

    /// The GENEVE flow cookie of a live flow.
    @inline(__always)
    public func cookie(_ handle: FlowHandle) -> UInt32 {
        cookies.encode(index: handle.index, owner: owner, generation: UInt32(entries[handle.index].generation))
    }

    /// The live flow whose cookie is `cookie`, as the return path needs it: from the cookie alone,
    /// whatever the appliance did to the inner packet. An expired flow is removed and not returned.
    @inline(__always)
    public func flow(forCookie cookie: UInt32, now: UInt32) -> FlowHandle? {
        let fields = cookies.decode(cookie)
        guard fields.owner == owner, fields.index < highWater else { return nil }
        let entry = entries[fields.index]
        guard entry.flags.contains(.live), self.cookie(FlowHandle(index: fields.index)) == cookie else { return nil }
        guard !isExpired(entry, now: now) else {
            expireEntry(fields.index, slot: slot(of: fields.index))
            return nil
        }
        return FlowHandle(index: fields.index)
    }

    // MARK: Updates

    /// A packet of the flow went out: refresh its idle timer. `establishes`: a TCP segment that
    /// completes the handshake (ACK without SYN or RST): the flow is no longer half-open. `opens`:
    /// a SYN without ACK. A half-open flow's timer runs from its last SYN: the answers do not
    /// extend it (a server resends its SYN-ACK for a minute to a spoofed source that never
    /// replies, which would otherwise hold a SYN flood's entries that long).
    @inline(__always)
    public func touch(_ handle: FlowHandle, now: UInt32, isTCP: Bool, isUDP: Bool = false, establishes: Bool = false, opens: Bool = false) {
        if establishes || opens || !entries[handle.index].flags.contains(.halfOpen) { entries[handle.index].lastSeen = now }
        if isTCP { entries[handle.index].flags.insert(.tcp) }
        if isUDP { entries[handle.index].flags.insert(.udp) }
        if establishes { entries[handle.index].flags.remove(.halfOpen) }
    }

    /// A TCP segment with SYN, FIN or RST went through the flow (from the key's low end or not):
    /// FINs and RSTs bring the connection towards its closing timeout; a SYN after them opens a
    /// new connection on the same tuple, half-open again.
    public func noteTCPControl(_ handle: FlowHandle, flags tcp: TCPFlags, fromLow: Bool) {
        var flags = entries[handle.index].flags
        if tcp.contains(.syn), !tcp.contains(.ack), !tcp.contains(.rst), !flags.isDisjoint(with: FlowFlags.closingBits) {
            flags.subtract(FlowFlags.closingBits)
            flags.insert(.halfOpen)
        }
        if tcp.contains(.rst) { flags.insert(.reset) }
        if tcp.contains(.fin) { flags.insert(fromLow ? .finFromLow : .finFromHigh) }
        entries[handle.index].flags = flags
    }

    /// A packet of the flow came back from its target: established, and its idle timer refreshed.
    @inline(__always)
    public func confirm(_ handle: FlowHandle, now: UInt32) {
        // A half-open flow's timer runs from its last SYN (see `touch`).
        if !entries[handle.index].flags.contains(.halfOpen) { entries[handle.index].lastSeen = now }
        entries[handle.index].flags.insert(.confirmed)
    }

    /// Counts a packet of the flow, `bytes` long, travelling from the key's low end or not.
    @inline(__always)
    public func account(_ handle: FlowHandle, fromLow: Bool, bytes: Int, wallSeconds: UInt32) {
        let flow = traffic + handle.index
        flow.pointee.packets &+= 1
        flow.pointee.bytes &+= UInt64(bytes)
        if fromLow { flow.pointee.fromLow.add(bytes: bytes, at: wallSeconds) } else { flow.pointee.fromHigh.add(bytes: bytes, at: wallSeconds) }
    }

    /// What the live flow carried.
    public func traffic(_ handle: FlowHandle) -> FlowTraffic { traffic[handle.index] }

    /// Each direction's traffic since the last call, which starts anew (a flow-log export).
    public func takeInterval(_ handle: FlowHandle) -> (fromLow: DirectionTraffic, fromHigh: DirectionTraffic) {
        let flow = traffic + handle.index
        defer {
            flow.pointee.fromLow = DirectionTraffic()
            flow.pointee.fromHigh = DirectionTraffic()
        }
        return (flow.pointee.fromLow, flow.pointee.fromHigh)
    }

    /// Pins the flow to another target (a rebalance decision).
    public func retarget(_ handle: FlowHandle, to target: TargetSlot) {
        countTarget(entries[handle.index].target, -1)
        entries[handle.index].target = target
        countTarget(target, 1)
    }

    /// Live flows pinned to target slot `target`.
    public func flows(on target: TargetSlot) -> Int {
        target.index < targetFlows.count ? targetFlows[target.index] : 0
    }

    @inline(__always)
    func countTarget(_ target: TargetSlot, _ change: Int) {
        // Slots beyond the counters' room cannot be published; the snapshot never names them.
        if target.index < targetFlows.count { targetFlows[target.index] += change }
    }

    /// Removes a live flow (reset, end of drain). Not reported through `onExpire`.
    public func remove(_ handle: FlowHandle) {
        precondition(entries[handle.index].flags.contains(.live), "removing a free flow entry")
        onRelease(handle, entries[handle.index])
        freeEntry(handle.index, slot: slot(of: handle.index))
        counters.removed += 1
    }

    /// Looks at the next `budget` entries and expires those past their timeout. Call it often with a
    /// small budget (each batch, each idle tick): the hand cycles through all used entries.
    /// Returns how many flows expired.
    @discardableResult
    public func expire(now: UInt32, budget: Int) -> Int {
        var expired = 0
        for _ in 0..<min(budget, highWater) {
            let index = hand
            hand = hand + 1 >= highWater ? 0 : hand + 1
            if entries[index].flags.contains(.live), isExpired(entries[index], now: now) {
                expireEntry(index, slot: slot(of: index))
                expired += 1
            }
        }
        return expired
    }

    /// Every live flow, in entry order (for flow listings; not for the per-packet path).
    public func forEachFlow(_ body: (FlowHandle, FlowEntry) -> Void) {
        for index in 0..<highWater where entries[index].flags.contains(.live) {
            body(FlowHandle(index: index), entries[index])
        }
    }

    /// Mean distance of live flows from their home slot (1 = found at home): a check on the index's
    /// spread for tests and benchmarks.
    public var meanProbeLength: Double {
        var total = 0
        for slot in 0..<slotCount where slots[slot] != 0 {
            let home = homeSlot(hasher.hash(entries[Int(slots[slot] & Self.indexMask) - 1].key))
            total += (slot - home + slotCount) % slotCount + 1
        }
        return count == 0 ? 0 : Double(total) / Double(count)
    }
}
