import ControlPlane
import Foundation
import Lab
import TestTraits
import Testing
@testable import Daemon

/// `LinuxRouting` against a real kernel: a network namespace of the test's own with two TUN devices.
@Suite(.serialized, .blocking) struct LinuxRoutingTests {
    let namespace = "lr\(getpid() % 100000)"

    func withNamespace(_ body: (LinuxRouting) throws -> Void) throws {
        guard geteuid() == 0 else { throw LinuxRouting.Failure(description: "this test needs root for a network namespace (CI runs as root)") }
        _ = try? Shell.execute(["ip", "netns", "del", namespace])
        defer { _ = try? Shell.execute(["ip", "netns", "del", namespace]) }
        for command in [["netns", "add", namespace], ["-n", namespace, "tuntap", "add", "uplink", "mode", "tun"],
                        ["-n", namespace, "tuntap", "add", "gwlbe0", "mode", "tun"], ["-n", namespace, "link", "set", "uplink", "up"],
                        ["-n", namespace, "link", "set", "gwlbe0", "up"]] {
            let result = try Shell.execute(["ip"] + command)
            guard result.status == 0 else { throw LinuxRouting.Failure(description: "ip \(command.joined(separator: " ")): \(result.errors)") }
        }
        try body(LinuxRouting(ip: ["ip", "-n", namespace], interfaces: [:]))
    }

    func plan(_ routes: [RoutingPlan.Route], rules: [RoutingPlan.Rule]) -> RoutingPlan {
        var plan = RoutingPlan()
        plan.routes = routes
        plan.rules = rules
        return plan
    }

    @Test func appliesChangesAndRemovesWhatItNoLongerPlans() throws {
        try withNamespace { routing in
            let rules = RoutingPlan.Family.allCases.map { RoutingPlan.Rule(family: $0, interface: "uplink", table: 20001) }
            let first = plan([.init(family: .ipv4, table: 20001, destination: "198.18.20.0/24", kind: .device("gwlbe0")),
                              .init(family: .ipv6, table: 20001, destination: "::/0", kind: .device("gwlbe0")),
                              .init(family: .ipv4, table: 20001, destination: "198.18.30.5/32", kind: .throwToMain)], rules: rules)
            try routing.apply(first)
            var installed = try routing.read(tables: [20001])
            #expect(installed.rules == Set(rules) && installed.routes == Set(first.routes))

            // The first route changes target in place; the host route goes; the IPv6 rule goes.
            let second = plan([.init(family: .ipv4, table: 20001, destination: "198.18.20.0/24", kind: .blackhole),
                               .init(family: .ipv6, table: 20001, destination: "::/0", kind: .device("gwlbe0"))], rules: [rules[0]])
            try routing.apply(second)
            installed = try routing.read(tables: [20001])
            #expect(installed.rules == [rules[0]] && installed.routes == Set(second.routes))

            // Nothing planned: nothing of gwlbd's is left.
            try routing.apply(RoutingPlan())
            installed = try routing.read(tables: [])
            #expect(installed.rules.isEmpty && installed.routes.isEmpty)
        }
    }

    @Test func aRouteAddedByHandToItsTableIsDriftAndGoesOnApply() throws {
        try withNamespace { routing in
            let wanted = plan([.init(family: .ipv4, table: 20002, destination: "198.18.20.0/24", kind: .device("gwlbe0"))], rules: [])
            try routing.apply(wanted)
            let added = try Shell.execute(["ip", "-n", namespace, "route", "add", "198.18.40.0/24", "dev", "uplink", "table", "20002"])
            #expect(added.status == 0, "\(added.errors)")
            #expect(try routing.read(tables: [20002]).routes.contains(.init(family: .ipv4, table: 20002, destination: "198.18.40.0/24", kind: .device("uplink"))))
            try routing.apply(wanted)
            #expect(try routing.read(tables: [20002]).routes == Set(wanted.routes))
        }
    }

    @Test func whatLinuxRefusesIsAnErrorWithItsReason() throws {
        try withNamespace { routing in
            let impossible = plan([.init(family: .ipv4, table: 20003, destination: "198.18.20.0/24", kind: .device("nosuchdev"))], rules: [])
            #expect { try routing.apply(impossible) } throws: { "\($0)".contains("nosuchdev") }
        }
    }
}
