import Catalog
import DataPlane
import Flows
import Foundation
import PacketIO
import Wire

/// gwlbd's configuration file (JSON). In the file form, endpoints and targets are listed here
/// (SIGHUP reloads the targets):
///
///     {
///       "geneveAddress": "198.18.1.1",
///       "endpoints": [{ "interface": "gwlbe0", "endpointId": "vpce-0123456789abcdef0", "attachmentId": "0x1122334455667788" }],
///       "targets": ["198.18.1.11", "198.18.1.12"],
///       "workers": 2,
///       "flowsPerWorker": 1048576,
///       "stickiness": "five_tuple",
///       "tcpIdleTimeoutSeconds": 350,
///       "udpIdleTimeoutSeconds": 120,
///       "otherIdleTimeoutSeconds": 120,
///       "tcpClosingTimeoutSeconds": 15,
///       "endpointMTU": 9001,
///       "offloads": true,
///       "pathMTUDiscovery": true,
///       "innerFlowCheck": true
///     }
///
/// `offloads` (default true): TUN segmentation and checksum offloads on the endpoints, UDP GSO and
/// GRO on the GENEVE sockets, and steering of returns to their flow's worker; false moves every
/// packet one system call at a time (for comparison, or a kernel that misbehaves with them).
/// `pathMTUDiscovery` (default true) is the file form of the load balancer attribute
/// `path_mtu_discovery.enabled`: false drops oversize packets silently, as AWS does.
/// `innerFlowCheck` (default true) is the file form of the target group attribute
/// `inner_flow_check.enabled`: false accepts returns whose inner packet is not of the cookie's flow.
///
/// With `--state-dir`, endpoints and targets come from the API instead (the file is optional, and
/// lists neither); `instances` maps instance ids to addresses for `instance` target groups, and
/// `interfaces` maps subnet and gateway ids to the Linux interfaces their traffic arrives on, for
/// EC2 route table associations (`{"subnet-0app": "app", "igw-0edge": "uplink"}`).
public struct DaemonConfiguration: Sendable, Equatable {
    public struct Endpoint: Sendable, Equatable {
        public var interface: String
        public var identity: EndpointIdentity
    }

    public var geneve: UDPPeer
    public var endpoints: [Endpoint]
    public var targets: [IPv4Address]
    public var workers: Int
    public var flowsPerWorker: Int
    public var keyMode: FlowKeyMode
    public var tcpIdleTimeout: UInt32
    /// UDP and other-protocol idle timeouts, and TCP's after both FINs or a RST (the listener
    /// attributes `udp.idle_timeout.seconds`, `other.idle_timeout.seconds`, `tcp.closing_timeout.seconds`).
    public var udpIdleTimeout: UInt32
    public var otherIdleTimeout: UInt32
    public var tcpClosingTimeout: UInt32
    public var endpointMTU: Int
    public var offloads: Bool
    public var pathMTUDiscovery: Bool
    public var innerFlowCheck: Bool
    /// Instance id → IPv4 address, for `instance` target groups.
    public var instances: [String: String]
    /// Subnet and gateway id → Linux interface (README "Route tables").
    public var interfaces: [String: String]

    /// A configuration error: what is wrong and where.
    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    /// Where endpoints and targets come from.
    public enum Form: Sendable {
        /// Listed in the file.
        case file
        /// From the API and the store in a state directory.
        case api
    }

