import ControlClient
import ControlContract
import Foundation
import Testing
@testable import Console

/// The panes drawn into an in-memory surface at 80×24 and 120×40, UTF-8 and ASCII, compared as
/// text with the screens in Tests/ConsoleTests/Screens (reviewed by eye when they change:
/// `GWLB_WRITE_SCREENS=1 swift test --filter ScreenTests` rewrites them).
@Suite struct ScreenTests {
    static let screens = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Screens").path

    /// Three targets with traffic, one draining, drops and a health event; two samples for rates.
    static func model() -> ConsoleModel {
        func target(_ number: Int, _ state: String, reason: String? = nil, packets: Int, flows: Int) -> StreamTarget {
            StreamTarget(loadBalancer: nil, id: "198.18.1.1\(number)", state: state, reason: reason, activeFlows: flows,
                         packetsToTarget: packets, bytesToTarget: packets * 700, packetsFromTarget: packets, bytesFromTarget: packets * 700,
                         checkMs: state == "healthy" ? 2 + number : nil)
        }
        var model = ConsoleModel()
        model.apply(StreamMessage(type: .hello, seq: 1, version: "0.4.0", bootId: "boot", role: "operator"), at: 0)
        model.apply(StreamMessage(type: .snapshot, seq: 2, loadBalancer: .value(.init(name: "my-load-balancer", arn: "arn")),
                                  flows: StreamFlows(active: 900, capacity: 2_097_152, new: 1000, expired: 100),
                                  traffic: StreamTraffic(endpointPackets: 10_000, endpointBytes: 7_000_000, genevePackets: 10_000, geneveBytes: 7_400_000,
                                                         droppedPackets: 3),
                                  targets: [target(1, "healthy", packets: 4000, flows: 300), target(2, "healthy", packets: 4100, flows: 310),
                                            target(3, "draining", reason: "Target.DeregistrationInProgress", packets: 1900, flows: 290)]), at: 0)
        model.apply(StreamMessage(type: .delta, seq: 3, flows: StreamFlows(active: 1200, tcp: 800, udp: 300, capacity: 2_097_152, new: 1300, expired: 150),
                                  traffic: StreamTraffic(endpointPackets: 12_000, endpointBytes: 8_400_000, genevePackets: 12_000, geneveBytes: 8_880_000,
                                                         droppedPackets: 5),
                                  targets: [target(1, "healthy", packets: 5000, flows: 400), target(2, "healthy", packets: 5100, flows: 410),
                                            target(3, "draining", reason: "Target.DeregistrationInProgress", packets: 1900, flows: 290)],
                                  recentDrops: [DropRow(time: "2026-12-02T10:00:01.000Z", reason: "oversize", size: 9000, source: "198.18.10.2",
                                                        destination: "198.18.20.2", sourcePort: 40000, destinationPort: 80, protocol: "tcp")],
                                  healthEvents: [.init(time: "2026-12-02T10:00:02.000Z", target: "198.18.1.13", state: "draining",
                                                       reason: "Target.DeregistrationInProgress")]),
                    at: 1)
        // A third sample: the targets' trend lines get a second point.
        model.apply(StreamMessage(type: .delta, seq: 4, flows: StreamFlows(active: 1200, tcp: 800, udp: 300, capacity: 2_097_152, new: 1600, expired: 200),
                                  traffic: StreamTraffic(endpointPackets: 14_000, endpointBytes: 9_800_000, genevePackets: 14_000, geneveBytes: 10_360_000,
                                                         droppedPackets: 7),
                                  targets: [target(1, "healthy", packets: 5500, flows: 400), target(2, "healthy", packets: 6600, flows: 410)]),
                    at: 2)
        return model
    }

    func render(width: Int, height: Int, glyphs: Glyphs, state: ConsoleState = ConsoleState()) -> String {
        let surface = MemorySurface(width: width, height: height)
        ConsoleScreen(glyphs: glyphs).draw(Self.model(), state, on: surface, uptime: "1h02m")
        return surface.text
    }

    func compare(_ text: String, _ name: String) throws {
        let path = Self.screens + "/\(name).txt"
        if ProcessInfo.processInfo.environment["GWLB_WRITE_SCREENS"] != nil {
            try FileManager.default.createDirectory(atPath: Self.screens, withIntermediateDirectories: true)
            try (text + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        }
        let expected = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text + "\n" == expected, "screen \(name) differs:\n\(text)")
    }

    @Test(arguments: [(80, 24), (120, 40)])
    func panesAtEachSize(width: Int, height: Int) throws {
        try compare(render(width: width, height: height, glyphs: .unicode), "main-\(width)x\(height)-utf8")
        let ascii = render(width: width, height: height, glyphs: .ascii)
        let onlyASCII = ascii.unicodeScalars.allSatisfy { $0.isASCII }
        #expect(onlyASCII, "ASCII screens have ASCII only")
        try compare(ascii, "main-\(width)x\(height)-ascii")
    }

