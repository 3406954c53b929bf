import ControlClient
import Foundation
import Wire

/// What the fuzzer throws bytes at: each target runs one parser (or builder) of bytes that come
/// from outside gwlbd (consumers' packets, appliances' datagrams, gwlbd's answers to the client).
/// A target may reject its input with an error; it must never crash, read or write out of bounds
/// (AddressSanitizer watches), or break the invariant it checks.
enum FuzzTarget: String, CaseIterable {
    /// The return path's GENEVE parser (AWS's receiver rules).
    case geneve
    /// The fast AWS parser against the generic GENEVE parser plus the receiver rules written out
    /// plainly: the same verdict and the same fields on every input.
    case geneveDifferential = "geneve-differential"
    /// The parser of every packet read from an endpoint or returned by an appliance.
    case packetSummary = "packet-summary"
    /// The RST built for a TCP packet without flow.
    case tcpReset = "tcp-reset"
    /// ICMP "packet too big" built for an oversize packet.
    case packetTooBig = "packet-too-big"
    /// A TUN read with offloads: virtio header, then a possible super-packet cut into segments.
    case superPacket = "super-packet"
    /// Returned packets joined for one TUN write (GRO): input is a sequence of length-prefixed packets.
    case coalescer
    /// The client's reading of gwlbd's XML answers.
    case xml
    /// The elbv2 Query body parser and its list and structure readers.
    case query
    /// SigV4: the Authorization header's checks, then the canonical request and signature over the
    /// rest. Input: a request line, header lines, a blank line, the body.
    case sigv4
    /// The credentials file of the signed TCP API.
    case credentials
    /// gwlbd's configuration file, in both forms.
    case configuration
    /// The client's HTTP reader (an answer, or `/v1/stream` fed into the console's model), reading
    /// the input from a socket as gwlbd would send it.
    case stream

    func run(_ bytes: UnsafeRawBufferPointer) {
        switch self {
        case .geneve: _ = try? AWSGeneveMetadata(parsing: bytes)
        case .geneveDifferential: GeneveDifferential.check(bytes)
        case .packetSummary: Self.summarize(bytes)
        case .tcpReset: Self.reset(bytes)
        case .packetTooBig: Self.packetTooBig(bytes)
        case .superPacket: Self.segment(bytes)
        case .coalescer: Self.coalesce(bytes)
        case .xml:
            // Both APIs' answer shapes: elbv2's and EC2's.
            let tree = XMLTree.parse(Data(bytes))
            _ = tree.map(ResponseShapes.json)
            _ = tree.map(EC2ResponseShapes.json)
        case .query: Self.query(bytes)
        case .sigv4: Self.signature(bytes)
        case .credentials: Self.credentials(bytes)
        case .configuration: Self.configuration(bytes)
        case .stream: Self.stream(bytes)
        }
    }

    static func summarize(_ bytes: UnsafeRawBufferPointer) {
        guard let summary = try? PacketSummary(parsing: bytes) else { return }
        precondition(summary.length <= bytes.count && summary.transportOffset <= summary.length, "summary past its packet")
    }

    // One thread runs the fuzzer: these are reused, input after input.
    nonisolated(unsafe) private static let output = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 17, alignment: 64)

    static func reset(_ bytes: UnsafeRawBufferPointer) {
        let buffer = UnsafeMutableRawBufferPointer(rebasing: output[..<TCPReset.maximumLength])
        guard let length = (try? TCPReset.reply(to: bytes, into: buffer)) ?? nil else { return }
        // What gwlbd sends must itself be a valid packet.
        let reply = UnsafeRawBufferPointer(rebasing: output[..<length])
        precondition((try? PacketSummary(parsing: reply))?.protocol == .tcp, "the RST is not a valid TCP packet")
    }

    static func packetTooBig(_ bytes: UnsafeRawBufferPointer) {
        guard let summary = try? PacketSummary(parsing: bytes) else { return }
        let buffer = UnsafeMutableRawBufferPointer(rebasing: output[..<PacketTooBig.maximumLength])
        guard let length = PacketTooBig.reply(to: bytes, summary: summary, mtu: 8500, into: buffer) else { return }
        precondition(length <= PacketTooBig.maximumLength && (try? PacketSummary(parsing: UnsafeRawBufferPointer(rebasing: output[..<length]))) != nil,
                     "the ICMP message is not a valid packet")
    }

    static func segment(_ bytes: UnsafeRawBufferPointer) {
        guard let header = try? VirtioNetHeader(reading: bytes),
              let superPacket = try? SuperPacket(packet: UnsafeRawBufferPointer(rebasing: bytes[VirtioNetHeader.length...]), header: header)
        else { return }
        // As the worker does: refuse what a slot cannot hold, and cut the rest.
        guard superPacket.segmentLength(0) <= 9216 else { return }
        for index in 0..<superPacket.segmentCount {
            let length = superPacket.segment(index, into: UnsafeMutableRawBufferPointer(rebasing: output[..<9216]))
            precondition(length == superPacket.segmentLength(index), "segment length disagrees")
        }
    }

    nonisolated(unsafe) private static let joiner = TCPCoalescer()

    static func coalesce(_ bytes: UnsafeRawBufferPointer) {
        // Each packet: a one-byte endpoint, a two-byte length, the bytes.
        var offset = 0
        let emit: TCPCoalescer.Emit = { _, packet, header, segments in
            precondition(packet.count <= TCPCoalescer.maximumLength && segments >= 1, "coalesced packet out of bounds")
            precondition((try? PacketSummary(parsing: packet)) != nil, "a coalesced packet that does not parse")
            _ = header
        }
        while offset + 3 <= bytes.count {
            let endpoint = Int(bytes[offset] & 3)
            let length = min(Int(bytes[offset + 1]) << 8 | Int(bytes[offset + 2]), bytes.count - offset - 3)
            let packet = UnsafeRawBufferPointer(rebasing: bytes[(offset + 3)..<(offset + 3 + length)])
            offset += 3 + length
            guard let summary = try? PacketSummary(parsing: packet) else { continue }
            joiner.add(packet, summary: summary, endpoint: endpoint, emit: emit)
        }
        joiner.flush(emit: emit)
    }
}
