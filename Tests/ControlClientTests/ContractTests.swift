import ControlContract
import Foundation
import Testing

/// The observability contract's wire form: the keys gwlbd's README documents for `/v1/flows` and
/// `/v1/drops`, optional fields left out when absent, and a round trip through the coding both
/// sides use.
@Suite struct ContractTests {
    func keys(_ value: some Encodable) throws -> Set<String> {
        Set((try JSONSerialization.jsonObject(with: ContractCoding.encode(value)) as? [String: Any] ?? [:]).keys)
    }

    @Test func aFlowRowHasTheDocumentedKeys() throws {
        var row = FlowRow(addressA: "198.18.10.2", portA: 40000, addressB: "198.18.20.2", portB: 80, protocol: "tcp", cookie: "0x0000002a",
                          ageSeconds: 3, idleSeconds: 1, confirmed: true, targetSlot: 1, packets: 10, bytes: 1000)
        let documented: Set = ["addressA", "portA", "addressB", "portB", "protocol", "endpoint", "cookie", "ageSeconds", "idleSeconds",
                               "confirmed", "state", "worker", "targetSlot", "packets", "bytes"]
        #expect(try keys(row) == documented, "no target key when the slot is no target's")
        row.target = "198.18.1.11"
        #expect(try keys(row) == documented.union(["target"]))
        let answer = FlowsAnswer(flows: [row], truncated: true)
        #expect(try ContractCoding.decode(FlowsAnswer.self, from: ContractCoding.encode(answer)) == answer)
    }

    @Test func aDropRowLeavesOutWhatItDoesNotKnow() throws {
        let forward = DropRow(time: "2026-12-04T19:00:00Z", reason: "oversize", size: 9000, source: "198.18.10.2", destination: "198.18.20.2",
                              sourcePort: 1, destinationPort: 2, protocol: "tcp", endpoint: 0)
        #expect(try keys(forward) == ["time", "reason", "size", "source", "destination", "sourcePort", "destinationPort", "protocol", "endpoint"])
        let returned = DropRow(time: "2026-12-04T19:00:01Z", reason: "bad_geneve", detail: "truncated", size: 12, source: "198.18.1.11",
                               destination: "198.18.1.1", protocol: "udp", appliance: "198.18.1.11")
        let answer = DropsAnswer(counts: ["oversize": 1, "bad_geneve": 1], recent: [returned, forward])
        #expect(try ContractCoding.decode(DropsAnswer.self, from: ContractCoding.encode(answer)) == answer)
    }

    /// A client of another version that misses a key fails with that key's name, not an empty table.
    @Test func aMissingKeyIsNamed() {
        let body = Data(#"{"flows": [{"addressA": "198.18.10.2"}], "truncated": false}"#.utf8)
        do {
            _ = try ContractCoding.decode(FlowsAnswer.self, from: body)
            Issue.record("a flow without its ports decoded")
        } catch {
            #expect("\(error)".contains("portA"), "\(error)")
        }
    }
}
