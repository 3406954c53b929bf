import ArgumentParser
import ControlAPI
import ControlInput
import ControlPlane
import DataPlane
import Foundation
import Logging
import PacketIO
import Store
import Telemetry

/// gwlbd's command line, for the `gwlbd` binary and for `gwlb gwlbd …` (the demo starts gwlbd from
/// the `gwlb` binary, which is all `swift run gwlb demo` builds): a flag without its value, an
/// unknown flag or a value out of range is refused with a usage message (exit 64), never read as
/// the default.
public struct GwlbdCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "gwlbd",
        abstract: "The gateway load balancer's daemon: endpoints in, GENEVE to the appliances, the elbv2 API on a socket.",
        usage: """
            gwlbd --state-dir DIR --geneve-address A [--socket PATH [--socket-group GROUP]] [--api-listen HOST:PORT --api-credentials FILE …]
            gwlbd --config FILE [--stats-file FILE] [--flow-log FILE …]
            gwlbd --state-dir DIR --geneve-address A … --database postgres://USER@HOST/DB [--node-name NAME]
            gwlbd --state-dir DIR --geneve-address A … --takeover [--detach]
            gwlbd --cleanup (--state-dir DIR | --config FILE)
            """,
        discussion: """
            The first form is managed through the elbv2 API on --socket (default /run/gwlb/gwlb.sock) and keeps
            its state in DIR, and with --api-listen also over TCP for the aws CLI and boto3 (SigV4 with the keys in
            the credentials file, HTTPS with a certificate). Prometheus metrics are on the socket's /metrics, and
            with --metrics-listen on TCP; every API call goes to the audit trail (default DIR/audit.log); with
            --flow-log, VPC flow log records of every flow go to FILE (rotated at --flow-log-max-bytes, default
            100 MiB, keeping 5). The second takes endpoints and targets from FILE (SIGHUP reloads the targets).
            Endpoint devices gwlbd makes outlive it (routes into them stay across a restart); --cleanup removes
            those of the endpoints in DIR's store or FILE, and exits.
            """)

    @Option(name: .customLong("config"), help: "gwlbd's configuration file (the file form).") var configurationPath: String?
    @Option(help: "The address gwlbd's GENEVE socket binds (the API form).") var geneveAddress: String?
    @Option(name: .customLong("state-dir"), help: "Where the API form keeps its store and audit trail.") var stateDirectory: String?
    @Option(name: .customLong("socket"), help: "The API's Unix socket.") var socketPath = APIServer.defaultSocketPath
    @Option(help: "The group the socket is opened to (mode 0660).") var socketGroup: String?
    @Option(help: "The region in ARNs.") var region = "us-east-1"
    @Option(help: "The account in ARNs.") var account = "123456789012"
    @Option(name: .customLong("stats-file"), help: "A JSON file of the data plane's counters, rewritten each second.") var statisticsPath: String?
    @Option(help: "HOST:PORT of the signed elbv2 API on TCP.") var apiListen: String?
    @Option(help: "The access keys that may sign requests (needed with --api-listen).") var apiCredentials: String?
    @Option(help: "PEM certificate chain: the TCP API speaks HTTPS (with --api-key).") var apiCertificate: String?
    @Option(help: "PEM private key of --api-certificate.") var apiKey: String?
    @Option(help: "HOST:PORT of Prometheus's scrape endpoint on TCP.") var metricsListen: String?
    @Option(help: "The audit trail's file (default DIR/audit.log).") var auditLog: String?
    @Option(name: .customLong("flow-log"), help: "VPC flow log records of every flow go to this file.") var flowLogPath: String?
    @Option(help: "Flow log aggregation interval: 60 or 600 seconds.") var flowLogInterval: UInt32 = 60
    @Option(help: "Flow log size at which it rotates (keeping 5), at least 4096.") var flowLogMaxBytes = 100 << 20
    @Option(help: ArgumentHelp("The file every flow outlives gwlbd in (API form), or none.",
                               discussion: "Default /dev/shm/gwlbd-HASH, one per state directory.")) var sharedState: String?
    @Flag(help: ArgumentHelp("Take over from the gwlbd running on --socket without a gap (an upgrade), with the same options.",
                             discussion: "It hands over its endpoint queues, GENEVE sockets and flows, then exits.")) var takeover = false
    @Flag(help: ArgumentHelp("Return once gwlbd runs, leaving it in the background (for systemd's ExecReload= with --takeover).",
                             discussion: "Status 0 and its pid once it forwards and answers; 1 if it failed first.")) var detach = false
    @Option(help: ArgumentHelp("A cluster's shared configuration: postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE (API form).",
                               discussion: "Every gwlbd given the same database is a node of one cluster; without it, SQLite in --state-dir.")) var database: String?
    @Option(help: "This node's name in the cluster, unique in it (default: the host's name).") var nodeName: String?
    @Flag(help: "Remove the endpoint devices gwlbd made (of DIR's store or FILE) and its shared flow state, and exit.") var cleanup = false

    public init() {}

    /// The shared flow state's file: the API form's default, or `--shared-state` (none: nil).
    var sharedStatePath: String? {
        if sharedState == "none" { return nil }
        return sharedState ?? stateDirectory.map { Daemon.defaultSharedStatePath(stateDirectory: $0) }
    }

    public func validate() throws {
        if cleanup, stateDirectory == nil, configurationPath == nil {
            throw ValidationError("--cleanup needs --state-dir DIR or --config FILE (where the endpoints are)")
        }
        guard FlowLogOptions.intervals.contains(flowLogInterval) else {
            throw ValidationError("--flow-log-interval must be 60 or 600 seconds (VPC's aggregation intervals)")
        }
        guard flowLogMaxBytes >= 4096 else { throw ValidationError("--flow-log-max-bytes must be a number of bytes, at least 4096") }
        if takeover, stateDirectory == nil { throw ValidationError("--takeover needs --state-dir DIR (the API form)") }
        if let database {
            guard PostgresAddress(url: database) != nil else {
                throw ValidationError("--database \(database): give postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE")
            }
            guard stateDirectory != nil else { throw ValidationError("--database needs --state-dir DIR (the node's socket, audit trail and flows)") }
        }
        if nodeName != nil, database == nil { throw ValidationError("--node-name needs --database (a node of a cluster)") }
        if takeover, cleanup { throw ValidationError("--takeover and --cleanup exclude each other") }
        if detach, cleanup { throw ValidationError("--detach and --cleanup exclude each other") }
        if apiListen != nil, apiCredentials == nil {
            throw ValidationError("--api-listen needs --api-credentials FILE (the access keys that may sign requests)")
        }
        guard (apiCertificate == nil) == (apiKey == nil) else { throw ValidationError("HTTPS needs both --api-certificate and --api-key") }
    }

    public func run() throws {
        LogLines.bootstrap()
        if cleanup {
            if let path = sharedStatePath { SharedFlowState.remove(path: path) }
            throw ExitCode(Self.cleanup(configurationPath: configurationPath, stateDirectory: stateDirectory))
        }
        if detach { throw ExitCode(Detach.run(arguments: CommandLine.arguments)) }
        var telemetry = TelemetryOptions()
        telemetry.metricsListen = metricsListen
        telemetry.auditLog = auditLog
        telemetry.flowLog = flowLogPath.map { FlowLogOptions(path: $0, interval: flowLogInterval, maxBytes: flowLogMaxBytes) }
        let signedAPI = apiListen.map { listen in
            SignedAPIOptions(listen: listen, credentialsPath: apiCredentials!, tls: apiCertificate.map { ($0, apiKey!) })
        }
        do {
            try Daemon(configurationPath: configurationPath, geneveAddress: geneveAddress, statisticsPath: statisticsPath, stateDirectory: stateDirectory,
                       socketPath: socketPath, region: region, account: account, signedAPI: signedAPI, telemetry: telemetry,
                       socketGroup: socketGroup, sharedStatePath: sharedStatePath, takeover: takeover,
                       cluster: database.flatMap(PostgresAddress.init(url:)).map {
                           ClusterOptions(database: $0, node: nodeName ?? ProcessInfo.processInfo.hostName)
                       }).run()
        } catch {
            Logger.gwlbd.error("\(error)")
            throw ExitCode.failure
        }
    }

    /// `--cleanup`: removes the persistent devices of the endpoints gwlbd knows (the store's in
    /// the API form, the file's otherwise) that gwlbd made; an operator's devices stay. In the API
    /// form, also the rules and routes its route tables made.
    static func cleanup(configurationPath: String?, stateDirectory: String?) -> Int32 {
        let interfaces: [String]
        do {
            if let stateDirectory {
                interfaces = try CatalogStore(directory: stateDirectory).load()?.activeEndpoints.map(\.interface) ?? []
            } else {
                interfaces = try DaemonConfiguration.load(path: configurationPath ?? "").endpoints.map(\.interface)
            }
        } catch {
            Logger.gwlbd.error("--cleanup: \(error)")
            return 1
        }
        for interface in interfaces {
            let removed = TunDevice.removePersistent(interface)
            print(removed ? "removed \(interface)" : "left \(interface): not there, or not made by gwlbd")
        }
        // The API form's route tables: every rule and route gwlbd made (protocol 245) goes too.
        if stateDirectory != nil {
            do { try LinuxRouting(interfaces: [:]).apply(RoutingPlan()) } catch {
                Logger.gwlbd.error("--cleanup: the route tables' rules and routes: \(error)")
                return 1
            }
            print("removed the route tables' rules and routes (protocol \(LinuxRouting.protocolNumber))")
        }
        return 0
    }
}
