import Foundation
import Telemetry

/// `--api-listen HOST:PORT --api-credentials FILE [--api-certificate PEM --api-key PEM]`: the elbv2
/// API on TCP for the aws CLI and boto3, every request signed (SigV4); HTTPS with a certificate.
public struct SignedAPIOptions: Sendable {
    public var listen: String
    public var credentialsPath: String
    public var tls: (certificate: String, key: String)?

    public init(listen: String, credentialsPath: String, tls: (certificate: String, key: String)?) {
        self.listen = listen
        self.credentialsPath = credentialsPath
        self.tls = tls
    }

    func hostAndPort() throws -> (String, Int) { try ListenAddress.parse(listen, option: "--api-listen") }
}

/// `HOST:PORT` (or `[IPv6]:PORT`) of a TCP listener option.
enum ListenAddress {
    static func parse(_ listen: String, option: String) throws -> (String, Int) {
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]), (1...65535).contains(port) else {
            throw Daemon.StartupError(description: "\(option) \(listen): give HOST:PORT, e.g. 127.0.0.1:8443")
        }
        return (String(listen[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]")), port)
    }
}

/// Where gwlbd's telemetry goes: `--metrics-listen HOST:PORT` (Prometheus's /metrics on TCP; it is
/// always on the Unix socket too), `--audit-log FILE` (default: audit.log in the state directory).
/// `--flow-log FILE [--flow-log-interval 60|600] [--flow-log-max-bytes N]`: VPC flow logs.
public struct TelemetryOptions: Sendable {
    public var metricsListen: String?
    public var auditLog: String?
    public var flowLog: FlowLogOptions?

    public init(metricsListen: String? = nil, auditLog: String? = nil, flowLog: FlowLogOptions? = nil) {
        self.metricsListen = metricsListen
        self.auditLog = auditLog
        self.flowLog = flowLog
    }
}
