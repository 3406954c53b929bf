import ControlContract
import Testing
@testable import Console

/// One gwlbd serving two load balancers: the stream keys each target row by its load balancer, so
/// an appliance in both is two rows; `:lb NAME` shows one, `:lb all` every one; actions name the
/// row's load balancer.
@Suite struct SeveralLoadBalancersTests {
    /// `east` with .11 and .13, `west` with .13 (the same appliance, another target group) and .21.
    static func model() -> ConsoleModel {
        func row(_ balancer: String, _ address: String, _ state: String, packets: Int) -> StreamTarget {
            StreamTarget(loadBalancer: balancer, id: address, state: state, activeFlows: packets / 10, packetsToTarget: packets,
                         bytesToTarget: packets * 100, packetsFromTarget: packets, bytesFromTarget: packets * 100)
        }
        let east = StreamMessage.BalancerName(name: "east", arn: "arn:east"), west = StreamMessage.BalancerName(name: "west", arn: "arn:west")
        var model = ConsoleModel()
        model.apply(StreamMessage(type: .hello, seq: 1, version: "0.4.0", bootId: "boot", role: "operator"), at: 0)
        model.apply(StreamMessage(type: .snapshot, seq: 2, loadBalancer: .value(east), loadBalancers: [east, west],
                                  flows: StreamFlows(active: 10, capacity: 100), traffic: StreamTraffic(),
                                  targets: [row("east", "198.18.1.11", "healthy", packets: 100), row("east", "198.18.1.13", "healthy", packets: 200),
                                            row("west", "198.18.1.13", "unhealthy", packets: 300), row("west", "198.18.2.21", "healthy", packets: 400)],
                                  healthEvents: [.init(time: "", target: "198.18.1.13", loadBalancer: "west", state: "unhealthy")]), at: 0)
        return model
    }

    func run(_ line: String, _ state: inout ConsoleState, _ model: ConsoleModel) -> [ConsoleAction] {
        _ = state.handle(.character(":"), model: model)
        for character in line { _ = state.handle(.character(character), model: model) }
        return state.handle(.enter, model: model)
    }

    @Test func everyLoadBalancersTargetsAreRowsOfTheirOwn() {
        let model = Self.model()
        #expect(model.loadBalancers == ["east", "west"])
        #expect(model.targets.count == 4, "198.18.1.13 is a row in each")
        #expect(model.targets["east/198.18.1.13"]?.state == "healthy" && model.targets["west/198.18.1.13"]?.state == "unhealthy")
        #expect(model.healthEvents.first?.target == "west/198.18.1.13", "a health event names its load balancer")
        var state = ConsoleState()
        #expect(state.visibleTargets(model).count == 4, "all by default")
        let surface = MemorySurface(width: 120, height: 30)
        ConsoleScreen(glyphs: .ascii).draw(model, state, on: surface, uptime: "")
        #expect(surface.text.hasPrefix("gwlb all 2 load balancers"), "\(surface.text)")

        _ = run("lb west", &state, model)
        #expect(state.loadBalancer == "west" && state.dialog == nil)
        #expect(state.visibleTargets(model).map(\.id) == ["west/198.18.1.13", "west/198.18.2.21"])
        ConsoleScreen(glyphs: .ascii).draw(model, state, on: surface, uptime: "")
        #expect(surface.text.hasPrefix("gwlb west"))
        #expect(state.completions(of: "lb ", model: model) == ["lb east", "lb west", "lb all"])
        _ = run("lb north", &state, model)
        #expect(state.dialog == .command(text: "lb north", message: "gwlbd serves east, west, not north"))
        _ = state.handle(.escape, model: model)
        _ = run("lb all", &state, model)
        #expect(state.loadBalancer == nil && state.visibleTargets(model).count == 4)
    }

    @Test func actionsNameTheRowsLoadBalancer() {
        let model = Self.model()
        var state = ConsoleState()
        _ = run("lb west", &state, model)
        // The first row of west is its 198.18.1.13: draining it drains west's, not east's.
        let actions = state.handle(.character("d"), model: model)
        #expect(actions == [.previewDrain(target: "west/198.18.1.13")])
        #expect(state.handle(.tab, model: model).isEmpty)
        #expect(state.handle(.enter, model: model) == [.drain(target: "west/198.18.1.13")])
        #expect(state.actionLog.last == "drain west/198.18.1.13: pending")
        // r registers into the load balancer shown.
        _ = state.handle(.character("r"), model: model)
        for character in "198.18.2.22" { _ = state.handle(.character(character), model: model) }
        #expect(state.handle(.enter, model: model) == [.register(address: "198.18.2.22", loadBalancer: "west")])
        #expect(state.pending["west/198.18.2.22"] == "register", "pending under the row it will have")
        // The drain dialog's "new flows go to" lists the same load balancer's healthy targets only.
        var east = ConsoleState()
        _ = run("lb east", &east, model)
        _ = east.handle(.character("d"), model: model)
        let surface = MemorySurface(width: 120, height: 30)
        ConsoleScreen(glyphs: .ascii).draw(model, east, on: surface, uptime: "")
        #expect(surface.text.contains("New flows go to: 198.18.1.13") && !surface.text.contains("198.18.2.21"), "\(surface.text)")
    }
}
