/// One attribute a resource accepts: its key, default and what values are valid.
public struct AttributeRule: Sendable {
    public let key: String
    public let defaultValue: String
    /// A sentence saying what is wrong with `value`, or nil when it is valid.
    let check: @Sendable (String) -> String?

    static func boolean(_ key: String, default value: Bool = false) -> AttributeRule {
        AttributeRule(key: key, defaultValue: String(value)) { ["true", "false"].contains($0) ? nil : "\(key) must be true or false" }
    }

    static func integer(_ key: String, default value: Int, range: ClosedRange<Int>) -> AttributeRule {
        AttributeRule(key: key, defaultValue: String(value)) { text in
            guard let number = Int(text), range.contains(number) else {
                return "\(key) must be an integer from \(range.lowerBound) to \(range.upperBound)"
            }
            return nil
        }
    }

    static func choice(_ key: String, _ values: [String]) -> AttributeRule {
        AttributeRule(key: key, defaultValue: values[0]) { values.contains($0) ? nil : "\(key) must be one of \(values.joined(separator: ", "))" }
    }
}

/// AWS's attributes for gateway load balancers, their target groups and listeners (README "How the flow engine behaves" and README "AWS's rules, and choices").
public enum AttributeRules {
    public static let loadBalancer: [AttributeRule] = [
        .boolean("deletion_protection.enabled"),
        .boolean("load_balancing.cross_zone.enabled"),
        // gwlb's own: answer an oversize packet (above 8,500 bytes) with ICMP "fragmentation
        // needed" / ICMPv6 "packet too big" so path MTU discovery works; false drops it silently,
        // as AWS does.
        .boolean("path_mtu_discovery.enabled", default: true),
        // gwlb's own: a TCP packet without a flow (not a SYN) starts one when its consistent-hash
        // target is healthy, as Maglev and Katran do, so a node of a cluster takes over the flows
        // of a node that died. `auto`: on a node of a cluster only; a single node keeps AWS's rule
        // (only a SYN starts a TCP flow). `enabled` and `disabled` decide either way.
        .choice("tcp.mid_connection_pickup", ["auto", "enabled", "disabled"]),
    ]

    public static let targetGroup: [AttributeRule] = [
        .integer("deregistration_delay.timeout_seconds", default: 300, range: 0...3600),
        .boolean("stickiness.enabled"),
        .choice("stickiness.type", ["source_ip_dest_ip_proto", "source_ip_dest_ip"]),
        .choice("target_failover.on_deregistration", ["no_rebalance", "rebalance"]),
        .choice("target_failover.on_unhealthy", ["no_rebalance", "rebalance"]),
        .boolean("send_tcp_reset.on_unhealthy.enabled"),
        .boolean("send_tcp_reset.on_deregistration.enabled"),
        // gwlb's own: a returned inner packet must belong to the flow its cookie names (either
        // direction); false accepts any inner packet with a live flow's cookie, for appliances
        // that rewrite addresses (NAT), at the risk described in the README's security section.
        .boolean("inner_flow_check.enabled", default: true),
        // gwlb's own: after each passed health check, a probe through the target in GENEVE must
        // come back, else the target counts a failure (Target.DataPathFailed).
        .boolean("health_check.data_path.enabled"),
    ]

    public static let listener: [AttributeRule] = [
        .integer("tcp.idle_timeout.seconds", default: 350, range: 60...6000),
        // gwlb's own (README "How the flow engine behaves"): AWS's fixed 120 s made settable, and a
        // short life for TCP flows after both FINs or a RST.
        .integer("udp.idle_timeout.seconds", default: 120, range: 10...6000),
        .integer("other.idle_timeout.seconds", default: 120, range: 10...6000),
        .integer("tcp.closing_timeout.seconds", default: 15, range: 1...350),
        .boolean("send_tcp_reset.on_idle_timeout.enabled"),
    ]
}

/// A resource's attributes: every key of its rules, with a value (the default until modified).
public struct Attributes: Hashable, Sendable {
    public private(set) var values: [String: String]
    /// Keys in the order AWS lists them.
    public let keys: [String]

    public init(_ rules: [AttributeRule]) {
        keys = rules.map(\.key)
        values = Dictionary(uniqueKeysWithValues: rules.map { ($0.key, $0.defaultValue) })
    }

    public subscript(key: String) -> String? { values[key] }

    public func bool(_ key: String) -> Bool { values[key] == "true" }
    public func int(_ key: String) -> Int { Int(values[key] ?? "") ?? 0 }

    /// These attributes with `changes` applied, each checked against `rules`; nothing changes
    /// unless every change is valid.
    public func applying(_ changes: [(key: String, value: String)], rules: [AttributeRule]) throws(ELBError) -> Attributes {
        var result = self
        for (key, value) in changes {
            guard let rule = rules.first(where: { $0.key == key }) else {
                throw .validation("Attribute key '\(key)' is not recognized; valid keys: \(keys.joined(separator: ", "))")
            }
            if let problem = rule.check(value) { throw .validation(problem) }
            result.values[key] = value
        }
        return result
    }

    /// Attributes as stored: `values` over the rules' defaults; keys the rules do not know are
    /// dropped (an attribute a later version removed), missing ones keep their default.
    public init(_ rules: [AttributeRule], stored values: [String: String]) {
        self.init(rules)
        for (key, value) in values where self.values[key] != nil { self.values[key] = value }
    }

    /// (key, value) pairs in AWS's order.
    public var pairs: [(key: String, value: String)] { keys.map { ($0, values[$0] ?? "") } }
}
