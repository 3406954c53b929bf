import AWSCommandLine
import Appliance
import ArgumentParser
import Console
import ControlClient
import ControlContract
import Daemon
import Foundation
import Lab
import Telemetry
import Wire

@main
struct GWLBCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gwlb",
        abstract: "Operate gwlb, a gateway load balancer that speaks AWS GWLB's GENEVE.",
        discussion: """
            The elbv2 verbs of `aws elbv2` work here with the same flags and output, against gwlbd's \
            Unix socket (--socket PATH, else $GWLB_SOCKET, else \(ELBCommandLine.defaultSocketPath)); \
            `gwlb VERB --help` shows a verb's flags. Verbs: \(ELBCommandLine.verbList).
            The EC2 verbs of `aws ec2` for endpoint services, endpoints and route tables work as \
            `gwlb ec2 VERB`: \(ELBCommandLine.ec2VerbList).
            """,
        subcommands: [DemoCommand.self, ConsoleCommand.self, FlowsCommand.self, DropsCommand.self, ClusterCommand.self, CaptureCommand.self, ApplianceCommand.self, LabCommand.self])

    /// elbv2 verbs (also after `elbv2`, so `aws elbv2 …` lines paste as `gwlb elbv2 …`, and after
    /// global options) go to the elbv2 command line, which reads flags the aws CLI's way;
    /// everything else to ArgumentParser.
    static func main() {
        var arguments = Array(CommandLine.arguments.dropFirst())
        // `gwlbd`'s own flags are not the aws CLI's: they stay as they are.
        if arguments.first != "gwlbd" { arguments = ELBCommandLine.movingGlobalOptions(arguments) }
        if let verb = arguments.first, ELBCommandLine.isVerb(verb) {
            Foundation.exit(ELBCommandLine.run(verb, Array(arguments.dropFirst())))
        }
        // `gwlb ec2 VERB`, as `aws ec2 VERB` (global options before or after the verb).
        if arguments.first == "ec2" {
            let rest = ELBCommandLine.movingGlobalOptions(Array(arguments.dropFirst()))
            guard let verb = rest.first, ELBOperation.ec2Named(verb) != nil else {
                StandardError.print("usage: gwlb ec2 VERB [flags]; verbs: \(ELBCommandLine.ec2VerbList)")
                Foundation.exit(ELBCommandLine.ExitCode.usage)
            }
            Foundation.exit(ELBCommandLine.run(verb, Array(rest.dropFirst()), ec2: true))
        }
        // gwlbd itself, with its own flags: what the demo starts in the lab's router.
        if arguments.first == "gwlbd" { GwlbdCommand.main(Array(arguments.dropFirst())) }
        main(arguments)
    }
}

extension IPv4Address: ExpressibleByArgument {
    public init?(argument: String) { self.init(argument) }
}

extension ApplianceRule: ExpressibleByArgument {
    public init?(argument: String) { self.init(argument) }
}

struct ConsoleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "console",
        abstract: "The operator console: live flows, targets, health and drops from a running gwlbd; drain and register targets.")

    @Option(help: "gwlbd's Unix socket (else $GWLB_SOCKET, else /run/gwlb/gwlb.sock).")
    var socket: String?

    @Option(help: "A theme from themes/ (default, light, mono, tty16, colorblind, …).")
    var theme = "default"

    @Flag(help: "Watch only: no drain or register keys.")
    var readOnly = false

    @Option(help: "Seconds between redraws.")
    var refresh = 1.0

    @Flag(help: "Leave the mouse to the terminal (to select text) instead of clicks selecting targets and sorting columns.")
    var noMouse = false

    func run() throws {
        var console = ConsoleApp(socketPath: resolvedSocket(socket), themeName: theme, readOnly: readOnly, refreshSeconds: max(0.2, refresh),
                                 executable: CommandLine.selfExecutable)
        console.mouse = !noMouse
        try console.run()
    }
}

struct ApplianceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "appliance",
        abstract: "Run the reference appliance: return GENEVE traffic by AWS's contract, drop what the rules say.")

    @Option(help: "Address to receive GENEVE on (UDP 6081).")
    var listen: IPv4Address

    @Option(help: "TCP port for health checks (GET / → 200, or 503 after POST /health/fail) and GET /stats.")
    var healthPort: UInt16 = 8080

    @Option(name: .customLong("drop"), help: "Drop traffic to or from a port, e.g. tcp:23 (repeatable).")
    var rules: [ApplianceRule] = []

    @Flag(help: "Routing mode: decrement the inner TTL / hop limit.")
    var decrementTTL = false

    @Flag(help: "Return GENEVE with outer UDP checksum 0 and outer TTL 2 (as some appliances do).")
    var oddOuterHeaders = false

    @Option(help: "Return every datagram to this gwlbd address, not to the one that sent it (any node of a cluster accepts it).")
    var returnTo: IPv4Address?

    func run() throws {
        LogLines.bootstrap()
        var configuration = ReferenceAppliance.Configuration(listen: listen)
        configuration.healthPort = healthPort
        configuration.rules = rules
        configuration.decrementTTL = decrementTTL
        configuration.oddOuterHeaders = oddOuterHeaders
        configuration.returnTo = returnTo
        try ReferenceAppliance.serve(configuration)
    }
}

