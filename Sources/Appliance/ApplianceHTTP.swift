import Foundation
import Logging
import Wire
#if canImport(Glibc)
import Glibc
#endif

/// The appliance's small HTTP side, on its health port:
/// - `GET /` or `GET /health`: 200 while healthy, 503 once told to fail (what a health check sees);
/// - `POST /health/fail`, `POST /health/pass`: switch that at run time;
/// - `POST /geneve/drop`, `POST /geneve/return`: return no GENEVE at all (health checks still
///   pass), or return it again;
/// - `GET /stats`: JSON counters and packets per flow;
/// - `GET /last`: the last GENEVE datagram received, in hex.
public final class ApplianceHTTP: @unchecked Sendable {
    // @unchecked: the listening socket is used by the serving thread only.
    let appliance: ReferenceAppliance
    let listener: Int32

    public init(appliance: ReferenceAppliance) throws {
        self.appliance = appliance
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = appliance.configuration.healthPort.bigEndian
        address.sin_addr.s_addr = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard fd >= 0, bound == 0, listen(fd, 64) == 0 else {
            let reason = String(cString: strerror(errno))
            throw NSError(domain: "gwlb.appliance", code: 1,
                          userInfo: [NSLocalizedDescriptionKey: "cannot listen on TCP port \(appliance.configuration.healthPort): \(reason)"])
        }
        listener = fd
    }

    /// Serves requests one at a time on a thread of its own.
    public func start() {
        Thread.detachNewThread { [self] in
            while true {
                let client = accept(listener, nil, nil)
                guard client >= 0 else { continue }
                serve(client)
                close(client)
            }
        }
    }

    private func serve(_ client: Int32) {
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var buffer = [UInt8](repeating: 0, count: 4096)
        var request = [UInt8]()
        while !request.contains(10) {
            let count = read(client, &buffer, buffer.count)
            guard count > 0 else { break }
            request += buffer[..<count]
        }
        let line = String(decoding: request.prefix { $0 != 13 && $0 != 10 }, as: UTF8.self)
        let (status, body, type) = respond(to: line)
        let response = "HTTP/1.1 \(status)\r\nContent-Type: \(type)\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
        _ = response.utf8CString.withUnsafeBufferPointer { write(client, $0.baseAddress, $0.count - 1) }
    }

    func respond(to requestLine: String) -> (String, String, String) {
        let parts = requestLine.split(separator: " ")
        guard parts.count >= 2 else { return ("400 Bad Request", "bad request\n", "text/plain") }
        switch (parts[0], parts[1]) {
        case ("GET", "/"), ("GET", "/health"), ("HEAD", "/"), ("HEAD", "/health"):
            let failing = appliance.state.withLock { $0.failingHealthChecks }
            return failing ? ("503 Service Unavailable", "unhealthy\n", "text/plain") : ("200 OK", "healthy\n", "text/plain")
        case ("POST", "/health/fail"):
            appliance.state.withLock { $0.failingHealthChecks = true }
            return ("200 OK", "failing health checks\n", "text/plain")
        case ("POST", "/health/pass"):
            appliance.state.withLock { $0.failingHealthChecks = false }
            return ("200 OK", "passing health checks\n", "text/plain")
        case ("POST", "/geneve/drop"):
            appliance.state.withLock { $0.blackHole = true }
            return ("200 OK", "returning nothing\n", "text/plain")
        case ("POST", "/geneve/return"):
            appliance.state.withLock { $0.blackHole = false }
            return ("200 OK", "returning GENEVE\n", "text/plain")
        case ("GET", "/stats"):
            return ("200 OK", statsJSON(), "application/json")
        case ("GET", "/last"):
            let bytes = appliance.state.withLock { $0.lastDatagram }
            return ("200 OK", bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined() + "\n", "text/plain")
        default:
            return ("404 Not Found", "not found\n", "text/plain")
        }
    }

    /// What `GET /stats` answers: the appliance's counters and the flows it has seen.
    struct Stats: Encodable {
        struct Flow: Encodable {
            var addressA: String, portA: Int, addressB: String, portB: Int, `protocol`: String, packets: UInt64
        }
        var address: String
        var received: UInt64, returned: UInt64, droppedByRule: UInt64, malformed: UInt64, blackHoled: UInt64
        var healthy: Bool
        var rules: [String]
        var flows: [Flow]
    }

    func statsJSON() -> String {
        let state = appliance.state.withLock { $0 }
        let flows = state.flows.sorted { $0.value > $1.value }.map { key, packets in
            Stats.Flow(addressA: key.lowAddress.unmappedDescription, portA: Int(key.lowPort), addressB: key.highAddress.unmappedDescription,
                       portB: Int(key.highPort), protocol: key.protocol.description, packets: packets)
        }
        let stats = Stats(address: appliance.configuration.listen.description, received: state.received, returned: state.returned,
                          droppedByRule: state.droppedByRule, malformed: state.malformed, blackHoled: state.blackHoled,
                          healthy: !state.failingHealthChecks, rules: appliance.configuration.rules.map(\.description), flows: flows)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = (try? encoder.encode(stats)) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}

extension ReferenceAppliance {
    /// Starts the HTTP side and serves GENEVE until the process ends: what `gwlb appliance` runs.
    public static func serve(_ configuration: Configuration) throws -> Never {
        let appliance = try ReferenceAppliance(configuration: configuration)
        try ApplianceHTTP(appliance: appliance).start()
        Logger(label: "gwlb appliance").info("GENEVE on \(configuration.listen):\(configuration.port), health on :\(configuration.healthPort), rules: \(configuration.rules.map(\.description))")
        appliance.run()
    }
}
