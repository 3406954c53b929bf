import ControlContract
import Foundation
import Testing
@testable import Console

@Suite struct ConsoleModelTests {
    func target(_ id: String, packets: Int, state: String = "healthy") -> StreamTarget {
        StreamTarget(loadBalancer: "lb", id: id, state: state, activeFlows: 3, newFlows: 5, packetsToTarget: packets, bytesToTarget: packets * 100,
                     packetsFromTarget: packets, bytesFromTarget: packets * 100)
    }

    @Test func snapshotDeltasRatesAndAReset() {
        var model = ConsoleModel()
        model.apply(StreamMessage(type: .hello, seq: 1, version: "0.4.0", bootId: "a", role: "operator", startTime: "2026-12-02T10:00:00.000Z"), at: 0)
        #expect(model.gwlbdStarted == Date(timeIntervalSince1970: 1_796_205_600), "gwlbd's start, for its uptime")
        model.apply(StreamMessage(type: .snapshot, seq: 2, loadBalancer: .value(.init(name: "lb", arn: "arn")),
                                  flows: StreamFlows(active: 10, capacity: 100, new: 10), traffic: StreamTraffic(endpointPackets: 1000),
                                  targets: [target("198.18.1.11", packets: 100), target("198.18.1.12", packets: 0)]), at: 0)
        #expect(model.loadBalancerName == "lb" && model.targets.count == 2 && model.connection == .live)
        model.apply(StreamMessage(type: .delta, seq: 3, traffic: StreamTraffic(endpointPackets: 1500), targets: [target("198.18.1.11", packets: 300)]), at: 2)
        #expect(model.targetRates["lb/198.18.1.11"]?.packetsTo.perSecond == 100)
        #expect(model.targetRates["lb/198.18.1.12"]?.packetsTo.perSecond == 0, "unchanged rows keep their counters")
        #expect(model.packetsInRate.perSecond == 250)
        model.apply(StreamMessage(type: .delta, seq: 4, removedTargets: ["lb/198.18.1.12"]), at: 3)
        #expect(model.targets.keys.sorted() == ["lb/198.18.1.11"])
        // gwlbd restarted: a new boot id, counters from zero; rates never go negative.
        model.apply(StreamMessage(type: .hello, seq: 1, bootId: "b"), at: 4)
        model.apply(StreamMessage(type: .snapshot, seq: 2, traffic: StreamTraffic(endpointPackets: 20), targets: [target("198.18.1.11", packets: 40)]), at: 4)
        model.apply(StreamMessage(type: .delta, seq: 3, traffic: StreamTraffic(endpointPackets: 30), targets: [target("198.18.1.11", packets: 60)]), at: 5)
        #expect(model.targetRates["lb/198.18.1.11"]?.packetsTo.perSecond == 20)
        #expect(model.packetsInRate.perSecond == 10)
        #expect(model.activeFlowHistory.count >= 4, "the sparkline keeps its past across a restart")
    }

    /// A delta whose `loadBalancer` is null clears the name; one without it keeps the name.
    @Test func aNullLoadBalancerIsNotAnAbsentOne() throws {
        var model = ConsoleModel()
        let named = try ContractCoding.decode(StreamMessage.self, from: Data(#"{"type":"snapshot","seq":1,"loadBalancer":{"name":"lb","arn":"a"}}"#.utf8))
        model.apply(named, at: 0)
        let silent = try ContractCoding.decode(StreamMessage.self, from: Data(#"{"type":"delta","seq":2}"#.utf8))
        #expect(silent.loadBalancer == nil)
        model.apply(silent, at: 1)
        #expect(model.loadBalancerName == "lb")
        let cleared = try ContractCoding.decode(StreamMessage.self, from: Data(#"{"type":"delta","seq":3,"loadBalancer":null}"#.utf8))
        #expect(cleared.loadBalancer == .null)
        model.apply(cleared, at: 2)
        #expect(model.loadBalancerName == nil && model.loadBalancers.isEmpty)
        let text = String(decoding: try ContractCoding.encode(cleared), as: UTF8.self)
        #expect(text.contains(#""loadBalancer":null"#), "\(text)")
        #expect(!String(decoding: try ContractCoding.encode(silent), as: UTF8.self).contains("loadBalancer"))
    }

    @Test func missingHeartbeatsMakeTheDataStale() {
        var model = ConsoleModel()
        model.apply(StreamMessage(type: .heartbeat, seq: 5), at: 10)
        model.checkStaleness(at: 12.5)
        #expect(model.connection == .live)
        model.checkStaleness(at: 13.5)
        #expect(model.connection == .stale)
        model.apply(StreamMessage(type: .heartbeat, seq: 6), at: 14)
        #expect(model.connection == .live)
    }

    @Test func dropsAndHealthEventsNewestFirst() {
        var model = ConsoleModel()
        func drop(_ reason: String, size: Int) -> DropRow {
            DropRow(time: "", reason: reason, size: size, source: "198.18.10.2", destination: "198.18.20.2", protocol: "udp")
        }
        model.apply(StreamMessage(type: .delta, seq: 1, recentDrops: [drop("oversize", size: 9000), drop("unknown_flow", size: 100)],
                                  healthEvents: [.init(time: "", target: "198.18.1.11", state: "unhealthy", reason: "Target.Timeout")]), at: 1)
        #expect(model.recentDrops.map(\.reason) == ["unknown_flow", "oversize"])
        #expect(model.healthEvents.first?.reason == "Target.Timeout")
    }

    /// A new gwlbd on the socket (a new boot id) is noted once in the action log, with what became
    /// of the flows; the first hello is not a restart.
    @Test func aRestartIsNotedWithItsFlows() {
        var model = ConsoleModel()
        var state = ConsoleState()
        model.apply(StreamMessage(type: .hello, seq: 1, version: "0.4.0", bootId: "a", flowState: "created", flowsTakenOver: 0), at: 0)
        state.confirm(from: model)
        #expect(model.restarts.isEmpty && state.actionLog.isEmpty)
        model.apply(StreamMessage(type: .hello, seq: 1, version: "0.4.1", bootId: "b", flowState: "resumed", flowsTakenOver: 202), at: 5)
        model.apply(StreamMessage(type: .hello, seq: 1, version: "0.4.1", bootId: "c", flowState: "cold",
                                  flowStateReason: "built for 1048576 flows per worker, this gwlbd has 65536"), at: 9)
        model.apply(StreamMessage(type: .hello, seq: 1, version: "0.4.1", bootId: "d"), at: 12)
        model.apply(StreamMessage(type: .hello, seq: 1, version: "0.5.0", bootId: "e", flowState: "resumed", flowsTakenOver: 7,
                                  upgradedFrom: .init(version: "0.4.1", pid: 4242)), at: 15)
        state.confirm(from: model)
        state.confirm(from: model)
        #expect(state.actionLog == ["gwlbd restarted (0.4.1): took over 202 flows",
                                    "gwlbd restarted (0.4.1): started cold (built for 1048576 flows per worker, this gwlbd has 65536), every flow new",
                                    "gwlbd restarted (0.4.1): every flow new",
                                    "gwlbd upgraded to 0.5.0 (from 0.4.1, pid 4242) without a gap: took over 7 flows"])
    }
}