struct LabCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lab",
        abstract: "Build, inspect or remove the namespace lab (AWS's inspection topology).",
        subcommands: [Up.self, Down.self, Status.self])

    struct Options: ParsableArguments {
        @Option(help: "Namespace name prefix (1-12 characters of a-z, 0-9, -).")
        var prefix = "gwlb"

        func validate() throws {
            if let problem = Lab.problem(withPrefix: prefix) { throw ValidationError(problem) }
        }
    }

    struct Up: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Build the lab and start its appliances.")
        @OptionGroup var options: Options
        @Option(help: "Number of appliances.") var appliances = 3
        @Option(name: .customLong("drop"), help: "Rule for every appliance, e.g. tcp:23 (repeatable).") var rules: [String] = []
        @Option(help: "Workers in the gwlbd configuration the lab writes.") var workers = 2
        @Option(help: "Who writes the router's policy routing: hand (the lab, for a gwlbd with a configuration file) or api (gwlbd, from route tables made with gwlb ec2 or aws ec2).")
        var routing = Lab.Routing.byHand
        @Option(help: ArgumentHelp("gwlbd nodes behind the router's multipath routes, sharing --database (1-9).",
                                   discussion: "Each node runs in <prefix>-nN with its own endpoint and GENEVE address 198.18.1.N.")) var nodes: Int?
        @Option(help: "The cluster's PostgreSQL (with --nodes), e.g. postgres://gwlb:PASSWORD@%2Fvar%2Frun%2Fpostgresql/gwlb: its Unix socket reaches it from the nodes' namespaces.")
        var database: String?

        func validate() throws {
            guard (1...50).contains(appliances) else { throw ValidationError("--appliances must be 1-50") }
            if let nodes {
                guard (1...9).contains(nodes) else { throw ValidationError("--nodes must be 1-9") }
                guard database != nil else { throw ValidationError("--nodes needs --database postgres://… (the configuration the nodes share)") }
            }
            if database != nil, nodes == nil { throw ValidationError("--database goes with --nodes N") }
            for rule in rules where ApplianceRule(rule) == nil { throw ValidationError("rule \(rule) must look like tcp:23 or udp:53") }
        }

        func run() throws {
            if let nodes, let database { return try runCluster(nodes: nodes, database: database) }
            let lab = Lab(prefix: options.prefix, applianceCount: appliances)
            try lab.up(executable: CommandLine.selfExecutable, rules: rules, workers: workers, routing: routing)
            // gwlbd is built next to gwlb (`swift build` builds both).
            let sibling = URL(fileURLWithPath: CommandLine.selfExecutable).deletingLastPathComponent().appendingPathComponent("gwlbd").path
            let gwlbd = FileManager.default.fileExists(atPath: sibling) ? sibling : "gwlbd"
            if routing == .throughAPI {
                print(Self.apiWalkthrough(lab, gwlbd: gwlbd, state: "/var/lib/gwlb-\(options.prefix)"))
                return
            }
            print("""
                lab \(options.prefix) is up: client \(Lab.clientAddress), server \(Lab.serverAddress), \(appliances) appliances.
                start gwlbd, managed through the API (then gwlb create-load-balancer …, create-endpoint --interface \(Lab.endpointInterface)):
                              ip netns exec \(lab.router) \(gwlbd) --state-dir /var/lib/gwlb-\(options.prefix) --geneve-address \(Lab.geneveAddress)\(gwlbd == "gwlbd" ? "   (build it first: swift build)" : "")
                or from the file the lab wrote (every appliance a target):
                              ip netns exec \(lab.router) \(gwlbd) --config \(lab.daemonConfigurationPath)
                send traffic: ip netns exec \(lab.client) ping \(Lab.serverAddress)
                remove it:    gwlb lab down --prefix \(options.prefix)
                """)
        }
    }

    struct Down: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove the lab and everything running in it.")
        @OptionGroup var options: Options
        func run() throws { Lab(prefix: options.prefix).down() }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the lab's namespaces and what runs in them.")
        @OptionGroup var options: Options
        @Option(help: "Number of appliances to look for.") var appliances = 3
        func run() throws { print(Lab(prefix: options.prefix, applianceCount: appliances).status()) }
    }
}

