import Foundation
import Wire

/// Every gateway load balancer, listener and target group, and AWS's rules for changing them.
/// A value: each operation checks every rule first and changes nothing when one fails, so the
/// store can commit exactly what succeeded. The clock and the id source are passed in.
public struct ResourceCatalog: Hashable, Sendable {
    public let region: String
    public let account: String
    public private(set) var loadBalancers: [LoadBalancer] = []
    public private(set) var listeners: [Listener] = []
    public private(set) var targetGroups: [TargetGroup] = []
    public internal(set) var endpoints: [Endpoint] = []
    public internal(set) var endpointServices: [EndpointService] = []
    public internal(set) var routeTables: [RouteTable] = []

    public init(region: String = "us-east-1", account: String = "123456789012") {
        self.region = region
        self.account = account
    }

    /// A catalog as the store kept it.
    public init(region: String, account: String, loadBalancers: [LoadBalancer], listeners: [Listener], targetGroups: [TargetGroup],
                endpoints: [Endpoint] = [], endpointServices: [EndpointService] = [], routeTables: [RouteTable] = []) {
        self.region = region
        self.account = account
        self.loadBalancers = loadBalancers
        self.listeners = listeners
        self.targetGroups = targetGroups
        self.endpoints = endpoints
        self.endpointServices = endpointServices
        self.routeTables = routeTables
    }

    // MARK: Load balancers

    public mutating func createLoadBalancer(name: String, type: String?, subnets: [String], ipAddressType: String?,
                                            tags: [Tag], id: String, now: Date) throws(ELBError) -> LoadBalancer {
        guard (type ?? "application") == "gateway" else {
            throw .validation("Type must be 'gateway': gwlb runs gateway load balancers only")
        }
        try Names.validate(name, what: "Load balancer")
        guard !name.lowercased().hasPrefix("internal-") else { throw .validation("Load balancer name cannot begin with 'internal-'") }
        let addressType = ipAddressType ?? "ipv4"
        guard ["ipv4", "dualstack"].contains(addressType) else { throw .validation("IpAddressType must be ipv4 or dualstack") }
        guard subnets.count <= Limits.subnetsPerLoadBalancer else {
            throw .validation("A load balancer takes at most \(Limits.subnetsPerLoadBalancer) subnets (one per Availability Zone)")
        }
        for subnet in subnets { try Self.validate(identifier: subnet, what: "Subnet") }
        try Self.validate(tags)
        if let existing = loadBalancers.first(where: { $0.name == name }) {
            throw ELBError(.duplicateLoadBalancerName, "A load balancer named '\(existing.name)' already exists; choose another name")
        }
        guard loadBalancers.count < Limits.loadBalancers else {
            throw ELBError(.tooManyLoadBalancers, "The limit of \(Limits.loadBalancers) load balancers is reached; delete one first")
        }
        let balancer = LoadBalancer(arn: .loadBalancer(region: region, account: account, name: name, id: id), createdTime: now,
                                    subnets: subnets, ipAddressType: addressType, attributes: Attributes(AttributeRules.loadBalancer),
                                    tags: tags)
        loadBalancers.append(balancer)
        return balancer
    }

    /// Deleting one that does not exist succeeds, as in AWS.
    public mutating func deleteLoadBalancer(_ arn: ARN) throws(ELBError) {
        guard let balancer = loadBalancers.first(where: { $0.arn == arn }) else { return }
        guard !balancer.attributes.bool("deletion_protection.enabled") else {
            throw ELBError(.operationNotPermitted, "Load balancer '\(balancer.name)' has deletion protection; set deletion_protection.enabled to false first")
        }
        if let endpoint = endpoints.first(where: { $0.loadBalancerArn == arn }) {
            throw ELBError(.resourceInUse, "Load balancer '\(balancer.name)' has endpoint \(endpoint.id) (\(endpoint.interface)); delete its endpoints first")
        }
        if let service = endpointServices.first(where: { $0.loadBalancerArns.contains(arn.description) }) {
            throw ELBError(.resourceInUse, "Load balancer '\(balancer.name)' is offered by endpoint service \(service.id); delete that service first")
        }
        listeners.removeAll { $0.loadBalancerArn == arn }
        loadBalancers.removeAll { $0.arn == arn }
    }

