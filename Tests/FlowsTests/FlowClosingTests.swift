import Testing
import TestSupport
import Wire
@testable import Flows

/// The end of a flow's life: TCP after both FINs or a RST gets the closing timeout (15 s by
/// default), UDP and other protocols their own idle timeouts; on a manual clock.
@Suite struct FlowClosingTests {
    let client = PacketBuilder("198.18.100.1", "198.18.200.2")
    let server = PacketBuilder("198.18.200.2", "198.18.100.1")
    let selection = Fixtures.selection(3)

    func track(_ tracker: FlowTracker, _ bytes: [UInt8], now: UInt32) -> FlowVerdict {
        tracker.track(Fixtures.summary(bytes), mode: .fiveTuple, selection: selection, now: now)
    }

    /// A connection through its handshake, confirmed by the appliance; its handle.
    func establish(_ tracker: FlowTracker, port: UInt16, now: UInt32) throws -> FlowHandle {
        guard case .forward(let handle, _, _, .created) = track(tracker, client.tcp(port, 80, flags: .syn), now: now) else {
            throw Failure("SYN did not create a flow")
        }
        tracker.table.confirm(handle, now: now)
        #expect(tracker.table[handle].state == .syn)
        _ = track(tracker, server.tcp(80, port, flags: [.syn, .ack]), now: now)
        _ = track(tracker, client.tcp(port, 80, flags: .ack), now: now)
        #expect(tracker.table[handle].state == .established)
        return handle
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    @Test func bothFinsOrARstEndAFlowAfterTheClosingTimeout() throws {
        let tracker = FlowTracker(table: FlowTable(capacity: 16))
        var clock = ManualClock()
        let closed = try establish(tracker, port: 40000, now: clock.now)
        let reset = try establish(tracker, port: 40001, now: clock.now)
        let resetByServer = try establish(tracker, port: 40002, now: clock.now)
        let halfClosed = try establish(tracker, port: 40003, now: clock.now)
        let open = try establish(tracker, port: 40004, now: clock.now)
        _ = track(tracker, client.tcp(40000, 80, flags: [.fin, .ack]), now: clock.now)
        #expect(tracker.table[closed].state == .closing)
        _ = track(tracker, server.tcp(80, 40000, flags: [.fin, .ack]), now: clock.now)
        _ = track(tracker, client.tcp(40000, 80, flags: .ack), now: clock.now)
        _ = track(tracker, client.tcp(40001, 80, flags: [.rst, .ack]), now: clock.now)
        _ = track(tracker, server.tcp(80, 40002, flags: .rst), now: clock.now)
        // One FIN only: a half-closed connection (shutdown(SHUT_WR)) may carry data the other way for long.
        _ = track(tracker, client.tcp(40003, 80, flags: [.fin, .ack]), now: clock.now)
        #expect([closed, reset, resetByServer, halfClosed].allSatisfy { tracker.table[$0].state == .closing })
        #expect(tracker.table[open].state == .established)
        clock.advance(by: 15)
        _ = tracker.table.expire(now: clock.now, budget: 16)
        #expect(tracker.table.count == 5, "15 s idle: nothing expired yet")
        clock.advance(by: 1)
        _ = tracker.table.expire(now: clock.now, budget: 16)
        #expect(tracker.table.count == 2, "the closed and reset flows expired; the half-closed and open ones remain")
        #expect(track(tracker, client.tcp(40000, 80, flags: .ack), now: clock.now) == .drop(.tcpWithoutFlow))
        #expect(track(tracker, server.tcp(80, 40003, flags: .ack), now: clock.now + 300) != .drop(.tcpWithoutFlow))
    }

    /// The same tuple reused right after a close (a client reusing its port): the SYN opens a new
    /// connection on the flow, half-open, then established, and no longer on the closing timer.
    @Test func aSynAfterTheCloseStartsANewConnection() throws {
        let tracker = FlowTracker(table: FlowTable(capacity: 16))
        let handle = try establish(tracker, port: 40000, now: 0)
        _ = track(tracker, client.tcp(40000, 80, flags: [.rst, .ack]), now: 1)
        #expect(tracker.table[handle].isClosed)
        #expect(track(tracker, client.tcp(40000, 80, flags: .syn), now: 2) == .forward(handle, target: tracker.table[handle].target,
                                                                                      cookie: tracker.table.cookie(handle), event: .established))
        #expect(tracker.table[handle].state == .syn && !tracker.table[handle].isClosed)
        _ = track(tracker, client.tcp(40000, 80, flags: .ack), now: 2)
        #expect(tracker.table[handle].state == .established)
        _ = tracker.table.expire(now: 2 + 300, budget: 16)
        #expect(tracker.table.count == 1, "on the TCP idle timeout again")
    }

    @Test func udpAndOtherProtocolsHaveTheirOwnIdleTimeouts() throws {
        let tracker = FlowTracker(table: FlowTable(capacity: 16, timeouts: FlowTimeouts(udp: 30, other: 60)))
        var handles: [FlowHandle] = []
        for packet in [client.udp(5000, 53), client.icmpEcho(identifier: 1)] {
            guard case .forward(let handle, _, _, .created) = track(tracker, packet, now: 0) else { throw Failure("no flow") }
            tracker.table.confirm(handle, now: 0)
            #expect(tracker.table[handle].state == .active)
            handles.append(handle)
        }
        _ = tracker.table.expire(now: 30, budget: 16)
        #expect(tracker.table.count == 2)
        _ = tracker.table.expire(now: 31, budget: 16)
        #expect(tracker.table.count == 1 && tracker.table[handles[1]].flags.contains(.live), "UDP expired after 30 s, ICMP lives")
        _ = tracker.table.expire(now: 61, budget: 16)
        #expect(tracker.table.count == 0)
    }

    /// With two-tuple keys the key has no protocol: the flow's own bits say it carries UDP.
    @Test func aTwoTupleFlowKnowsItCarriesUDP() throws {
        let tracker = FlowTracker(table: FlowTable(capacity: 16, timeouts: FlowTimeouts(udp: 30, other: 200)))
        guard case .forward(let handle, _, _, .created) = tracker.track(Fixtures.summary(client.udp(5000, 53)), mode: .twoTuple,
                                                                        selection: selection, now: 0) else { throw Failure("no flow") }
        tracker.table.confirm(handle, now: 0)
        _ = tracker.table.expire(now: 31, budget: 16)
        #expect(tracker.table.count == 0)
    }
}
