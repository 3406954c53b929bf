import DataPlane
import Flows
import PacketIO
import Testing
import TestSupport
import Wire

@Suite struct ForwardingTests {
    let client = PacketBuilder("198.18.10.2", "198.18.20.2")
    let server = PacketBuilder("198.18.20.2", "198.18.10.2")

    @Test func packetGoesOutInAWSGeneveAndComesBack() throws {
        let harness = Harness()
        let packet = client.udp(40000, 5001, payload: Array("hello".utf8))
        harness.send(packet)
        harness.run()
        let sent = harness.takeSent()
        try #require(sent.count == 1)
        #expect(Harness.appliances.contains(sent[0].to.address) && sent[0].to.port == 6081)
        let geneve = try GeneveHeader(parsing: sent[0].bytes)
        #expect(geneve.protocolType == Geneve.protocolTypeIPv4 && geneve.options.map(\.type) == [1, 2, 3])
        #expect(geneve.awsOption(Geneve.awsEndpointIDType)?.data == [0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF])
        #expect(geneve.awsOption(Geneve.awsAttachmentIDType)?.data == [0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88])
        #expect(Array(sent[0].bytes[40...]) == packet, "inner packet unchanged")

        harness.reflect(sent[0])
        harness.run()
        #expect(harness.takeDelivered() == [packet])
        let stats = harness.statistics
        let slot = Harness.appliances.firstIndex(of: sent[0].to.address)!
        #expect(stats.targets[slot].packetsToTarget == 1 && stats.targets[slot].packetsFromTarget == 1)
        #expect(stats.targets[slot].bytesToTarget == UInt64(packet.count))
        #expect(stats.newFlows == 1 && stats.activeFlows == 1 && stats.totalDrops == 0)
    }

    @Test func bothDirectionsUseOneApplianceAndOneCookie() throws {
        let harness = Harness()
        harness.send(client.tcp(40000, 80, flags: .syn))
        harness.send(server.tcp(80, 40000, flags: [.syn, .ack]))
        harness.send(client.tcp(40000, 80, flags: .ack))
        harness.run()
        let sent = harness.takeSent()
        try #require(sent.count == 3)
        #expect(Set(sent.map(\.to)).count == 1)
        let cookies = try sent.map { try GeneveHeader(parsing: $0.bytes).awsOption(Geneve.awsFlowCookieType)!.data }
        #expect(Set(cookies).count == 1)
    }

    @Test func ipv6InnerTravelsInIPv4Geneve() throws {
        let harness = Harness()
        let packet = PacketBuilder("fd00:10::2", "fd00:20::2").udp(1, 2, payload: [1, 2, 3])
        harness.send(packet)
        harness.run()
        let sent = harness.takeSent()
        try #require(sent.count == 1)
        #expect(try GeneveHeader(parsing: sent[0].bytes).protocolType == Geneve.protocolTypeIPv6)
        harness.reflect(sent[0])
        harness.run()
        #expect(harness.takeDelivered() == [packet])
    }

    /// With `inner_flow_check.enabled` off, appliances may rewrite the inner packet's addresses
    /// (NAT): the cookie, not the inner tuple, finds the flow. (On, see `ReturnPathTests`.)
    @Test func rewrittenInnerPacketIsAcceptedWithoutTheInnerFlowCheck() throws {
        let harness = Harness(innerFlowCheck: false)
        harness.send(client.udp(1000, 53))
        harness.run()
        let sent = harness.takeSent()[0]
        let natted = PacketBuilder("198.18.99.9", "198.18.20.2").udp(2000, 53)
        harness.reflect(sent) { bytes in bytes = Array(bytes[..<40]) + natted }
        harness.run()
        #expect(harness.takeDelivered() == [natted])
    }

    @Test func sizeLimitIs8500Bytes() throws {
        let harness = Harness()
        let fits = client.udp(1, 2, payload: Array(repeating: 7, count: 8500 - 28))
        let tooBig = client.udp(1, 3, payload: Array(repeating: 7, count: 8501 - 28))
        #expect(fits.count == 8500 && tooBig.count == 8501)
        harness.send(fits)
        harness.send(tooBig)
        harness.run()
        let sent = harness.takeSent()
        #expect(sent.count == 1 && sent[0].bytes.count == 8540)
        #expect(harness.statistics.drops(.oversize) == 1)
        let drop = try #require(harness.plane.recentDrops().last)
        #expect(drop.reason == .oversize && drop.size == 8501 && drop.destinationPort == 3 && drop.endpoint == 0)
        harness.reflect(sent[0])
        harness.run()
        #expect(harness.takeDelivered() == [fits])
    }

    @Test func malformedPacketsAreDroppedWithTheirError() throws {
        let harness = Harness()
        var packet = client.udp(1, 2)
        packet[0] = 0x44  // IHL 4
        harness.send(packet)
        harness.send([0x60, 0, 0])
        harness.run()
        #expect(harness.takeSent().isEmpty)
        #expect(harness.statistics.drops(.malformedPacket) == 2)
        #expect(harness.plane.recentDrops().map(\.detail) == [.badIHL, .truncated])
    }