    public func loadBalancer(_ arn: ARN) throws(ELBError) -> LoadBalancer {
        guard let balancer = loadBalancers.first(where: { $0.arn == arn }) else {
            throw ELBError(.loadBalancerNotFound, "Load balancer '\(arn)' not found")
        }
        return balancer
    }

    public mutating func modifyLoadBalancerAttributes(_ arn: ARN, _ changes: [(key: String, value: String)]) throws(ELBError) -> Attributes {
        let index = try indexOfLoadBalancer(arn)
        let attributes = try loadBalancers[index].attributes.applying(changes, rules: AttributeRules.loadBalancer)
        loadBalancers[index].attributes = attributes
        return attributes
    }

    // MARK: Target groups

    /// A target group with the same name and settings as an existing one is that one (AWS's rule).
    public mutating func createTargetGroup(name: String, protocol proto: String?, port: Int?, vpcId: String?, targetType: String?,
                                           healthCheck: HealthCheck, tags: [Tag], id: String) throws(ELBError) -> TargetGroup {
        try Names.validate(name, what: "Target group")
        guard proto == TargetGroup.protocolName else {
            throw .validation("Protocol must be GENEVE for a gateway load balancer's target group")
        }
        guard port == TargetGroup.port else { throw .validation("Port must be 6081 for the GENEVE protocol") }
        let type = targetType ?? "instance"
        guard ["ip", "instance"].contains(type) else { throw .validation("TargetType must be ip or instance") }
        try healthCheck.validate()
        if let vpcId { try Self.validate(identifier: vpcId, what: "VpcId") }
        try Self.validate(tags)
        if let existing = targetGroups.first(where: { $0.name == name }) {
            guard existing.vpcId == vpcId, existing.targetType == type, existing.healthCheck == healthCheck else {
                throw ELBError(.duplicateTargetGroupName, "A target group named '\(name)' already exists with other settings; choose another name")
            }
            return existing
        }
        guard targetGroups.count < Limits.targetGroups else {
            throw ELBError(.tooManyTargetGroups, "The limit of \(Limits.targetGroups) target groups is reached; delete one first")
        }
        let group = TargetGroup(arn: .targetGroup(region: region, account: account, name: name, id: id), vpcId: vpcId,
                                targetType: type, healthCheck: healthCheck, attributes: Attributes(AttributeRules.targetGroup),
                                targets: [], tags: tags)
        targetGroups.append(group)
        return group
    }

    public func targetGroup(_ arn: ARN) throws(ELBError) -> TargetGroup {
        guard let group = targetGroups.first(where: { $0.arn == arn }) else {
            throw ELBError(.targetGroupNotFound, "Target group '\(arn)' not found")
        }
        return group
    }

    public mutating func modifyTargetGroup(_ arn: ARN, healthCheck: HealthCheck) throws(ELBError) -> TargetGroup {
        let index = try indexOfTargetGroup(arn)
        try healthCheck.validate()
        targetGroups[index].healthCheck = healthCheck
        return targetGroups[index]
    }

    public mutating func deleteTargetGroup(_ arn: ARN) throws(ELBError) {
        let index = try indexOfTargetGroup(arn)
        if let listener = listeners.first(where: { $0.targetGroupArn == arn }) {
            throw ELBError(.resourceInUse, "Target group '\(targetGroups[index].name)' is in use by listener '\(listener.arn)'; delete or change the listener first")
        }
        targetGroups.remove(at: index)
    }

