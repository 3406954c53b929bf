import Testing
import TestSupport
import Wire
@testable import Flows

@Suite struct FlowTableTests {
    @Test func insertThenFind() throws {
        let table = FlowTable(capacity: 100)
        let clock = ManualClock()
        let handle = try #require(table.findOrInsert(Fixtures.udpKey(1), target: TargetSlot(3), now: clock.now))
        #expect(table.find(Fixtures.udpKey(1), now: clock.now) == handle)
        #expect(table.find(Fixtures.udpKey(2), now: clock.now) == nil)
        #expect(table[handle].target == TargetSlot(3) && table[handle].created == clock.now)
        #expect(table.count == 1 && table.counters.created == 1)
    }

    /// Live flows per target slot follow every way a flow's target is set or its entry freed
    /// (the control side reuses a slot on this count).
    @Test func flowsPerTargetAreExact() throws {
        let table = FlowTable(capacity: 10, targetSlots: 4)
        let one = try #require(table.findOrInsert(Fixtures.udpKey(1), target: TargetSlot(1), now: 1))
        let two = try #require(table.findOrInsert(Fixtures.udpKey(2), target: TargetSlot(1), now: 1))
        _ = try #require(table.findOrInsert(Fixtures.udpKey(3), target: TargetSlot(2), now: 1))
        #expect((0..<4).map { table.flows(on: TargetSlot($0)) } == [0, 2, 1, 0])
        table.retarget(one, to: TargetSlot(3))
        #expect((0..<4).map { table.flows(on: TargetSlot($0)) } == [0, 1, 1, 1])
        table.remove(two)
        #expect((0..<4).map { table.flows(on: TargetSlot($0)) } == [0, 0, 1, 1])
        table.expire(now: 1_000, budget: 10)
        #expect((0..<4).map { table.flows(on: TargetSlot($0)) } == [0, 0, 0, 0] && table.count == 0)
        #expect(table.flows(on: TargetSlot(9)) == 0, "a slot past the counters has none")
    }

    /// Active TCP and UDP flows are counted as flows come and go, whichever way they go; per-flow
    /// traffic is kept per direction and handed out once per interval.
    @Test func protocolCountsAndTrafficFollowTheFlows() throws {
        let table = FlowTable(capacity: 10)
        var released: [FlowKey] = []
        table.onRelease = { _, entry in released.append(entry.key) }
        let tcp = try #require(table.findOrInsert(Fixtures.tcpKey(1), isTCP: true, now: 1))
        let udp = try #require(table.findOrInsert(Fixtures.udpKey(2), now: 1))
        var icmp = Fixtures.udpKey(3)
        icmp.protocol = IPProtocol(rawValue: 1)
        _ = try #require(table.findOrInsert(icmp, now: 1))
        #expect(table.counters.activeTCP == 1 && table.counters.activeUDP == 1 && table.count == 3)

        let key = table[udp].key
        table.account(udp, fromLow: key.isFromLow(source: key.lowAddress, sourcePort: key.lowPort), bytes: 100, wallSeconds: 1000)
        table.account(udp, fromLow: key.isFromLow(source: key.highAddress, sourcePort: key.highPort), bytes: 60, wallSeconds: 1001)
        table.account(udp, fromLow: true, bytes: 40, wallSeconds: 1002)
        #expect(table.traffic(udp).packets == 3 && table.traffic(udp).bytes == 200)
        let interval = table.takeInterval(udp)
        #expect(interval.fromLow.packets == 2 && interval.fromLow.bytes == 140 && interval.fromLow.first == 1000 && interval.fromLow.last == 1002)
        #expect(interval.fromHigh.packets == 1 && interval.fromHigh.bytes == 60)
        #expect(table.takeInterval(udp).fromLow.packets == 0, "taken once")
        #expect(table.traffic(udp).packets == 3, "totals stay")

        table.remove(tcp)
        #expect(table.counters.activeTCP == 0 && table.counters.activeUDP == 1)
        table.expire(now: 1 + 200, budget: 10)
        #expect(table.counters.activeTCP == 0 && table.counters.activeUDP == 0 && table.count == 0)
        #expect(released.count == 3, "removed and expired flows are both released")
    }

