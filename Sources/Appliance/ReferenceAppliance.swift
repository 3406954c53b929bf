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
        /// Returns with outer UDP checksum 0 and outer TTL 2, as some appliances send (legal for
        /// UDP over IPv4; GSO cannot send without checksums, so datagrams go one by one).
        public var oddOuterHeaders = false
        /// Returns everything to this load balancer address instead of the one that sent it (an
        /// appliance answering one node of a cluster, or a shared return address).
        public var returnTo: IPv4Address?

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
        /// Returns nothing (still answering health checks): a broken data path behind a healthy
        /// check, as a wrong route or a dead tunnel makes it.
        public var blackHole = false
        public var blackHoled: UInt64 = 0
        /// The last GENEVE datagram received (UDP payload), for troubleshooting and tests.
        public var lastDatagram: [UInt8] = []
    }

    public let configuration: Configuration
    let state = Mutex(State())
    private let socket: GeneveSocket
    /// 64 KiB slots: with UDP GRO a slot holds a run of datagrams the kernel coalesced, and goes
    /// back as one GSO message (each datagram on the wire as it came).
    private let batch = PacketBatch(capacity: 32, packetCapacity: 65_536, headroom: 0)

    public init(configuration: Configuration) throws {
        self.configuration = configuration
        socket = try GeneveSocket(bind: UDPPeer(address: configuration.listen, port: configuration.port), reusePort: false,
                                  batchCapacity: 32, offloads: !configuration.oddOuterHeaders)
        if configuration.oddOuterHeaders {
            var one: Int32 = 1, ttl: Int32 = 2
            setsockopt(socket.descriptor, SOL_SOCKET, SO_NO_CHECK, &one, socklen_t(MemoryLayout<Int32>.size))
            setsockopt(socket.descriptor, Int32(IPPROTO_IP), IP_TTL, &ttl, socklen_t(MemoryLayout<Int32>.size))
        }
    }

    /// Receives and returns GENEVE packets until the process ends.
    public func run() -> Never {
        var descriptor = pollfd(fd: socket.descriptor, events: Int16(POLLIN), revents: 0)
        var counts: [(key: FlowKey, returned: UInt64, dropped: UInt64)] = []
        var last: [UInt8] = []
        while true {
            _ = poll(&descriptor, 1, 1000)
            socket.receive(into: batch)
            guard batch.count > 0 else { continue }
            if state.withLock({ $0.blackHole }) {
                // A slot the kernel coalesced holds several datagrams.
                let datagrams = (0..<batch.count).reduce(0) { total, slot in
                    let size = batch.segmentSizes[slot]
                    return total + (size > 0 ? (batch.data(slot).count + size - 1) / size : 1)
                }
                state.withLock { $0.blackHoled += UInt64(datagrams) }
                continue
            }
            counts.removeAll(keepingCapacity: true)
            var malformed: UInt64 = 0, received: UInt64 = 0
            for slot in 0..<batch.count {
                // Back to the load balancer it came from (or the one configured), on the GENEVE port.
                batch.peers[slot].port = Geneve.udpPort
                if let returnTo = configuration.returnTo { batch.peers[slot].address = returnTo }
                let data = batch.data(slot)
                let size = batch.segmentSizes[slot] > 0 ? batch.segmentSizes[slot] : max(data.count, 1)
                // Each datagram of the slot on its own; those returned are packed to the front.
                var kept = 0, start = 0
                repeat {
                    let end = min(start + size, data.count)
                    let datagram = UnsafeMutableRawBufferPointer(rebasing: data[start..<end])
                    received += 1
                    switch inspect(datagram) {
                    case .returned(let key):
                        Self.count(key, returned: true, in: &counts)
                        if kept != start { UnsafeMutableRawBufferPointer(rebasing: data[kept..<(kept + datagram.count)]).copyMemory(from: UnsafeRawBufferPointer(datagram)) }
                        kept += datagram.count
                    case .dropped(let key):
                        Self.count(key, returned: false, in: &counts)
                    case .malformed:
                        malformed += 1
                    }
                    start = end
                } while start < data.count
                batch.lengths[slot] = kept
                if slot == batch.count - 1, kept > 0 { last = Array(UnsafeRawBufferPointer(rebasing: data[(kept - min(size, kept))..<kept])) }
            }
            _ = socket.send(batch)
            state.withLock { state in
                if !last.isEmpty { state.lastDatagram = last }
                state.received += received
                state.malformed += malformed
                for entry in counts {
                    state.flows[entry.key, default: 0] += entry.returned + entry.dropped
                    state.returned += entry.returned
                    state.droppedByRule += entry.dropped
                }
            }
        }
    }

    /// Counts a datagram of `key`, with the previous one's when they are of the same flow (runs of
    /// one flow are the common case, and keep the shared state's lock short).
    private static func count(_ key: FlowKey, returned: Bool, in counts: inout [(key: FlowKey, returned: UInt64, dropped: UInt64)]) {
        if counts.last?.key != key { counts.append((key, 0, 0)) }
        if returned { counts[counts.count - 1].returned += 1 } else { counts[counts.count - 1].dropped += 1 }
    }

    enum Verdict { case returned(FlowKey), dropped(FlowKey), malformed }

    /// Reads one datagram; in routing mode rewrites the inner TTL in place.
    private func inspect(_ datagram: UnsafeMutableRawBufferPointer) -> Verdict {
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
