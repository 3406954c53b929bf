import Testing
import TestSupport
import Wire
@testable import Flows

/// The cluster's flow cookie: any node with the shared key accepts the cookie another node made for
/// the same flow, appliance and endpoint, and nothing else.
@Suite struct ClusterCookieTests {
    static let secret = "0123456789abcdef0fedcba987654321"
    let cookie = ClusterCookie(secret: Self.secret)!
    let appliance = IPv4Address(198, 18, 1, 11), endpointID: UInt64 = 0x0123_4567_89AB_CDEF
    let out = PacketBuilder("198.18.10.2", "198.18.20.2"), back = PacketBuilder("198.18.20.2", "198.18.10.2")

    func key(_ bytes: [UInt8], _ mode: FlowKeyMode = .fiveTuple, endpoint: UInt8 = 0) -> FlowKey {
        FlowKey(try! bytes.withUnsafeBytes { try PacketSummary(parsing: $0) }, mode: mode, endpoint: endpoint)
    }

    /// Node A (2 workers, endpoint in slot 3) makes it; node B (8 workers, the endpoint in slot 0,
    /// its own copy of the key) accepts it for the flow's packets both ways, in every key mode.
    @Test(arguments: FlowKeyMode.allCases) func anotherNodeAcceptsItForTheFlowBothWays(mode: FlowKeyMode) {
        let made = cookie.cookie(key(out.udp(40000, 53), mode, endpoint: 3), endpointID: endpointID, appliance: appliance,
                                 owner: 1, ownerBits: 1)
        let nodeB = ClusterCookie(secret: Self.secret)!
        #expect(nodeB.admits(made, key(out.udp(40000, 53), mode), endpointID: endpointID, appliance: appliance))
        #expect(nodeB.admits(made, key(back.udp(53, 40000), mode), endpointID: endpointID, appliance: appliance))
        #expect(made >> 31 == 1, "the sending worker in the clear at the top, for its kernel's steering")
        let eightWorkers = cookie.cookie(key(out.udp(40000, 53), mode), endpointID: endpointID, appliance: appliance, owner: 5, ownerBits: 3)
        #expect(eightWorkers >> 29 == 5 && nodeB.admits(eightWorkers, key(back.udp(53, 40000), mode), endpointID: endpointID, appliance: appliance))
    }

    /// Another flow, appliance, endpoint or key, or any changed checked bit, is refused.
    @Test func anythingElseIsRefused() {
        let flow = key(out.tcp(40000, 443, flags: .syn))
        let made = cookie.cookie(flow, endpointID: endpointID, appliance: appliance, owner: 0, ownerBits: 0)
        #expect(cookie.admits(made, flow, endpointID: endpointID, appliance: appliance))
        #expect(!cookie.admits(made, key(out.tcp(40001, 443, flags: .syn)), endpointID: endpointID, appliance: appliance))
        #expect(!cookie.admits(made, key(out.udp(40000, 443)), endpointID: endpointID, appliance: appliance))
        #expect(!cookie.admits(made, key(PacketBuilder("198.18.10.3", "198.18.20.2").tcp(40000, 443, flags: .syn)),
                               endpointID: endpointID, appliance: appliance))
        #expect(!cookie.admits(made, flow, endpointID: endpointID + 1, appliance: appliance))
        #expect(!cookie.admits(made, flow, endpointID: endpointID, appliance: IPv4Address(198, 18, 1, 12)))
        #expect(!ClusterCookie(secret: "1123456789abcdef0fedcba987654321")!.admits(made, flow, endpointID: endpointID, appliance: appliance))
        for bit in 0..<ClusterCookie.checkedBits {
            #expect(!cookie.admits(made ^ 1 << bit, flow, endpointID: endpointID, appliance: appliance), "bit \(bit) flipped")
        }
        // The owner field is the sender's to set: changing it changes nothing the MAC covers.
        #expect(cookie.admits(made ^ 0xFC00_0000, flow, endpointID: endpointID, appliance: appliance))
    }

    /// Over many flows the checked bits look random: a guess is right about 2^-26 of the time, so
    /// among 20,000 flows no two cookies for one appliance should agree often.
    @Test func cookiesOfDifferentFlowsDiffer() {
        var seen = Set<UInt32>()
        for port in 1...20_000 {
            let made = cookie.cookie(key(out.udp(UInt16(port), 53)), endpointID: endpointID, appliance: appliance, owner: 0, ownerBits: 0)
            seen.insert(made & (UInt32.max >> ClusterCookie.widestOwnerBits))
        }
        #expect(seen.count > 19_990, "\(20_000 - seen.count) collisions")
    }

    @Test func secretsAreThirtyTwoHexDigits() {
        #expect(ClusterCookie(secret: ClusterCookie.newSecret()) != nil)
        #expect(ClusterCookie.newSecret() != ClusterCookie.newSecret())
        #expect(ClusterCookie(secret: "0123") == nil && ClusterCookie(secret: String(repeating: "g", count: 32)) == nil)
    }
}