    /// Route tables that drifted are named in the header, before the rates, with what mends them.
    @Test func routeDriftInTheHeader() {
        var model = Self.model()
        model.apply(StreamMessage(type: .delta, seq: 9, routingDrift: ["route missing: -4 0.0.0.0/0 table 20002 dev gwlbe0",
                                                                         "rule missing: -4 iif app lookup 20002"]), at: 3)
        let surface = MemorySurface(width: 120, height: 40)
        ConsoleScreen(glyphs: .ascii).draw(model, ConsoleState(), on: surface)
        let header = surface.text.split(separator: "\n").first.map(String.init) ?? ""
        #expect(header.contains("ROUTE DRIFT: 2 (gwlb ec2 repair-route-tables)"), "\(header)")
        model.apply(StreamMessage(type: .delta, seq: 10, routingDrift: []), at: 4)
        ConsoleScreen(glyphs: .ascii).draw(model, ConsoleState(), on: surface)
        #expect(!surface.text.contains("ROUTE DRIFT"))
    }

    /// A node of a cluster: the nodes pane (a line per node on a tall terminal, one line on a
    /// small one, a dead node named as such) and each node's own verdict in a target's details.
    @Test func aClusterNodeShowsTheNodesAndEachNodesVerdict() throws {
        var model = Self.model()
        let nodes = [ClusterNodeRow(name: "n1", version: "0.4.0", geneveAddress: "198.18.1.1", alive: false, heartbeatAge: 9.2, uptime: 41,
                                    activeFlows: 212, packetsPerSecond: 9811),
                     ClusterNodeRow(name: "n2", version: "0.4.0", geneveAddress: "198.18.1.2", alive: true, heartbeatAge: 0.4, uptime: 41,
                                    activeFlows: 1200, packetsPerSecond: 10420),
                     ClusterNodeRow(name: "n3", version: "0.4.0", geneveAddress: "198.18.1.3", alive: true, heartbeatAge: 0.3, uptime: 41,
                                    activeFlows: 226, packetsPerSecond: 10102)]
        model.apply(StreamMessage(type: .delta, seq: 9, targets: [
            StreamTarget(loadBalancer: nil, id: "198.18.1.11", state: "healthy", activeFlows: 400, packetsToTarget: 5500, bytesToTarget: 5500 * 700,
                         packetsFromTarget: 5500, bytesFromTarget: 5500 * 700, nodes: ["n2": "healthy", "n3": "unhealthy Target.Timeout"],
                         byNode: ["n2": NodeTargetCounts(activeFlows: 400, packetsToTarget: 5500, bytesToTarget: 5500 * 700, packetsFromTarget: 5500,
                                                         bytesFromTarget: 5500 * 700),
                                  "n3": NodeTargetCounts(activeFlows: 100, packetsToTarget: 1000, bytesToTarget: 1000 * 700, packetsFromTarget: 990,
                                                         bytesFromTarget: 990 * 700)]),
        ], nodes: nodes), at: 3)
        #expect(model.nodes == nodes)
        // The row counts the whole cluster's traffic through the appliance: the live nodes' sum.
        let row = try #require(model.targets["198.18.1.11"])
        #expect(row.activeFlows == 500 && row.packetsToTarget == 6500 && row.packetsFromTarget == 6490)
        let tall = MemorySurface(width: 120, height: 40)
        ConsoleScreen(glyphs: .unicode).draw(model, ConsoleState(), on: tall, uptime: "1h02m")
        try compare(tall.text, "cluster-120x40-utf8")
        let small = MemorySurface(width: 80, height: 24)
        ConsoleScreen(glyphs: .ascii).draw(model, ConsoleState(), on: small)
        #expect(small.text.contains("Nodes (2 of 3 alive)") && small.text.contains("n1 DEAD | n2 alive 1,200 flows 10.4k pkt/s"), "\(small.text)")
        var state = ConsoleState()
        state.dialog = .details(target: "198.18.1.11")
        let details = ConsoleScreen(glyphs: .ascii).lines(for: state.dialog!, model, state).lines
        #expect(details.contains("by node    n2: healthy  400 flows, 5,500 pkt to, 5,500 pkt from")
                && details.contains("           n3: unhealthy Target.Timeout  100 flows, 1,000 pkt to, 990 pkt from"), "\(details)")
    }

    @Test func drainDialogAndTooSmall() throws {
        var state = ConsoleState()
        _ = state.handle(.character("d"), model: Self.model())
        try compare(render(width: 80, height: 24, glyphs: .unicode, state: state), "drain-80x24-utf8")
        // Once gwlbd answered the dry run, the dialog says what the drain will do.
        let answer = JSONValue.object([("DryRun", .bool(true)), ("Preview", .object([("Targets", .array([.object([
            ("Id", .string("198.18.1.11")), ("ActiveFlows", .number(1234)), ("ActiveTCPFlows", .number(1000)), ("Complete", .bool(true)),
            ("DrainingUntil", .string("2026-12-03T15:21:03.000000+00:00")), ("AtDrainEnd", .string("move")),
            ("FlowsByMaglevTarget", .array([.object([("Target", .string("198.18.1.12")), ("Flows", .number(1234))])])),
        ])]))]))])
        state.drainPreview = DrainPreview(target: "198.18.1.11", answer: answer)
        let previewed = render(width: 120, height: 40, glyphs: .unicode, state: state)
        #expect(previewed.contains("1,234 flows on it now (1,000 TCP)."), "\(previewed)")
        #expect(previewed.contains("The drain ends at 15:21:03 UTC; then they move: 1,234 to 198.18.1.12 (rebalance)."), "\(previewed)")
        let small = render(width: 40, height: 10, glyphs: .ascii)
        let message = small.split(separator: "\n").prefix(2).joined()
        #expect(message.hasPrefix("terminal too small: 40x10, gwlb console needs 60x16"), "\(small)")
    }
}