    /// Linear probing at the full table's load (2/3) averages 2 probes for a hit (Knuth 6.4).
    @Test func indexSpreadsKeys() throws {
        let table = FlowTable(capacity: 50_000)
        for n in 0..<50_000 { _ = try #require(table.findOrInsert(Fixtures.udpKey(n), now: 1)) }
        #expect(table.meanProbeLength < 2.5, "mean probe length \(table.meanProbeLength)")
    }

    @Test func udpExpiresAfter120IdleSeconds() throws {
        let table = FlowTable(capacity: 10)
        var clock = ManualClock()
        let handle = try #require(table.findOrInsert(Fixtures.udpKey(1), now: clock.now))
        table.confirm(handle, now: clock.now)
        clock.advance(by: 100)
        table.touch(handle, now: clock.now, isTCP: false)  // traffic refreshes the timer
        clock.advance(by: 120)
        #expect(table.find(Fixtures.udpKey(1), now: clock.now) == handle, "idle exactly 120 s: still there")
        clock.advance(by: 1)
        #expect(table.find(Fixtures.udpKey(1), now: clock.now) == nil)
        #expect(table.count == 0 && table.counters.expired == 1)
    }

    @Test(arguments: [UInt32(350), 60, 6000])
    func tcpExpiresAfterItsIdleTimeout(timeout: UInt32) throws {
        let table = FlowTable(capacity: 10, timeouts: FlowTimeouts(tcp: timeout))
        var clock = ManualClock()
        let handle = try #require(table.findOrInsert(Fixtures.tcpKey(1), isTCP: true, now: clock.now))
        table.confirm(handle, now: clock.now)
        table.touch(handle, now: clock.now, isTCP: true, establishes: true)
        clock.advance(by: timeout)
        #expect(table.find(Fixtures.tcpKey(1), now: clock.now) != nil)
        clock.advance(by: 1)
        #expect(table.find(Fixtures.tcpKey(1), now: clock.now) == nil)
    }

    /// A flow its target never answered is dropped 30 s after it began, even with traffic going out.
    @Test func unconfirmedFlowLastsThirtySeconds() throws {
        let table = FlowTable(capacity: 10)
        var clock = ManualClock()
        let unanswered = try #require(table.findOrInsert(Fixtures.udpKey(1), now: clock.now))
        let answered = try #require(table.findOrInsert(Fixtures.udpKey(2), now: clock.now))
        table.confirm(answered, now: clock.now + 1)
        for _ in 0..<30 {
            clock.advance(by: 1)
            table.touch(unanswered, now: clock.now, isTCP: false)
            table.touch(answered, now: clock.now, isTCP: false)
        }
        #expect(table.find(Fixtures.udpKey(1), now: clock.now) != nil, "30 s: still there")
        clock.advance(by: 1)
        #expect(table.find(Fixtures.udpKey(1), now: clock.now) == nil)
        #expect(table.find(Fixtures.udpKey(2), now: clock.now) != nil)
    }

    /// Expiry happens in small steps; each step looks at `budget` entries and reports what expired.
    @Test func steppedExpiryReclaimsAndReports() throws {
        let table = FlowTable(capacity: 1000)
        var clock = ManualClock()
        var reported: [FlowKey] = []
        table.onExpire = { reported.append($0.key) }
        for n in 0..<1000 {
            let handle = try #require(table.findOrInsert(Fixtures.udpKey(n), now: clock.now))
            table.confirm(handle, now: clock.now)
        }
        clock.advance(by: 121)
        #expect(table.expire(now: clock.now, budget: 100) == 100, "a step expires no more than its budget")
        #expect(table.count == 900)
        var steps = 1
        while table.count > 0 {
            table.expire(now: clock.now, budget: 100)
            steps += 1
        }
        #expect(steps == 10)
        #expect(Set(reported) == Set((0..<1000).map(Fixtures.udpKey)))
        #expect(table.counters.expired == 1000)
        // Freed entries are used again.
        for n in 0..<1000 { #expect(table.findOrInsert(Fixtures.udpKey(n + 5000), now: clock.now) != nil) }
    }

    @Test func lazyExpiryIsReportedToo() throws {
        let table = FlowTable(capacity: 10)
        var clock = ManualClock()
        var reported = 0
        table.onExpire = { _ in reported += 1 }
        _ = try #require(table.findOrInsert(Fixtures.udpKey(1), now: clock.now))
        clock.advance(by: 200)
        #expect(table.find(Fixtures.udpKey(1), now: clock.now) == nil)
        #expect(reported == 1)
    }

    @Test func fullTableRejectsNewFlowsAndKeepsOldOnes() throws {
        let table = FlowTable(capacity: 8)
        let now: UInt32 = 1_000
        let handles = try (0..<8).map { try #require(table.findOrInsert(Fixtures.udpKey($0), now: now)) }
        #expect(table.findOrInsert(Fixtures.udpKey(8), now: now) == nil)
        #expect(table.findOrInsert(Fixtures.udpKey(9), now: now) == nil)
        #expect(table.counters.rejected == 2 && table.count == 8)
        for n in 0..<8 { #expect(table.find(Fixtures.udpKey(n), now: now) == handles[n]) }
        table.remove(handles[3])
        #expect(table.findOrInsert(Fixtures.udpKey(8), now: now) != nil, "room again after a removal")
    }

    @Test func cookieFindsTheFlowAndOnlyIt() throws {
        let table = FlowTable(capacity: 1 << 16)
        let now: UInt32 = 1_000
        var cookies = Set<UInt32>()
        for n in 0..<(1 << 16) {
            let handle = try #require(table.findOrInsert(Fixtures.udpKey(n), now: now))
            let cookie = table.cookie(handle)
            #expect(table.flow(forCookie: cookie, now: now) == handle)
            cookies.insert(cookie)
        }
        #expect(cookies.count == 1 << 16, "cookies are unique per live flow")
        // Guessing: of a million other cookies, none finds a flow unless it is one of ours.
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<100_000 {
            let guess = UInt32.random(in: .min ... .max, using: &generator)
            if !cookies.contains(guess) { #expect(table.flow(forCookie: guess, now: now) == nil) }
        }
    }

    @Test func reusedTupleGetsANewCookie() throws {
        let table = FlowTable(capacity: 4)
        var clock = ManualClock()
        var seen = Set<UInt32>()
        for _ in 0..<50 {
            let handle = try #require(table.findOrInsert(Fixtures.udpKey(7), now: clock.now))
            let cookie = table.cookie(handle)
            #expect(seen.insert(cookie).inserted, "cookie \(cookie) came back for a new flow")
            table.remove(handle)
            #expect(table.flow(forCookie: cookie, now: clock.now) == nil, "a removed flow's cookie finds nothing")
            clock.advance(by: 1)
        }
    }

    @Test func cookieOfAnExpiredFlowFindsNothing() throws {
        let table = FlowTable(capacity: 4)
        let handle = try #require(table.findOrInsert(Fixtures.udpKey(1), now: 1_000))
        let cookie = table.cookie(handle)
        #expect(table.flow(forCookie: cookie, now: 1_031) == nil)
        #expect(table.count == 0)
    }

    @Test func cookieCodecRoundTripsAndSpreads() {
        let codec = FlowCookieCodec.random(capacity: 1_000_000, ownerBits: 2)
        #expect(codec.indexBits == 20 && codec.generationBits == 10)
        for index in stride(from: 0, to: 1_000_000, by: 997) {
            let cookie = codec.encode(index: index, owner: 3, generation: UInt32(index % 1024))
            #expect(codec.decode(cookie) == FlowCookieCodec.Fields(index: index, owner: 3, generation: UInt32(index % 1024)))
            // The owner in the clear at the top, for the kernel's steering program.
            #expect(cookie >> 30 == 3 && codec.owner(of: cookie) == 3)
        }
        // Neighbouring entries do not get neighbouring cookies.
        let a = codec.encode(index: 1, generation: 0), b = codec.encode(index: 2, generation: 0)
        #expect((a ^ b).nonzeroBitCount > 4)
    }

    /// The table against a dictionary: random inserts, removals and expiry, then every key agrees.
    /// Backward-shift deletion is where open addressing goes wrong, so this runs many rounds.
    @Test(arguments: [7, 100, 4096])
    func behavesLikeADictionary(capacity: Int) throws {
        let table = FlowTable(capacity: capacity)
        var model: [FlowKey: FlowHandle] = [:]
        var generator = SystemRandomNumberGenerator()
        var clock = ManualClock()
        table.onExpire = { model[$0.key] = nil }
        let universe = capacity * 3
        let steps = max(capacity * 40, 30_000)
        // Sweep every key as often as a budget of about two million lookups allows.
        let sweepInterval = max(1, universe * steps / 2_000_000)
        for step in 0..<steps {
            let key = Fixtures.udpKey(Int.random(in: 0..<universe, using: &generator))
            switch Int.random(in: 0..<10, using: &generator) {
            case 0..<6:
                if let handle = table.findOrInsert(key, now: clock.now) {
                    table.confirm(handle, now: clock.now)
                    if let known = model[key] { #expect(known == handle) }
                    model[key] = handle
                } else {
                    #expect(model[key] == nil && model.count == capacity)
                }
            case 6..<9:
                if let handle = model[key] {
                    table.remove(handle)
                    model[key] = nil
                }
            default:
                clock.advance(by: UInt32.random(in: 0...3, using: &generator) * 20)
                table.expire(now: clock.now, budget: Int.random(in: 1...16, using: &generator))
            }
            #expect(table.count == model.count, "count after step \(step)")
            if let handle = model[key], !table.isExpired(table[handle], now: clock.now) {
                #expect(table.find(key, now: clock.now) == handle)
            }
            if step % sweepInterval == 0 {
                for n in 0..<universe {
                    let k = Fixtures.udpKey(n)
                    if let handle = model[k], !table.isExpired(table[handle], now: clock.now) {
                        #expect(table.find(k, now: clock.now) == handle)
                    } else if model[k] == nil {
                        #expect(table.find(k, now: clock.now) == nil)
                    }
                }
            }
        }
    }
}