    /// Attribute changes, with the rules that tie attributes together: the two target_failover
    /// attributes are equal; send_tcp_reset needs five-tuple flows and no_rebalance.
    public mutating func modifyTargetGroupAttributes(_ arn: ARN, _ changes: [(key: String, value: String)]) throws(ELBError) -> Attributes {
        let index = try indexOfTargetGroup(arn)
        let attributes = try targetGroups[index].attributes.applying(changes, rules: AttributeRules.targetGroup)
        guard attributes["target_failover.on_deregistration"] == attributes["target_failover.on_unhealthy"] else {
            throw .validation("target_failover.on_deregistration and target_failover.on_unhealthy must have the same value")
        }
        if attributes.bool("send_tcp_reset.on_unhealthy.enabled") || attributes.bool("send_tcp_reset.on_deregistration.enabled") {
            guard !attributes.bool("stickiness.enabled") else {
                throw .validation("send_tcp_reset needs five-tuple flows: set stickiness.enabled to false first")
            }
            guard attributes["target_failover.on_deregistration"] == "no_rebalance" else {
                throw .validation("send_tcp_reset needs target_failover no_rebalance")
            }
        }
        targetGroups[index].attributes = attributes
        return attributes
    }

    // MARK: Targets

    /// Registers targets (again, for one that is draining). IP targets must be IPv4 addresses;
    /// instance targets are ids that `instances` resolves, or addresses. At most 300 targets per
    /// load balancer.
    public mutating func registerTargets(_ arn: ARN, _ targets: [(id: String, port: Int?)], instances: [String: String] = [:],
                                         now: Date) throws(ELBError) {
        let index = try indexOfTargetGroup(arn)
        var group = targetGroups[index]
        for target in targets {
            switch group.targetType {
            case "ip":
                guard IPv4Address(target.id) != nil else { throw ELBError(.invalidTarget, "Target id '\(target.id)' is not an IPv4 address") }
            default:
                // Instance ids resolve through the configured map; an address stands for itself, so
                // AWS's walkthrough (which leaves the target type at its default, instance) works as written.
                guard instances[target.id] != nil || IPv4Address(target.id) != nil else {
                    throw ELBError(.invalidTarget, "Instance '\(target.id)' is not known; add it to the instance map or use an ip target group")
                }
            }
            let port = target.port ?? TargetGroup.port
            guard port == TargetGroup.port else { throw ELBError(.invalidTarget, "Target port must be 6081 for GENEVE (got \(port))") }
            if let existing = group.targets.firstIndex(where: { $0.id == target.id }) {
                group.targets[existing].deregisteredTime = nil
            } else {
                group.targets.append(TargetRegistration(id: target.id, port: port, registeredTime: now, deregisteredTime: nil))
            }
        }
        guard group.targets.count <= Limits.targetsPerLoadBalancer else {
            throw ELBError(.tooManyTargets, "A load balancer can have at most \(Limits.targetsPerLoadBalancer) targets")
        }
        targetGroups[index] = group
    }

    /// Starts draining targets; `removeDrained` takes them out once their delay has passed.
    public mutating func deregisterTargets(_ arn: ARN, _ targets: [String], now: Date) throws(ELBError) {
        let index = try indexOfTargetGroup(arn)
        var group = targetGroups[index]
        for id in targets {
            guard let position = group.targets.firstIndex(where: { $0.id == id }) else {
                throw ELBError(.invalidTarget, "Target '\(id)' is not registered with target group '\(group.name)'")
            }
            if group.targets[position].deregisteredTime == nil { group.targets[position].deregisteredTime = now }
        }
        targetGroups[index] = group
    }

    /// Removes targets whose deregistration delay has passed; returns how many.
    @discardableResult
    public mutating func removeDrained(now: Date) -> Int {
        var removed = 0
        for index in targetGroups.indices {
            let delay = TimeInterval(targetGroups[index].attributes.int("deregistration_delay.timeout_seconds"))
            let before = targetGroups[index].targets.count
            targetGroups[index].targets.removeAll { target in target.deregisteredTime.map { now.timeIntervalSince($0) >= delay } ?? false }
            removed += before - targetGroups[index].targets.count
        }
        return removed
    }

