/// The one table of the API's operations, read by both sides: gwlbd answers exactly these actions
/// (a test holds its handlers to the table) and `gwlb` offers exactly these as verbs, with these
/// parameters. Only what a gateway load balancer takes is listed.
public struct ELBOperation: Sendable {
    public enum Kind: Sendable {
        case string, integer, boolean
        /// `--names a b` → `Names.member.1=a&Names.member.2=b`
        case strings
        /// `--targets Id=a,Port=1 Id=b` → `Targets.member.1.Id=a&…`
        case structures
        /// `--matcher HttpCode=200` → `Matcher.HttpCode=200`
        case structure
    }

    public struct Parameter: Sendable {
        public let name: String
        public let kind: Kind
        public let required: Bool

        public init(name: String, kind: Kind, required: Bool) {
            (self.name, self.kind, self.required) = (name, kind, required)
        }
    }

    /// Which API: elbv2 (`gwlb VERB`) or EC2 (`gwlb ec2 VERB`); EC2 spells lists `Name.N` and
    /// pages with `NextToken`.
    public enum Service: Sendable { case elbv2, ec2 }

    public let action: String
    public let parameters: [Parameter]
    /// The list member that NextMarker (EC2: NextToken) pages through, for operations the aws CLI pages for you.
    public let paginated: String?
    public let service: Service

    /// The request parameter and answer member that carry the next page's position.
    public var pageMarker: (request: String, answer: String) { service == .ec2 ? ("NextToken", "NextToken") : ("Marker", "NextMarker") }

    public init(_ action: String, paginated: String? = nil, service: Service = .elbv2, _ parameters: [(String, Kind, Bool)]) {
        self.action = action
        self.paginated = paginated
        self.service = service
        self.parameters = parameters.map { Parameter(name: $0.0, kind: $0.1, required: $0.2) }
    }

    /// The operation named `action` in a request, of the given API.
    public static func action(_ action: String, service: Service) -> ELBOperation? {
        (service == .ec2 ? ec2 : all).first { $0.action == action }
    }

    static let healthCheck: [(String, Kind, Bool)] = [
        ("HealthCheckProtocol", .string, false), ("HealthCheckPort", .string, false), ("HealthCheckEnabled", .boolean, false),
        ("HealthCheckPath", .string, false), ("HealthCheckIntervalSeconds", .integer, false),
        ("HealthCheckTimeoutSeconds", .integer, false), ("HealthyThresholdCount", .integer, false),
        ("UnhealthyThresholdCount", .integer, false), ("Matcher", .structure, false),
    ]
    static let paging: [(String, Kind, Bool)] = [("Marker", .string, false), ("PageSize", .integer, false)]

    public static let all: [ELBOperation] = [
        ELBOperation("CreateLoadBalancer", [
            ("Name", .string, true), ("Subnets", .strings, false), ("SubnetMappings", .structures, false),
            ("SecurityGroups", .strings, false), ("Scheme", .string, false), ("Tags", .structures, false),
            ("Type", .string, false), ("IpAddressType", .string, false),
        ]),
        ELBOperation("DescribeLoadBalancers", paginated: "LoadBalancers",
                     [("LoadBalancerArns", .strings, false), ("Names", .strings, false)] + paging),
        ELBOperation("DeleteLoadBalancer", [("LoadBalancerArn", .string, true)]),
        ELBOperation("DescribeLoadBalancerAttributes", [("LoadBalancerArn", .string, true)]),
        ELBOperation("ModifyLoadBalancerAttributes", [("LoadBalancerArn", .string, true), ("Attributes", .structures, true)]),
        ELBOperation("CreateTargetGroup", [
            ("Name", .string, true), ("Protocol", .string, false), ("Port", .integer, false), ("VpcId", .string, false),
        ] + healthCheck + [("TargetType", .string, false), ("Tags", .structures, false), ("IpAddressType", .string, false)]),
        ELBOperation("DescribeTargetGroups", paginated: "TargetGroups",
                     [("LoadBalancerArn", .string, false), ("TargetGroupArns", .strings, false), ("Names", .strings, false)] + paging),
        ELBOperation("ModifyTargetGroup", [("TargetGroupArn", .string, true)] + healthCheck),
        ELBOperation("DeleteTargetGroup", [("TargetGroupArn", .string, true)]),
        ELBOperation("DescribeTargetGroupAttributes", [("TargetGroupArn", .string, true)]),
        ELBOperation("ModifyTargetGroupAttributes", [("TargetGroupArn", .string, true), ("Attributes", .structures, true)]),
        ELBOperation("RegisterTargets", [("TargetGroupArn", .string, true), ("Targets", .structures, true)]),
        // DryRun is gwlb's: a preview from the live flow tables, nothing changed (README "Troubleshooting verbs").
        ELBOperation("DeregisterTargets", [("TargetGroupArn", .string, true), ("Targets", .structures, true), ("DryRun", .boolean, false)]),
        ELBOperation("DescribeTargetHealth", [("TargetGroupArn", .string, true), ("Targets", .structures, false)]),
        ELBOperation("CreateListener", [
            ("LoadBalancerArn", .string, true), ("Protocol", .string, false), ("Port", .integer, false),
            ("DefaultActions", .structures, true), ("Tags", .structures, false),
        ]),
        ELBOperation("DescribeListeners", paginated: "Listeners",
                     [("LoadBalancerArn", .string, false), ("ListenerArns", .strings, false)] + paging),
        ELBOperation("ModifyListener", [
            ("ListenerArn", .string, true), ("Port", .integer, false), ("Protocol", .string, false), ("DefaultActions", .structures, false),
        ]),
        ELBOperation("DeleteListener", [("ListenerArn", .string, true)]),
        ELBOperation("DescribeListenerAttributes", [("ListenerArn", .string, true)]),
        ELBOperation("ModifyListenerAttributes", [("ListenerArn", .string, true), ("Attributes", .structures, true)]),
        ELBOperation("AddTags", [("ResourceArns", .strings, true), ("Tags", .structures, true)]),
        ELBOperation("RemoveTags", [("ResourceArns", .strings, true), ("TagKeys", .strings, true)]),
        ELBOperation("DescribeTags", [("ResourceArns", .strings, true)]),
        // gwlb's own: endpoints.
        ELBOperation("CreateEndpoint", [
            ("LoadBalancerArn", .string, true), ("Interface", .string, true), ("EndpointId", .string, false), ("AttachmentId", .string, false),
        ]),
        ELBOperation("DescribeEndpoints", [("EndpointIds", .strings, false), ("LoadBalancerArn", .string, false)]),
        ELBOperation("DeleteEndpoint", [("EndpointId", .string, true)]),
    ]

