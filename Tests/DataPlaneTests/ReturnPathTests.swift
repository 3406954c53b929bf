import DataPlane
import PacketIO
import Testing
import TestSupport
import Wire

/// The return-path contract (README "Connecting a real appliance"): only the flow's target, with the flow's options and
/// cookie, gets a packet back into the endpoint; anything else is dropped with its reason and
/// forwarding goes on.
@Suite struct ReturnPathTests {
    let client = PacketBuilder("198.18.10.2", "198.18.20.2")

    func established(_ harness: Harness) throws -> (to: UDPPeer, bytes: [UInt8]) {
        harness.send(client.udp(40000, 53, payload: [1, 2, 3]))
        harness.run()
        return try #require(harness.takeSent().first)
    }

    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let reason: DropReason
        /// Byte offset in the GENEVE payload to change, or nil to send from another address.
        let offset: Int?
        var testDescription: String { name }
    }

    static let cases = [
        Case(name: "changed cookie", reason: .unknownFlow, offset: 39),
        Case(name: "wrong endpoint id", reason: .unknownEndpoint, offset: 19),
        Case(name: "wrong attachment id", reason: .unknownEndpoint, offset: 31),
        Case(name: "not the flow's target", reason: .returnFromNonTarget, offset: nil),
        Case(name: "bad GENEVE version", reason: .badGeneve, offset: 0),
    ]

    @Test(arguments: cases)
    func rejectedAndForwardingGoesOn(testCase: Case) throws {
        let harness = Harness()
        let sent = try established(harness)
        if let offset = testCase.offset {
            harness.reflect(sent) { $0[offset] ^= 0x40 }
        } else {
            let other = Harness.appliances.first { $0 != sent.to.address }!
            harness.reflect(sent, from: other)
        }
        harness.run()
        #expect(harness.takeDelivered().isEmpty)
        #expect(harness.statistics.drops(testCase.reason) == 1)
        #expect(harness.plane.recentDrops().last?.reason == testCase.reason)
        // The genuine return still gets through.
        harness.reflect(sent)
        harness.run()
        #expect(harness.takeDelivered().count == 1)
    }

    /// A live flow's genuine header from its target with another flow's packet behind it (an
    /// injection into the consumer's network): dropped with its own reason and named in the record;
    /// the flow's own packets, either way, still pass.
    @Test func innerPacketOfAnotherFlowIsDropped() throws {
        let harness = Harness()
        let sent = try established(harness)
        let header = Array(sent.bytes[..<40])
        harness.reflect(sent) { $0 = header + PacketBuilder("198.18.66.6", "198.18.77.7").udp(40000, 53) }
        harness.reflect(sent) { $0 = header + client.udp(40001, 53) }        // same hosts, another five-tuple
        harness.reflect(sent) { $0 = header + client.tcp(40000, 53, flags: .syn) }  // same ports, another protocol
        harness.run()
        #expect(harness.takeDelivered().isEmpty)
        #expect(harness.statistics.drops(.returnFlowMismatch) == 3)
        let drop = try #require(harness.plane.recentDrops().first)
        #expect(drop.reason == .returnFlowMismatch && drop.source == PacketBuilder.address("198.18.66.6")
                && drop.destination == PacketBuilder.address("198.18.77.7") && drop.appliance == sent.to.address && drop.endpoint == 0)
        let reply = PacketBuilder("198.18.20.2", "198.18.10.2").udp(53, 40000)
        harness.reflect(sent)
        harness.reflect(sent) { $0 = header + reply }
        harness.run()
        #expect(harness.takeDelivered() == [client.udp(40000, 53, payload: [1, 2, 3]), reply])
    }

    /// Off (`inner_flow_check.enabled=false`), any inner packet behind a live flow's cookie passes.
    @Test func innerFlowCheckCanBeTurnedOff() throws {
        let harness = Harness(innerFlowCheck: false)
        let sent = try established(harness)
        let injected = PacketBuilder("198.18.66.6", "198.18.77.7").udp(40000, 53)
        harness.reflect(sent) { $0 = Array($0[..<40]) + injected }
        harness.run()
        #expect(harness.takeDelivered() == [injected] && harness.statistics.totalDrops == 0)
    }

    /// Under stickiness the flow is the key's: any ports of the same hosts (and protocol) belong.
    @Test func innerFlowCheckFollowsStickiness() throws {
        let harness = Harness(keyMode: .threeTuple)
        let sent = try established(harness)
        let header = Array(sent.bytes[..<40])
        let otherPorts = client.udp(40001, 5353)
        harness.reflect(sent) { $0 = header + otherPorts }
        harness.reflect(sent) { $0 = header + client.tcp(40000, 53, flags: .syn) }
        harness.run()
        #expect(harness.takeDelivered() == [otherPorts])
        #expect(harness.statistics.drops(.returnFlowMismatch) == 1)
    }

    /// A return naming no endpoint is recorded with what its inner packet says.
    @Test func unknownEndpointRecordNamesTheInnerPacket() throws {
        let harness = Harness()
        let sent = try established(harness)
        harness.reflect(sent) { $0[19] ^= 0x40 }
        harness.run()
        let drop = try #require(harness.plane.recentDrops().last)
        #expect(drop.reason == .unknownEndpoint && drop.source == PacketBuilder.address("198.18.10.2")
                && drop.destination == PacketBuilder.address("198.18.20.2") && drop.protocol == .udp && drop.destinationPort == 53
                && drop.appliance == sent.to.address)
    }

    /// An endpoint id that exists but is not the flow's: the cookie does not match a flow of it.
    @Test func otherEndpointsIdentityIsAnUnknownFlow() throws {
        let harness = Harness()
        let sent = try established(harness)
        var payload = sent.bytes
        let other = Harness.endpoints[1]
        for index in 0..<8 {
            payload[12 + index] = UInt8(truncatingIfNeeded: other.endpointID >> (56 - 8 * UInt64(index)))
            payload[24 + index] = UInt8(truncatingIfNeeded: other.attachmentID >> (56 - 8 * UInt64(index)))
        }
        harness.reflect((sent.to, payload))
        harness.run()
        #expect(harness.statistics.drops(.unknownFlow) == 1 && harness.takeDelivered(endpoint: 1).isEmpty)
    }

    @Test func garbageOnTheGenevePortIsCounted() {
        let harness = Harness()
        harness.ios[0].datagramInput.append((UDPPeer(address: IPv4Address(198, 18, 1, 99), port: 1), [1, 2, 3]))
        harness.run()
        let drop = harness.plane.recentDrops().last
        #expect(drop?.reason == .badGeneve && drop?.detail == .truncated && drop?.appliance == IPv4Address(198, 18, 1, 99))
    }

    @Test func malformedInnerReturnIsDropped() throws {
        let harness = Harness()
        let sent = try established(harness)
        harness.reflect(sent) { $0[40 + 2] = 0xFF }  // inner total length past the datagram
        harness.run()
        #expect(harness.statistics.drops(.malformedReturn) == 1)
    }

    @Test func failingEndpointWriteIsCounted() throws {
        let harness = Harness()
        let sent = try established(harness)
        harness.ios[0].endpointsAcceptWrites = false
        harness.reflect(sent)
        harness.run()
        #expect(harness.statistics.drops(.endpointWriteFailed) == 1)
    }
}