    // MARK: Listeners

    /// A gateway listener: no port, no protocol, one forward action; one per load balancer.
    public mutating func createListener(loadBalancer arn: ARN, port: Int?, protocol proto: String?,
                                        forwardTo targetGroupArn: ARN?, actionType: String?, tags: [Tag], id: String) throws(ELBError) -> Listener {
        guard port == nil else { throw .validation("A port cannot be specified for gateway listeners") }
        guard proto == nil else { throw .validation("A protocol cannot be specified for gateway listeners") }
        guard actionType == "forward", let targetGroupArn else {
            throw .validation("A gateway listener needs one default action: Type=forward,TargetGroupArn=<target group>")
        }
        try Self.validate(tags)
        let balancer = try loadBalancer(arn)
        let group = try targetGroup(targetGroupArn)
        guard listeners.filter({ $0.loadBalancerArn == arn }).count < Limits.listenersPerLoadBalancer else {
            throw ELBError(.tooManyListeners, "Load balancer '\(balancer.name)' already has its listener; a gateway load balancer has one")
        }
        if let other = listeners.first(where: { $0.targetGroupArn == targetGroupArn }) {
            throw ELBError(.invalidConfigurationRequest, "Target group '\(group.name)' is already used by load balancer '\(other.loadBalancerArn.name)'")
        }
        let listener = Listener(arn: .listener(of: arn, id: id), loadBalancerArn: arn, targetGroupArn: targetGroupArn,
                                attributes: Attributes(AttributeRules.listener), tags: tags)
        listeners.append(listener)
        return listener
    }

    public func listener(_ arn: ARN) throws(ELBError) -> Listener {
        guard let listener = listeners.first(where: { $0.arn == arn }) else {
            throw ELBError(.listenerNotFound, "Listener '\(arn)' not found")
        }
        return listener
    }

    public mutating func modifyListener(_ arn: ARN, forwardTo targetGroupArn: ARN) throws(ELBError) -> Listener {
        guard let index = listeners.firstIndex(where: { $0.arn == arn }) else {
            throw ELBError(.listenerNotFound, "Listener '\(arn)' not found")
        }
        _ = try targetGroup(targetGroupArn)
        if let other = listeners.first(where: { $0.targetGroupArn == targetGroupArn && $0.arn != arn }) {
            throw ELBError(.invalidConfigurationRequest, "Target group is already used by load balancer '\(other.loadBalancerArn.name)'")
        }
        listeners[index].targetGroupArn = targetGroupArn
        return listeners[index]
    }

    public mutating func deleteListener(_ arn: ARN) throws(ELBError) {
        guard listeners.contains(where: { $0.arn == arn }) else { throw ELBError(.listenerNotFound, "Listener '\(arn)' not found") }
        listeners.removeAll { $0.arn == arn }
    }

    public mutating func modifyListenerAttributes(_ arn: ARN, _ changes: [(key: String, value: String)]) throws(ELBError) -> Attributes {
        guard let index = listeners.firstIndex(where: { $0.arn == arn }) else {
            throw ELBError(.listenerNotFound, "Listener '\(arn)' not found")
        }
        let attributes = try listeners[index].attributes.applying(changes, rules: AttributeRules.listener)
        listeners[index].attributes = attributes
        return attributes
    }

    // MARK: Tags

    public mutating func addTags(_ arns: [ARN], _ tags: [Tag]) throws(ELBError) {
        try Self.validate(tags)
        var copy = self
        for arn in arns {
            try copy.updateTags(arn) { existing throws(ELBError) in
                var merged = existing
                for tag in tags {
                    if let index = merged.firstIndex(where: { $0.key == tag.key }) { merged[index] = tag } else { merged.append(tag) }
                }
                guard merged.count <= Limits.tagsPerResource else {
                    throw ELBError(.tooManyTags, "A resource can have at most \(Limits.tagsPerResource) tags")
                }
                return merged
            }
        }
        self = copy
    }

