import Flows
import Foundation
import PacketIO
import Synchronization
import Wire
#if canImport(Glibc)
import Glibc
#endif

/// `gwlb appliance`: a minimal inspection appliance that speaks AWS GWLB's GENEVE contract.
/// It receives GENEVE on 6081, drops what its rules say, and returns everything else to the
/// load balancer it came from (outer addresses swapped, port 6081, GENEVE header and options
/// untouched). It counts packets per flow and answers health checks over HTTP (`ApplianceHTTP`).
public final class ReferenceAppliance: @unchecked Sendable {
    // @unchecked: `socket` and the batch are used by the GENEVE thread only; shared state is in `state`.

    public struct Configuration: Sendable {
        public var listen: IPv4Address
        public var port: UInt16 = Geneve.udpPort
        public var healthPort: UInt16 = 8080
        public var rules: [ApplianceRule] = []
        /// Routing mode: decrement the inner TTL / hop limit, as a routing appliance does.
        public var decrementTTL = false

        public init(listen: IPv4Address) { self.listen = listen }
    }

    /// Counters the HTTP side reads.
    public struct State: Sendable {
        public var received: UInt64 = 0
        public var returned: UInt64 = 0
        public var droppedByRule: UInt64 = 0
        public var malformed: UInt64 = 0
        public var flows: [FlowKey: UInt64] = [:]
        public var failingHealthChecks = false
        /// The last GENEVE datagram received (UDP payload), for troubleshooting and tests.
        public var lastDatagram: [UInt8] = []
    }

    public let configuration: Configuration
    let state = Mutex(State())
    private let socket: GeneveSocket
    private let batch = PacketBatch(capacity: 64, headroom: 0)

    public init(configuration: Configuration) throws {
        self.configuration = configuration
        socket = try GeneveSocket(bind: UDPPeer(address: configuration.listen, port: configuration.port), reusePort: false)
    }

    /// Receives and returns GENEVE packets until the process ends.
    public func run() -> Never {
        var descriptor = pollfd(fd: socket.descriptor, events: Int16(POLLIN), revents: 0)
        while true {
            _ = poll(&descriptor, 1, 1000)
            socket.receive(into: batch)
            guard batch.count > 0 else { continue }
            let lastLength = batch.lengths[batch.count - 1]
            var counts: [(FlowKey, Bool)] = []
            var malformed: UInt64 = 0
            for slot in 0..<batch.count {
                // Back to the load balancer it came from, on the GENEVE port.
                batch.peers[slot].port = Geneve.udpPort
                switch inspect(slot) {
                case .returned(let key):
                    counts.append((key, true))
                case .dropped(let key):
                    counts.append((key, false))
                    batch.lengths[slot] = 0
                case .malformed:
                    malformed += 1
                    batch.lengths[slot] = 0
                }
            }
            let last = Array(UnsafeRawBufferPointer(batch.slot(batch.count - 1)).prefix(lastLength))
            _ = socket.send(batch)
            state.withLock { state in
                state.lastDatagram = last
                state.received += UInt64(batch.count)
                state.malformed += malformed
                for (key, returned) in counts {
                    state.flows[key, default: 0] += 1
                    if returned { state.returned += 1 } else { state.droppedByRule += 1 }
                }
            }
        }
    }

    enum Verdict { case returned(FlowKey), dropped(FlowKey), malformed }

    /// Reads one datagram; in routing mode rewrites the inner TTL in place.
    private func inspect(_ slot: Int) -> Verdict {
        let datagram = batch.data(slot)
        guard let metadata = try? AWSGeneveMetadata(parsing: UnsafeRawBufferPointer(datagram)) else { return .malformed }
        let inner = UnsafeMutableRawBufferPointer(rebasing: datagram[metadata.innerOffset...])
        guard let packet = try? PacketSummary(parsing: UnsafeRawBufferPointer(inner)) else { return .malformed }
        let key = FlowKey(packet, mode: .fiveTuple)
        if configuration.rules.contains(where: { $0.matches(packet) }) { return .dropped(key) }
        if configuration.decrementTTL { Self.decrementTTL(inner, version: packet.version) }
        return .returned(key)
    }

    static func decrementTTL(_ packet: UnsafeMutableRawBufferPointer, version: IPVersion) {
        switch version {
        case .v4:
            let ttl = packet[8]
            guard ttl > 1 else { return }
            let oldWord = UInt16(ttl) << 8 | UInt16(packet[9])
            let checksum = UInt16(packet[10]) << 8 | UInt16(packet[11])
            let updated = InternetChecksum.updated(checksum, replacing: oldWord, with: oldWord - 0x100)
            packet[8] = ttl - 1
            packet[10] = UInt8(updated >> 8)
            packet[11] = UInt8(updated & 0xFF)
        case .v6:
            if packet[7] > 1 { packet[7] -= 1 }
        }
    }
}
