/// Amazon Resource Names in AWS's format for gateway load balancers, listeners and target groups
/// (README "The control plane"), with a configurable region and account.
public struct ARN: Hashable, Sendable, CustomStringConvertible, Comparable {
    public enum Kind: String, Sendable {
        case loadBalancer = "loadbalancer"
        case listener
        case targetGroup = "targetgroup"
    }

    public let region: String
    public let account: String
    public let kind: Kind
    /// The parts after the kind: `gwy/<name>/<id>` (load balancer), `gwy/<lb-name>/<lb-id>/<id>`
    /// (listener), `<name>/<id>` (target group).
    public let path: [String]

    public var description: String {
        "arn:aws:elasticloadbalancing:\(region):\(account):\(kind.rawValue)/\(path.joined(separator: "/"))"
    }

    /// The resource's own name (load balancer or target group; a listener's load balancer name).
    public var name: String { kind == .targetGroup ? path[0] : path[1] }

    /// The 16-hex-digit id at the end.
    public var id: String { path[path.count - 1] }

    public static func loadBalancer(region: String, account: String, name: String, id: String) -> ARN {
        ARN(region: region, account: account, kind: .loadBalancer, path: ["gwy", name, id])
    }

    public static func listener(of loadBalancer: ARN, id: String) -> ARN {
        ARN(region: loadBalancer.region, account: loadBalancer.account, kind: .listener, path: loadBalancer.path + [id])
    }

    public static func targetGroup(region: String, account: String, name: String, id: String) -> ARN {
        ARN(region: region, account: account, kind: .targetGroup, path: [name, id])
    }

    /// Parses an ARN of one of our kinds; nil for anything else.
    public init?(_ text: String) {
        let parts = text.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
        guard parts.count == 6, parts[0] == "arn", parts[1] == "aws", parts[2] == "elasticloadbalancing" else { return nil }
        let resource = parts[5].split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard let first = resource.first, let kind = Kind(rawValue: first) else { return nil }
        let path = Array(resource.dropFirst())
        let isHex = { (id: String) in id.count == 16 && id.allSatisfy(\.isHexDigit) }
        switch kind {
        case .loadBalancer: guard path.count == 3, path[0] == "gwy", isHex(path[2]) else { return nil }
        case .listener: guard path.count == 4, path[0] == "gwy", isHex(path[2]), isHex(path[3]) else { return nil }
        case .targetGroup: guard path.count == 2, isHex(path[1]) else { return nil }
        }
        self.init(region: String(parts[3]), account: String(parts[4]), kind: kind, path: path)
    }

    init(region: String, account: String, kind: Kind, path: [String]) {
        self.region = region
        self.account = account
        self.kind = kind
        self.path = path
    }

    /// The ARN of the load balancer a listener belongs to.
    public var loadBalancerOfListener: ARN? {
        kind == .listener ? ARN(region: region, account: account, kind: .loadBalancer, path: Array(path.prefix(3))) : nil
    }

    public static func < (lhs: ARN, rhs: ARN) -> Bool { lhs.description < rhs.description }
}