    public mutating func removeTags(_ arns: [ARN], keys: [String]) throws(ELBError) {
        var copy = self
        for arn in arns { try copy.updateTags(arn) { $0.filter { !keys.contains($0.key) } } }
        self = copy
    }

    public func tags(_ arn: ARN) throws(ELBError) -> [Tag] {
        switch arn.kind {
        case .loadBalancer: try loadBalancer(arn).tags
        case .targetGroup: try targetGroup(arn).tags
        case .listener: try listener(arn).tags
        }
    }

    private mutating func updateTags(_ arn: ARN, _ change: ([Tag]) throws(ELBError) -> [Tag]) throws(ELBError) {
        switch arn.kind {
        case .loadBalancer:
            let index = try indexOfLoadBalancer(arn)
            loadBalancers[index].tags = try change(loadBalancers[index].tags)
        case .targetGroup:
            let index = try indexOfTargetGroup(arn)
            targetGroups[index].tags = try change(targetGroups[index].tags)
        case .listener:
            guard let index = listeners.firstIndex(where: { $0.arn == arn }) else { throw ELBError(.listenerNotFound, "Listener '\(arn)' not found") }
            listeners[index].tags = try change(listeners[index].tags)
        }
    }

    static func validate(_ tags: [Tag]) throws(ELBError) {
        guard Set(tags.map(\.key)).count == tags.count else { throw ELBError(.duplicateTagKeys, "A tag key appears twice") }
        guard tags.count <= Limits.tagsPerResource else {
            throw ELBError(.tooManyTags, "A resource can have at most \(Limits.tagsPerResource) tags")
        }
        for tag in tags {
            // AWS counts characters (code points); its pattern is ^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$.
            guard (1...128).contains(tag.key.unicodeScalars.count), tag.value.unicodeScalars.count <= 256, !tag.key.hasPrefix("aws:") else {
                throw .validation("Tag key '\(Self.printable(tag.key))' must be 1-128 characters, not starting with aws:, and its value at most 256")
            }
            for (what, text) in [("key", tag.key), ("value", tag.value)] where !text.unicodeScalars.allSatisfy(Self.isTagCharacter) {
                throw .validation("Tag \(what) '\(Self.printable(text))' may hold only letters, digits, spaces and _ . : / = + - @")
            }
        }
    }

    static func isTagCharacter(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
             .spaceSeparator, .lineSeparator, .paragraphSeparator, .decimalNumber, .letterNumber, .otherNumber:
            return true
        default:
            return "_.:/=+-@".unicodeScalars.contains(scalar)
        }
    }

    /// An identifier AWS takes as given (a subnet, a VPC): 1-255 printable ASCII characters.
    static func validate(identifier text: String, what: String) throws(ELBError) {
        guard (1...255).contains(text.utf8.count), text.unicodeScalars.allSatisfy({ (0x21...0x7E).contains($0.value) }) else {
            throw .validation("\(what) '\(printable(text))' must be 1-255 printable ASCII characters without spaces")
        }
    }

    /// A caller's text fit for an error message: controls shown as '?', at most 64 characters.
    static func printable(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.prefix(64).map { $0.value < 0x20 || $0.value == 0x7F ? "?" : $0 }))
    }

    // MARK: Helpers

    private func indexOfLoadBalancer(_ arn: ARN) throws(ELBError) -> Int {
        guard let index = loadBalancers.firstIndex(where: { $0.arn == arn }) else {
            throw ELBError(.loadBalancerNotFound, "Load balancer '\(arn)' not found")
        }
        return index
    }

    private func indexOfTargetGroup(_ arn: ARN) throws(ELBError) -> Int {
        guard let index = targetGroups.firstIndex(where: { $0.arn == arn }) else {
            throw ELBError(.targetGroupNotFound, "Target group '\(arn)' not found")
        }
        return index
    }
}