extension LabCommand.Up {
    /// `--nodes N`: the cluster's lab, each node's gwlbd started (in the background, logging to
    /// the lab's state directory), all sharing `database`.
    func runCluster(nodes: Int, database: String) throws {
        let lab = Lab(prefix: options.prefix, applianceCount: appliances, nodeCount: nodes)
        try lab.upCluster(executable: CommandLine.selfExecutable, rules: rules)
        let gwlbd = URL(fileURLWithPath: CommandLine.selfExecutable).deletingLastPathComponent().appendingPathComponent("gwlbd").path
        for number in 1...nodes {
            let log = "\(lab.stateDirectory)/gwlbd-n\(number).log"
            _ = FileManager.default.createFile(atPath: log, contents: nil)
            // Detached: the nodes outlive `gwlb lab up`; `gwlb lab down` stops them.
            _ = try ChildProcess(lab.nodeCommand(number, gwlbd: [gwlbd], database: database, detached: true), output: .file(log), errors: .file(log))
        }
        print("""
            lab \(options.prefix) is up: \(nodes) gwlbd nodes (\((1...nodes).map { lab.node($0) }.joined(separator: ", "))) behind the router's multipath routes, \(appliances) appliances.
            configure any node (the others follow within a second), e.g.:
                          gwlb --socket \(lab.nodeSocket(1)) create-load-balancer --name lb --type gateway --subnets s-1   (and so on, as in the README)
                          gwlb --socket \(lab.nodeSocket(1)) create-endpoint --load-balancer-arn ARN --interface \(Lab.endpointInterface)
            the nodes:    gwlb cluster status --socket \(lab.nodeSocket(1))
            logs:         \(lab.stateDirectory)/gwlbd-nN.log
            send traffic: ip netns exec \(lab.client) ping \(Lab.serverAddress)
            remove it:    gwlb lab down --prefix \(options.prefix)
            """)
    }

    /// The seed's walkthrough for a lab without routing: gwlbd in the router, then both halves
    /// through its API (`gwlb` as `aws elbv2`, `gwlb ec2` as `aws ec2`).
    static func apiWalkthrough(_ lab: Lab, gwlbd: String, state: String) -> String {
        let socket = "--socket /run/gwlb/\(lab.prefix).sock"
        return """
            lab \(lab.prefix) is up without routing: gwlbd makes it from the route tables you create.
            start gwlbd:  ip netns exec \(lab.router) \(gwlbd) --state-dir \(state) --geneve-address \(Lab.geneveAddress) --config \(lab.apiConfigurationPath) \(socket) &
            then, as the seed does it (here `gwlb` is `aws elbv2` and `gwlb ec2` is `aws ec2`):
              LB=$(gwlb \(socket) create-load-balancer --name lab --type gateway --subnets subnet-0provider --query 'LoadBalancers[0].LoadBalancerArn' --output text)
              TG=$(gwlb \(socket) create-target-group --name lab --protocol GENEVE --port 6081 --vpc-id vpc-0provider --query 'TargetGroups[0].TargetGroupArn' --output text)
              gwlb \(socket) register-targets --target-group-arn $TG --targets \((1...lab.applianceCount).map { "Id=\(Lab.applianceAddress($0))" }.joined(separator: " "))
              gwlb \(socket) create-listener --load-balancer-arn $LB --default-actions Type=forward,TargetGroupArn=$TG
              SERVICE=$(gwlb ec2 \(socket) create-vpc-endpoint-service-configuration --gateway-load-balancer-arns $LB --no-acceptance-required --query ServiceConfiguration.ServiceName --output text)
              VPCE=$(gwlb ec2 \(socket) create-vpc-endpoint --vpc-endpoint-type GatewayLoadBalancer --service-name $SERVICE --vpc-id \(Lab.vpcID) --subnet-ids \(Lab.endpointSubnetID) --tag-specifications 'ResourceType=vpc-endpoint,Tags=[{Key=gwlb:interface,Value=\(Lab.endpointInterface)}]' --query VpcEndpoint.VpcEndpointId --output text)
              INGRESS=$(gwlb ec2 \(socket) create-route-table --vpc-id \(Lab.vpcID) --query RouteTable.RouteTableId --output text)
              gwlb ec2 \(socket) associate-route-table --route-table-id $INGRESS --gateway-id \(Lab.internetGatewayID)
              gwlb ec2 \(socket) create-route --route-table-id $INGRESS --destination-cidr-block \(Lab.applicationSubnet) --vpc-endpoint-id $VPCE
              APP=$(gwlb ec2 \(socket) create-route-table --vpc-id \(Lab.vpcID) --query RouteTable.RouteTableId --output text)
              gwlb ec2 \(socket) associate-route-table --route-table-id $APP --subnet-id \(Lab.applicationSubnetID)
              gwlb ec2 \(socket) create-route --route-table-id $APP --destination-cidr-block 0.0.0.0/0 --vpc-endpoint-id $VPCE
            send traffic: ip netns exec \(lab.client) ping \(Lab.serverAddress)
            remove it:    gwlb lab down --prefix \(lab.prefix)
            """
    }
}

extension Lab.Routing: ExpressibleByArgument {}