    @Test func tcpWithoutFlowIsDroppedOrReset() throws {
        let quiet = Harness()
        quiet.send(client.tcp(40000, 80, flags: .ack))
        quiet.run()
        #expect(quiet.statistics.drops(.tcpWithoutFlow) == 1 && quiet.takeDelivered().isEmpty)

        let resetting = Harness(resetWithoutFlow: true)
        resetting.send(client.tcp(40000, 80, flags: .ack, acknowledgment: 777))
        resetting.run()
        let delivered = resetting.takeDelivered()
        try #require(delivered.count == 1)
        let reset = try delivered[0].withUnsafeBytes { try PacketSummary(parsing: $0) }
        #expect(reset.tcpFlags == .rst && reset.destination == client.source && reset.destinationPort == 40000)
        #expect(resetting.statistics.resetsSent == 1)
    }

    @Test func noTargetsIsADrop() {
        let harness = Harness(targets: [])
        harness.send(client.udp(1, 2))
        harness.run()
        #expect(harness.statistics.drops(.noTargets) == 1)
    }

    @Test func fullTableRejectsNewFlowsAndCarriesOn() throws {
        let harness = Harness(flowsPerWorker: 4)
        for port in 1...6 { harness.send(client.udp(UInt16(port), 53)) }
        harness.run()
        #expect(harness.takeSent().count == 4)
        #expect(harness.statistics.drops(.flowTableFull) == 2 && harness.statistics.rejectedFlows == 2)
        for port in 1...4 { harness.send(server.udp(53, UInt16(port))) }
        harness.run()
        #expect(harness.takeSent().count == 4, "established flows carry on")
    }

    /// A new snapshot is picked up between batches: new flows leave the removed target alone,
    /// established ones stay.
    @Test func snapshotChangesApplyToNewFlows() throws {
        let harness = Harness()
        for port in 1...60 { harness.send(client.udp(UInt16(port), 53)) }
        harness.run()
        let first = Dictionary(uniqueKeysWithValues: try harness.takeSent().map { (try PacketSummary(parsing: Array($0.bytes[40...])).sourcePort, $0.to) })
        harness.publish(targets: [Harness.appliances[0], Harness.appliances[1]])
        for port in 1...120 { harness.send(client.udp(UInt16(port), 53)) }
        harness.run()
        for sent in harness.takeSent() {
            let port = try PacketSummary(parsing: Array(sent.bytes[40...])).sourcePort
            if let before = first[port] {
                #expect(sent.to == before, "established flow \(port) moved")
            } else {
                #expect(sent.to.address != Harness.appliances[2], "new flow \(port) went to the removed target")
            }
        }
    }

    /// Workers pick up every published snapshot, whatever its version number says (a restarted
    /// control plane counts from 1 again).
    @Test func everyPublicationIsPickedUpEvenWithAnOldVersionNumber() {
        let harness = Harness(targets: [])
        harness.send(client.udp(1, 2))
        harness.run()
        #expect(harness.statistics.drops(.noTargets) == 1)
        harness.plane.publish(Harness.snapshot(version: 1, targets: [Harness.appliances[0]]))
        harness.send(client.udp(1, 2))
        harness.run()
        #expect(harness.takeSent().map(\.to.address) == [Harness.appliances[0]])
    }

    @Test func idleFlowsExpireAndAreCounted() {
        let harness = Harness()
        harness.send(client.udp(1, 2))
        harness.run()
        harness.clock.advance(by: 31)
        harness.run()
        #expect(harness.statistics.expiredFlows == 1 && harness.statistics.activeFlows == 0)
        #expect(harness.statistics.targets.map(\.activeFlows).reduce(0, +) == 0)
    }

    /// A flow whose target left the snapshot is removed at its next packet, and no longer counted
    /// on that target (the count once stayed, so the slot looked used for ever).
    @Test func aFlowRemovedWithItsTargetLeavesTheTargetsCount() {
        let harness = Harness()
        harness.send(client.udp(1, 2))
        harness.run()
        #expect(harness.statistics.targets.map(\.activeFlows).reduce(0, +) == 1)
        harness.publish(targets: [])
        harness.send(client.udp(1, 2))
        harness.run()
        #expect(harness.statistics.drops(.noTargets) == 1 && harness.statistics.activeFlows == 0)
        #expect(harness.statistics.targets.map(\.activeFlows).reduce(0, +) == 0)
    }

    @Test func dropRingIsBounded() {
        let harness = Harness()
        for _ in 0..<200 { harness.send([0x45]) }
        harness.run()
        #expect(harness.statistics.drops(.malformedPacket) == 200)
        #expect(harness.plane.recentDrops().count == 64)
    }
}
