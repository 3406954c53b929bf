import DataPlane
import Foundation
import Synchronization
import Flows
import PacketIO
import Testing
import TestSupport
import Wire

/// `DataPlane.flows`: workers list the flows they own between batches.
@Suite struct FlowQueryTests {
    /// Asks from another thread (as the API does) while this one drives the workers on the
    /// harness's clock (real threads on the real clock would expire the harness's flows).
    func flows(_ harness: Harness, _ query: FlowQuery) -> [FlowRecord] {
        let answer = Mutex<[FlowRecord]?>(nil)
        let plane = harness.plane
        Thread.detachNewThread { let records = plane.flows(query); answer.withLock { $0 = records } }
        while answer.withLock({ $0 }) == nil { harness.run() }
        return answer.withLock { $0 }!
    }

    @Test func runningWorkersListTheirFlows() throws {
        let harness = Harness(workers: 2)
        for port in 1...50 { harness.send(PacketBuilder("198.18.10.2", "198.18.20.2").udp(UInt16(port), 53), worker: 0) }
        harness.send(PacketBuilder("198.18.10.3", "198.18.20.2").udp(1000, 80), worker: 0)
        harness.run()
        let sent = harness.takeSent()
        let all = flows(harness, FlowQuery())
        #expect(all.count == 51)
        #expect(Set(all.map(\.worker)) == [0, 1], "both workers answered")
        #expect(all.allSatisfy { $0.ageSeconds == 0 && !$0.confirmed })
        let one = flows(harness, FlowQuery(address: IPv6Address(mapping: IPv4Address(198, 18, 10, 3))))
        #expect(one.count == 1 && one.first?.key.highPort == 80)
        // The target a listing names is the one the packet went to.
        let datagram = try #require(sent.first { (try? PacketSummary(parsing: Array($0.bytes[40...])))?.source == IPv6Address(mapping: IPv4Address(198, 18, 10, 3)) })
        let slot = try #require(one.first?.target)
        #expect(Harness.appliances[slot.index] == datagram.to.address)
        #expect(flows(harness, FlowQuery(port: 53)).count == 50)
        #expect(flows(harness, FlowQuery(port: 53, limit: 10)).count <= 20, "at most the limit per worker")
        #expect(flows(harness, FlowQuery(port: 999)).isEmpty)
    }

    /// Two callers at once (two `gwlb flows` against one gwlbd) each get the answer to their own
    /// query, never the other's.
    @Test func concurrentQueriesGetTheirOwnAnswers() throws {
        let harness = Harness(workers: 2)
        for port in 1...20 { harness.send(PacketBuilder("198.18.10.2", "198.18.20.2").udp(UInt16(port), 53), worker: 0) }
        for port in 1...5 { harness.send(PacketBuilder("198.18.10.3", "198.18.20.2").udp(UInt16(port), 80), worker: 0) }
        harness.run()
        let plane = harness.plane
        let results = Mutex<[(asked: UInt16, got: [UInt16])]>([])
        let finished = Atomic<Int>(0)
        for port: UInt16 in [53, 80] {
            Thread.detachNewThread {
                for _ in 0..<15 {
                    let records = plane.flows(FlowQuery(port: port))
                    results.withLock { $0.append((port, records.map(\.key.highPort))) }
                }
                finished.add(1, ordering: .releasing)
            }
        }
        while finished.load(ordering: .acquiring) < 2 { harness.run() }
        let all = results.withLock { $0 }
        #expect(all.count == 30)
        for result in all {
            #expect(result.got.count == (result.asked == 53 ? 20 : 5) && result.got.allSatisfy { $0 == result.asked }, "asked \(result.asked)")
        }
    }
}

/// Captures by session: one consumer of the rings at a time, and a stopped capture's stream gets
/// nothing of the next one's (nor can it stop it).
@Suite struct CaptureSessionTests {
    @Test func aStoppedSessionTakesNothingFromTheNext() throws {
        let harness = Harness(workers: 2)
        let plane = harness.plane
        let first = try #require(plane.startCapture(CaptureFilter(drops: true)))
        #expect(plane.startCapture(CaptureFilter(drops: true)) == nil, "one capture at a time")
        plane.stopCapture(first)
        let second = try #require(plane.startCapture(CaptureFilter(drops: true)))
        #expect(second != first)
        // A malformed packet is dropped, and captured for the running session only.
        harness.send([0x45, 0, 0], worker: 0)
        harness.run()
        #expect(plane.takeCaptured(first).packets.isEmpty, "the stale session reads nothing")
        plane.stopCapture(first)
        #expect(plane.startCapture(CaptureFilter(drops: true)) == nil, "nor can it stop the running one")
        #expect(plane.takeCaptured(second).packets.count == 1)
        plane.stopCapture(second)
        #expect(plane.startCapture(CaptureFilter(drops: true)) != nil)
    }
}
