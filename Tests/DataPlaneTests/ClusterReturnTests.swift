import DataPlane
import Flows
import PacketIO
import Testing
import TestSupport
import Wire

/// Nodes of a cluster (two data planes with the cluster's cookie key): an appliance's reply to a
/// node that never saw the flow is accepted and delivered, by the cookie alone; forged, edited or
/// foreign returns are not.
@Suite struct ClusterReturnTests {
    static let key = ClusterCookie(secret: "00112233445566778899aabbccddeeff")!
    let client = PacketBuilder("198.18.10.2", "198.18.20.2")

    /// Node A sends the flow; the appliance answers node B.
    func sentByA(workers: Int = 1) throws -> (a: Harness, b: Harness, sent: (to: UDPPeer, bytes: [UInt8])) {
        let a = Harness(workers: 2, clusterCookie: Self.key), b = Harness(workers: workers, clusterCookie: Self.key)
        a.send(client.udp(40000, 53, payload: [1, 2, 3]))
        a.run()
        return (a, b, try #require(a.takeSent().first))
    }

    @Test(arguments: [1, 2, 4]) func aNodeWithoutTheFlowAcceptsItsReturns(workers: Int) throws {
        let (a, b, sent) = try sentByA(workers: workers)
        let reply = PacketBuilder("198.18.20.2", "198.18.10.2").udp(53, 40000, payload: [4])
        let header = Array(sent.bytes[..<40])
        for worker in 0..<workers {
            b.reflect(sent, worker: worker)
            b.reflect(sent, worker: worker) { $0 = header + reply }
        }
        b.run()
        #expect(b.takeDelivered().count == 2 * workers)
        #expect(b.statistics.returnsOfOtherNodes == UInt64(2 * workers) && b.statistics.totalDrops == 0)
        #expect(b.statistics.targets.map(\.packetsFromTarget).reduce(0, +) == UInt64(2 * workers), "counted for the appliance")
        // The sender accepts it too, as its own flow (confirmed, not counted as another node's).
        a.reflect(sent)
        a.run()
        #expect(a.takeDelivered().count == 1 && a.statistics.returnsOfOtherNodes == 0 && a.statistics.totalDrops == 0)
    }

    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let reason: DropReason
        let edit: @Sendable (inout [UInt8]) -> Void
        var testDescription: String { name }
    }

    static let cases = [
        Case(name: "a changed cookie bit", reason: .unknownFlow) { $0[39] ^= 0x01 },
        Case(name: "another flow behind the cookie", reason: .unknownFlow) {
            $0 = Array($0[..<40]) + PacketBuilder("198.18.10.2", "198.18.20.2").udp(40001, 53)
        },
        Case(name: "the inner packet rewritten (NAT)", reason: .unknownFlow) {
            $0 = Array($0[..<40]) + PacketBuilder("198.18.10.9", "198.18.20.2").udp(40000, 53, payload: [1, 2, 3])
        },
    ]

    @Test(arguments: cases) func forgedOrEditedReturnsAreDropped(testCase: Case) throws {
        let (_, b, sent) = try sentByA()
        b.reflect(sent, edit: testCase.edit)
        b.run()
        #expect(b.takeDelivered().isEmpty && b.statistics.drops(testCase.reason) == 1)
        b.reflect(sent)
        b.run()
        #expect(b.takeDelivered().count == 1, "the genuine return still passes")
    }

    /// The cookie names the appliance it was made for: another registered appliance sending it
    /// is refused, and so is an address that is no target, even with a cookie made for it.
    @Test func theCookieIsTheAppliancesOwn() throws {
        let (_, b, sent) = try sentByA()
        let other = Harness.appliances.first { $0 != sent.to.address }!
        b.reflect(sent, from: other)
        b.run()
        #expect(b.takeDelivered().isEmpty && b.statistics.drops(.unknownFlow) == 1)
        let stranger = IPv4Address(198, 18, 1, 99)
        var forged = sent.bytes
        let inner = try forged[40...].withUnsafeBytes { try PacketSummary(parsing: $0) }
        let cookie = Self.key.cookie(FlowKey(inner, mode: .fiveTuple), endpointID: Harness.endpoints[0].endpointID, appliance: stranger,
                                     owner: 0, ownerBits: 0)
        withUnsafeBytes(of: cookie.bigEndian) { forged.replaceSubrange(36..<40, with: $0) }
        b.reflect((sent.to, forged), from: stranger)
        b.run()
        #expect(b.takeDelivered().isEmpty && b.statistics.drops(.returnFromNonTarget) == 1)
    }

    /// A node with another key (another cluster, or a single gwlbd) accepts none of it.
    @Test func anotherKeyAcceptsNothing() throws {
        let (_, _, sent) = try sentByA()
        for stranger in [Harness(clusterCookie: ClusterCookie(secret: "ffeeddccbbaa99887766554433221100")!), Harness()] {
            stranger.reflect(sent)
            stranger.run()
            #expect(stranger.takeDelivered().isEmpty && stranger.statistics.drops(.unknownFlow) == 1)
        }
    }
}