    /// Reads and checks a configuration file.
    public static func load(path: String, form: Form = .file) throws -> DaemonConfiguration {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Invalid(description: "cannot read configuration file \(path)")
        }
        return try parse(data, source: path, form: form)
    }

    /// The API form's defaults, for a gwlbd started without a file.
    public static func defaults(geneveAddress: String) throws -> DaemonConfiguration {
        try DaemonConfiguration(File(geneveAddress: geneveAddress), source: "--geneve-address", form: .api)
    }

    public static func parse(_ data: Data, source: String = "configuration", form: Form = .file) throws -> DaemonConfiguration {
        let file: File
        do {
            file = try JSONDecoder().decode(File.self, from: data)
        } catch let DecodingError.keyNotFound(key, _) {
            throw Invalid(description: "\(source): missing \"\(key.stringValue)\"")
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            throw Invalid(description: "\(source): \"\(context.codingPath.map(\.stringValue).joined(separator: "."))\" has the wrong type")
        } catch {
            throw Invalid(description: "\(source) is not valid JSON: \(error.localizedDescription)")
        }
        return try DaemonConfiguration(file, source: source, form: form)
    }

    /// The file as written.
    struct File: Decodable {
        struct Endpoint: Decodable {
            var interface: String
            var endpointId: String
            var attachmentId: String
        }

        var geneveAddress: String
        var genevePort: Int?
        var endpoints: [Endpoint]?
        var targets: [String]?
        var instances: [String: String]?
        var interfaces: [String: String]?
        var workers: Int?
        var flowsPerWorker: Int?
        var stickiness: String?
        var tcpIdleTimeoutSeconds: Int?
        var udpIdleTimeoutSeconds: Int?
        var otherIdleTimeoutSeconds: Int?
        var tcpClosingTimeoutSeconds: Int?
        var endpointMTU: Int?
        var offloads: Bool?
        var pathMTUDiscovery: Bool?
        var innerFlowCheck: Bool?
    }

    init(_ file: File, source: String, form: Form) throws {
        let fail = { (message: String) in Invalid(description: "\(source): \(message)") }
        guard let address = IPv4Address(file.geneveAddress) else {
            throw fail("geneveAddress \"\(file.geneveAddress)\" is not an IPv4 address (GENEVE runs over IPv4)")
        }
        let port = file.genevePort ?? Int(Geneve.udpPort)
        guard (1...65535).contains(port) else { throw fail("genevePort must be 1-65535") }
        geneve = UDPPeer(address: address, port: UInt16(port))
        switch form {
        case .file:
            guard let listed = file.endpoints, !listed.isEmpty, listed.count <= 255 else { throw fail("endpoints: give 1 to 255 endpoints") }
        case .api:
            guard file.endpoints == nil, file.targets == nil else {
                throw fail("with --state-dir, endpoints and targets come from the API (gwlb create-endpoint, gwlb register-targets): remove them from the file")
            }
        }
        var endpoints: [Endpoint] = []
        for endpoint in file.endpoints ?? [] {
            guard !endpoint.interface.isEmpty, endpoint.interface.utf8.count <= 15 else {
                throw fail("endpoint interface \"\(endpoint.interface)\" must be 1-15 characters")
            }
            guard let endpointID = Catalog.Endpoint.number(endpoint.endpointId) else {
                throw fail("endpointId \"\(endpoint.endpointId)\" must be hex (0x…) or vpce-<hex>, at most 64 bits")
            }
            guard let attachmentID = Catalog.Endpoint.number(endpoint.attachmentId) else {
                throw fail("attachmentId \"\(endpoint.attachmentId)\" must be hex (0x…), at most 64 bits")
            }
            endpoints.append(Endpoint(interface: endpoint.interface, identity: EndpointIdentity(endpointID: endpointID, attachmentID: attachmentID)))
        }
        self.endpoints = endpoints
        guard Set(endpoints.map(\.interface)).count == endpoints.count else { throw fail("two endpoints share an interface") }
        guard Set(endpoints.map(\.identity.endpointID)).count == endpoints.count else { throw fail("two endpoints share an endpointId") }
        var targets: [IPv4Address] = []
        for text in file.targets ?? [] {
            guard let target = IPv4Address(text) else { throw fail("target \"\(text)\" is not an IPv4 address") }
            targets.append(target)
        }
        self.targets = targets
        guard targets.count <= 300 else { throw fail("at most 300 targets (AWS's limit per load balancer)") }
        guard Set(targets).count == targets.count else { throw fail("a target is listed twice") }
        // One worker per core by default, at most 64 (the cookie names the owner in 6 bits).
        workers = file.workers ?? min(ProcessInfo.processInfo.activeProcessorCount, 64)
        guard (1...64).contains(workers) else { throw fail("workers must be 1-64") }
        flowsPerWorker = file.flowsPerWorker ?? 1 << 20
        // The 32-bit flow cookie holds the owner, the entry and at least 4 generation bits.
        let largest = min(FlowTable.maximumCapacity, FlowCookieCodec.maximumCapacity(ownerBits: DataPlane.ownerBits(workers: workers)))
        guard (1...largest).contains(flowsPerWorker) else {
            throw fail("flowsPerWorker must be 1-\(largest) with \(workers) worker\(workers == 1 ? "" : "s") (the 32-bit flow cookie names the worker, the entry and its generation)")
        }
        switch file.stickiness ?? "five_tuple" {
        case "five_tuple": keyMode = .fiveTuple
        case "source_ip_dest_ip_proto": keyMode = .threeTuple
        case "source_ip_dest_ip": keyMode = .twoTuple
        case let other: throw fail("stickiness \"\(other)\" must be five_tuple, source_ip_dest_ip_proto or source_ip_dest_ip")
        }
        let timeout = file.tcpIdleTimeoutSeconds ?? 350
        guard FlowTimeouts.tcpRange.contains(UInt32(clamping: timeout)) else {
            throw fail("tcpIdleTimeoutSeconds must be 60-6000")
        }
        tcpIdleTimeout = UInt32(timeout)
        func seconds(_ value: Int?, _ name: String, default fallback: UInt32, range: ClosedRange<UInt32>) throws -> UInt32 {
            let value = value.map { UInt32(clamping: $0) } ?? fallback
            guard range.contains(value) else { throw fail("\(name) must be \(range.lowerBound)-\(range.upperBound)") }
            return value
        }
        udpIdleTimeout = try seconds(file.udpIdleTimeoutSeconds, "udpIdleTimeoutSeconds", default: 120, range: FlowTimeouts.udpRange)
        otherIdleTimeout = try seconds(file.otherIdleTimeoutSeconds, "otherIdleTimeoutSeconds", default: 120, range: FlowTimeouts.udpRange)
        tcpClosingTimeout = try seconds(file.tcpClosingTimeoutSeconds, "tcpClosingTimeoutSeconds", default: 15, range: FlowTimeouts.closingRange)
        instances = file.instances ?? [:]
        for (instance, address) in instances where IPv4Address(address) == nil {
            throw fail("instance \(instance) maps to \"\(address)\", which is not an IPv4 address")
        }
        interfaces = file.interfaces ?? [:]
        for (id, interface) in interfaces {
            guard id.hasPrefix("subnet-") || id.hasPrefix("igw-") || id.hasPrefix("vgw-") else {
                throw fail("interfaces: \"\(id)\" must be a subnet (subnet-…) or gateway (igw-…, vgw-…) id")
            }
            guard (1...15).contains(interface.utf8.count), interface.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.@".contains($0)) }) else {
                throw fail("interfaces: \"\(interface)\" (for \(id)) is not a Linux interface name")
            }
        }
        endpointMTU = file.endpointMTU ?? 9001
        offloads = file.offloads ?? true
        pathMTUDiscovery = file.pathMTUDiscovery ?? true
        innerFlowCheck = file.innerFlowCheck ?? true
        guard (1280...PacketBatch.defaultPacketCapacity).contains(endpointMTU) else {
            throw fail("endpointMTU must be 1280-\(PacketBatch.defaultPacketCapacity)")
        }
    }
}