    static let dryRun: [(String, Kind, Bool)] = [("DryRun", .boolean, false)]
    static let ec2Paging: [(String, Kind, Bool)] = [("MaxResults", .integer, false), ("NextToken", .string, false)]
    static let routeDestination: [(String, Kind, Bool)] = [
        ("RouteTableId", .string, true), ("DestinationCidrBlock", .string, false), ("DestinationIpv6CidrBlock", .string, false),
    ]

    /// The EC2 operations `gwlb ec2` offers (README "The EC2 API"), flags as `aws ec2` takes them.
    public static let ec2: [ELBOperation] = [
        ELBOperation("CreateVpcEndpointServiceConfiguration", service: .ec2, [
            ("GatewayLoadBalancerArns", .strings, false), ("AcceptanceRequired", .boolean, false), ("TagSpecifications", .structures, false),
        ] + dryRun),
        ELBOperation("DescribeVpcEndpointServiceConfigurations", paginated: "ServiceConfigurations", service: .ec2,
                     [("ServiceIds", .strings, false), ("Filters", .structures, false)] + ec2Paging + dryRun),
        ELBOperation("DeleteVpcEndpointServiceConfigurations", service: .ec2, [("ServiceIds", .strings, true)] + dryRun),
        ELBOperation("AcceptVpcEndpointConnections", service: .ec2, [("ServiceId", .string, true), ("VpcEndpointIds", .strings, true)] + dryRun),
        ELBOperation("CreateVpcEndpoint", service: .ec2, [
            ("VpcEndpointType", .string, false), ("VpcId", .string, true), ("ServiceName", .string, true), ("SubnetIds", .strings, false),
            ("TagSpecifications", .structures, false),
        ] + dryRun),
        ELBOperation("DescribeVpcEndpoints", paginated: "VpcEndpoints", service: .ec2,
                     [("VpcEndpointIds", .strings, false), ("Filters", .structures, false)] + ec2Paging + dryRun),
        ELBOperation("DeleteVpcEndpoints", service: .ec2, [("VpcEndpointIds", .strings, true)] + dryRun),
        ELBOperation("CreateRouteTable", service: .ec2, [("VpcId", .string, true), ("TagSpecifications", .structures, false)] + dryRun),
        ELBOperation("AssociateRouteTable", service: .ec2, [
            ("RouteTableId", .string, true), ("SubnetId", .string, false), ("GatewayId", .string, false),
        ] + dryRun),
        ELBOperation("ReplaceRouteTableAssociation", service: .ec2, [("AssociationId", .string, true), ("RouteTableId", .string, true)] + dryRun),
        ELBOperation("DisassociateRouteTable", service: .ec2, [("AssociationId", .string, true)] + dryRun),
        ELBOperation("CreateRoute", service: .ec2, routeDestination + [("VpcEndpointId", .string, false), ("GatewayId", .string, false)] + dryRun),
        ELBOperation("ReplaceRoute", service: .ec2, routeDestination + [
            ("VpcEndpointId", .string, false), ("GatewayId", .string, false), ("LocalTarget", .boolean, false),
        ] + dryRun),
        ELBOperation("DeleteRoute", service: .ec2, routeDestination + dryRun),
        ELBOperation("DescribeRouteTables", paginated: "RouteTables", service: .ec2,
                     [("RouteTableIds", .strings, false), ("Filters", .structures, false)] + ec2Paging + dryRun),
        ELBOperation("DeleteRouteTable", service: .ec2, [("RouteTableId", .string, true)] + dryRun),
        // gwlb's own: puts back rules and routes changed behind gwlbd's back.
        ELBOperation("RepairRouteTables", service: .ec2, []),
    ]
}
