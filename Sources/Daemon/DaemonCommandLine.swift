import ControlAPI
import ControlInput
import Foundation
import PacketIO
import Store
import Telemetry

/// gwlbd's command line, for the `gwlbd` binary and for `gwlb gwlbd …` (the demo starts gwlbd from
/// the `gwlb` binary, which is all `swift run gwlb demo` builds). Returns the exit status.
public enum DaemonCommandLine {
    static let usage = """
    usage: gwlbd --state-dir DIR (--geneve-address A | --config FILE) [--socket PATH [--socket-group GROUP]] [--region REGION] [--account ACCOUNT] [--stats-file FILE]
                 [--api-listen HOST:PORT --api-credentials FILE [--api-certificate PEM --api-key PEM]]
                 [--metrics-listen HOST:PORT] [--audit-log FILE]
                 [--flow-log FILE [--flow-log-interval 60|600] [--flow-log-max-bytes N]]
           gwlbd --config FILE [--stats-file FILE] [--flow-log FILE …]
           gwlbd --cleanup (--state-dir DIR | --config FILE)
    The first form is managed through the elbv2 API on --socket (default /run/gwlb/gwlb.sock) and keeps
    its state in DIR, and with --api-listen also over TCP for the aws CLI and boto3 (SigV4 with the keys in
    the credentials file, HTTPS with a certificate). Prometheus metrics are on the socket's /metrics, and
    with --metrics-listen on TCP; every API call goes to the audit trail (default DIR/audit.log); with
    --flow-log, VPC flow log records of every flow go to FILE (rotated at --flow-log-max-bytes, default
    100 MiB, keeping 5). The second takes endpoints and targets from FILE
    (SIGHUP reloads the targets). Endpoint devices gwlbd makes outlive it (routes into them stay across
    a restart); --cleanup removes those of the endpoints in DIR's store or FILE, and exits.
    """

    public static func run(_ arguments: [String]) -> Int32 {
        var arguments = arguments[...]
        var configurationPath: String?
        var geneveAddress: String?
        var apiListen: String?, apiCredentials: String?, apiCertificate: String?, apiKey: String?
        var statisticsPath: String?
        var stateDirectory: String?
        var socketPath = APIServer.defaultSocketPath
        var socketGroup: String?
        var region = "us-east-1", account = "123456789012"
        var telemetry = TelemetryOptions()
        var flowLogPath: String?, flowLogInterval = "60", flowLogMaxBytes = String(100 << 20)
        var cleanup = false
        while let argument = arguments.popFirst() {
            switch argument {
            case "--config": configurationPath = arguments.popFirst()
            case "--geneve-address": geneveAddress = arguments.popFirst()
            case "--api-listen": apiListen = arguments.popFirst()
            case "--api-credentials": apiCredentials = arguments.popFirst()
            case "--api-certificate": apiCertificate = arguments.popFirst()
            case "--api-key": apiKey = arguments.popFirst()
            case "--stats-file": statisticsPath = arguments.popFirst()
            case "--metrics-listen": telemetry.metricsListen = arguments.popFirst()
            case "--audit-log": telemetry.auditLog = arguments.popFirst()
            case "--flow-log": flowLogPath = arguments.popFirst()
            case "--flow-log-interval": flowLogInterval = arguments.popFirst() ?? ""
            case "--flow-log-max-bytes": flowLogMaxBytes = arguments.popFirst() ?? ""
            case "--state-dir": stateDirectory = arguments.popFirst()
            case "--socket": socketPath = arguments.popFirst() ?? socketPath
            case "--socket-group": socketGroup = arguments.popFirst()
            case "--region": region = arguments.popFirst() ?? region
            case "--account": account = arguments.popFirst() ?? account
            case "--cleanup": cleanup = true
            case "-h", "--help":
                print(Self.usage)
                return 0
            default:
                FileHandle.standardError.write(Data("gwlbd: unknown argument \(argument)\n\(Self.usage)\n".utf8))
                return 64
            }
        }
        if cleanup { return Self.cleanup(configurationPath: configurationPath, stateDirectory: stateDirectory) }
        if let flowLogPath {
            guard let interval = UInt32(flowLogInterval), FlowLogOptions.intervals.contains(interval) else {
                FileHandle.standardError.write(Data("gwlbd: --flow-log-interval must be 60 or 600 seconds (VPC's aggregation intervals)\n".utf8))
                return 64
            }
            guard let maxBytes = Int(flowLogMaxBytes), maxBytes >= 4096 else {
                FileHandle.standardError.write(Data("gwlbd: --flow-log-max-bytes must be a number of bytes, at least 4096\n".utf8))
                return 64
            }
            telemetry.flowLog = FlowLogOptions(path: flowLogPath, interval: interval, maxBytes: maxBytes)
        }
        var signedAPI: SignedAPIOptions?
        if let apiListen {
            guard let apiCredentials else {
                FileHandle.standardError.write(Data("gwlbd: --api-listen needs --api-credentials FILE (the access keys that may sign requests)\n".utf8))
                return 64
            }
            guard (apiCertificate == nil) == (apiKey == nil) else {
                FileHandle.standardError.write(Data("gwlbd: HTTPS needs both --api-certificate and --api-key\n".utf8))
                return 64
            }
            signedAPI = SignedAPIOptions(listen: apiListen, credentialsPath: apiCredentials, tls: apiCertificate.map { ($0, apiKey!) })
        }
        do {
            try Daemon(configurationPath: configurationPath, geneveAddress: geneveAddress, statisticsPath: statisticsPath, stateDirectory: stateDirectory,
                       socketPath: socketPath, region: region, account: account, signedAPI: signedAPI, telemetry: telemetry,
                       socketGroup: socketGroup).run()
        } catch {
            FileHandle.standardError.write(Data("gwlbd: \(error)\n".utf8))
            return 1
        }
        return 0
    }

    /// `--cleanup`: removes the persistent devices of the endpoints gwlbd knows (the store's in
    /// the API form, the file's otherwise) that gwlbd made; an operator's devices stay.
    static func cleanup(configurationPath: String?, stateDirectory: String?) -> Int32 {
        let interfaces: [String]
        do {
            if let stateDirectory {
                interfaces = try CatalogStore(directory: stateDirectory).load()?.endpoints.map(\.interface) ?? []
            } else if let configurationPath {
                interfaces = try DaemonConfiguration.load(path: configurationPath).endpoints.map(\.interface)
            } else {
                FileHandle.standardError.write(Data("gwlbd: --cleanup needs --state-dir DIR or --config FILE (where the endpoints are)\n".utf8))
                return 64
            }
        } catch {
            FileHandle.standardError.write(Data("gwlbd: --cleanup: \(error)\n".utf8))
            return 1
        }
        for interface in interfaces {
            let removed = TunDevice.removePersistent(interface)
            print(removed ? "removed \(interface)" : "left \(interface): not there, or not made by gwlbd")
        }
        return 0
    }
}
