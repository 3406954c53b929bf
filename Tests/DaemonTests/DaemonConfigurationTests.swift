import ControlPlane
import DataPlane
import Flows
import Foundation
import PacketIO
import Testing
import Wire
@testable import ControlInput
@testable import Daemon

@Suite struct DaemonConfigurationTests {
    func configuration(_ targets: [String], extra: String = "") throws -> DaemonConfiguration {
        let json = """
            {"geneveAddress": "198.18.1.1", "targets": [\(targets.map { "\"\($0)\"" }.joined(separator: ","))],
             "endpoints": [{"interface": "gwlbe0", "endpointId": "vpce-0123456789abcdef0", "attachmentId": "0x1122334455667788"}]\(extra)}
            """
        return try DaemonConfiguration.parse(Data(json.utf8))
    }

    @Test func readsAWSStyleIdentifiersAndDefaults() throws {
        let parsed = try configuration(["198.18.1.11"])
        #expect(parsed.endpoints[0].identity == EndpointIdentity(endpointID: 0x1234_5678_9ABC_DEF0, attachmentID: 0x1122_3344_5566_7788))
        #expect(parsed.geneve == UDPPeer(address: IPv4Address(198, 18, 1, 1), port: 6081))
        #expect(parsed.keyMode == .fiveTuple && parsed.tcpIdleTimeout == 350 && parsed.endpointMTU == 9001)
        #expect(try configuration([], extra: #", "stickiness": "source_ip_dest_ip""#).keyMode == .twoTuple)
        #expect(parsed.udpIdleTimeout == 120 && parsed.otherIdleTimeout == 120 && parsed.tcpClosingTimeout == 15)
        let timed = try configuration([], extra: #", "udpIdleTimeoutSeconds": 30, "otherIdleTimeoutSeconds": 40, "tcpClosingTimeoutSeconds": 5"#)
        var slots = TargetSlotTable()
        #expect(try timed.snapshot(version: 1, slots: &slots, monotonicSeconds: 1).policies[0].timeouts == FlowTimeouts(udp: 30, other: 40, tcpClosing: 5))
    }

    @Test(arguments: [
        (#", "endpointMTU": 9300"#, "endpointMTU must be 1280-9216"),
        (#", "workers": 0"#, "workers must be 1-64"),
        (#", "udpIdleTimeoutSeconds": 5"#, "udpIdleTimeoutSeconds must be 10-6000"),
        (#", "tcpClosingTimeoutSeconds": -1"#, "tcpClosingTimeoutSeconds must be 1-350"),
        (#", "flowsPerWorker": 0"#, "flowsPerWorker must be"),
        // Within the table's own limit, but 64 workers leave the cookie 20 bits for the entry and
        // 4 for generations: refused with a sentence, not a trap when the data plane starts.
        (#", "workers": 64, "flowsPerWorker": 16000000"#, "flowsPerWorker must be 1-4194304 with 64 workers"),
        (#", "workers": 2, "flowsPerWorker": 16777215"#, "flowsPerWorker must be 1-16777214 with 2 workers"),
    ])
    func refusesOutOfRangeValues(extra: String, message: String) {
        #expect { try configuration([], extra: extra) } throws: { "\($0)".contains(message) }
    }

    /// The largest table each worker count allows does build a data plane (no trap).
    @Test(arguments: [1, 2, 3, 64])
    func theLargestAllowedTableStarts(workers: Int) throws {
        let ownerBits = DataPlane.ownerBits(workers: workers)
        let largest = min(FlowTable.maximumCapacity, FlowCookieCodec.maximumCapacity(ownerBits: ownerBits))
        let parsed = try configuration([], extra: #", "workers": \#(workers), "flowsPerWorker": \#(largest)"#)
        #expect(parsed.flowsPerWorker == largest)
        let codec = FlowCookieCodec.random(capacity: largest, ownerBits: ownerBits)
        #expect(codec.generationBits >= FlowCookieCodec.minimumGenerationBits)
        #expect { try configuration([], extra: #", "workers": \#(workers), "flowsPerWorker": \#(largest + 1)"#) } throws: { _ in true }
    }

    /// With --state-dir, endpoints and targets come from the API: the file may not list them, and
    /// is optional (the GENEVE address is enough).
    @Test func apiFormTakesNoEndpointsOrTargets() throws {
        let listed = Data(#"{"geneveAddress": "198.18.1.1", "endpoints": [{"interface": "gwlbe0", "endpointId": "0x1", "attachmentId": "0x2"}]}"#.utf8)
        #expect { try DaemonConfiguration.parse(listed, form: .api) } throws: { "\($0)".contains("come from the API (gwlb create-endpoint") }
        let defaults = try DaemonConfiguration.defaults(geneveAddress: "198.18.1.1")
        #expect(defaults.endpoints.isEmpty && defaults.targets.isEmpty && defaults.geneve.port == 6081)
        #expect { try DaemonConfiguration.defaults(geneveAddress: "nowhere") } throws: { "\($0)".contains("is not an IPv4 address") }
    }

    @Test func refusesDuplicateTargets() {
        #expect { try configuration(["198.18.1.11", "198.18.1.11"]) } throws: { "\($0)".contains("listed twice") }
    }

    /// A reload keeps every target's slot; removed targets stay as `unused` so their established
    /// flows keep their appliance, and new ones never take a slot that named another appliance.
    @Test func reloadKeepsTargetSlots() throws {
        var slots = TargetSlotTable()
        _ = try configuration(["198.18.1.11", "198.18.1.12", "198.18.1.13"]).snapshot(version: 1, slots: &slots, monotonicSeconds: 10)
        let second = try configuration(["198.18.1.13", "198.18.1.11", "198.18.1.14"]).snapshot(version: 2, slots: &slots, monotonicSeconds: 20)
        #expect(second.targets.map { $0?.address.description } == ["198.18.1.11", "198.18.1.12", "198.18.1.13", "198.18.1.14"])
        #expect(second.policies[0].selection.health(of: TargetSlot(1)) == .unused)
        for slot in [0, 2, 3] { #expect(second.policies[0].selection.health(of: TargetSlot(slot)) == .healthy) }
        for hash in 0..<1000 {
            guard case .target(let slot) = second.policies[0].selection.placeNewFlow(placementHash: UInt64(hash) &* 0x9E37_79B9_7F4A_7C15, random: 0) else {
                Issue.record("no placement")
                return
            }
            #expect(slot != TargetSlot(1), "a new flow went to the removed target")
        }
    }
}
