import Wire

/// Builds well-formed IP packets for tests, either family, with correct lengths and checksums.
///
///     let syn = PacketBuilder("198.18.100.1", "198.18.200.2").tcp(40000, 80, flags: .syn)
public struct PacketBuilder: Sendable {
    public var source: IPv6Address
    public var destination: IPv6Address
    public var hopLimit: UInt8 = 64
    /// Makes the packet a fragment: offset in 8-byte units, and the more-fragments flag.
    public var fragment: (offset: UInt16, more: Bool)?
    /// IPv6 only: extension headers placed before the upper layer (their next-header bytes are
    /// fixed up to chain correctly).
    public var extensionHeaders: [IPv6ExtensionHeader] = []
    /// IPv4 only.
    public var ipv4Options: [UInt8] = []

    /// Addresses as text; IPv4 gives an IPv4 packet, IPv6 an IPv6 one.
    public init(_ source: String, _ destination: String) {
        self.source = Self.address(source)
        self.destination = Self.address(destination)
    }

    /// An address of either family in the mapped form `PacketSummary` and `FlowKey` use.
    public static func address(_ text: String) -> IPv6Address {
        if let v4 = IPv4Address(text) { return IPv6Address(mapping: v4) }
        guard let v6 = IPv6Address(text) else { preconditionFailure("bad address \(text)") }
        return v6
    }

    public var isIPv4: Bool { source.isIPv4Mapped }

    public func udp(_ sourcePort: UInt16, _ destinationPort: UInt16, payload: [UInt8] = []) -> [UInt8] {
        let header = UDPHeader(sourcePort: sourcePort, destinationPort: destinationPort,
                               length: UInt16(UDPView.length + payload.count))
        return packet(.udp, transport: header.bytes + payload, checksumOffset: 6)
    }

    public func tcp(_ sourcePort: UInt16, _ destinationPort: UInt16, flags: TCPFlags,
                    sequence: UInt32 = 1000, acknowledgment: UInt32 = 0, payload: [UInt8] = []) -> [UInt8] {
        var header = TCPHeader(sourcePort: sourcePort, destinationPort: destinationPort, flags: flags)
        header.sequenceNumber = sequence
        header.acknowledgmentNumber = acknowledgment
        header.window = 65535
        return packet(.tcp, transport: header.bytes + payload, checksumOffset: 16)
    }

    /// An echo request (ICMP type 8 or ICMPv6 type 128, by family).
    public func icmpEcho(identifier: UInt16, sequence: UInt16 = 1, payload: [UInt8] = []) -> [UInt8] {
        let header = ICMPHeader(type: isIPv4 ? ICMPHeader.echoRequestV4 : ICMPHeader.echoRequestV6, code: 0,
                                restOfHeader: UInt32(identifier) << 16 | UInt32(sequence))
        return packet(isIPv4 ? .icmp : .icmpv6, transport: header.bytes + payload, checksumOffset: 2)
    }

    /// Any protocol, payload as given, no checksum work.
    public func raw(_ proto: IPProtocol, payload: [UInt8]) -> [UInt8] {
        packet(proto, transport: payload, checksumOffset: nil)
    }

    private func packet(_ proto: IPProtocol, transport: [UInt8], checksumOffset: Int?) -> [UInt8] {
        var transport = transport
        if let checksumOffset, transport.count >= checksumOffset + 2 {
            var sum = InternetChecksum()
            if proto == .icmp {
                // ICMPv4 has no pseudo-header.
            } else if let s = source.mappedIPv4, let d = destination.mappedIPv4 {
                sum.addPseudoHeader(source: s, destination: d, protocol: proto, length: transport.count)
            } else {
                sum.addPseudoHeader(source: source, destination: destination, protocol: proto, length: transport.count)
            }
            transport.withUnsafeBytes { sum.add($0) }
            transport[checksumOffset] = UInt8(sum.value >> 8)
            transport[checksumOffset + 1] = UInt8(sum.value & 0xFF)
        }
        if let s = source.mappedIPv4, let d = destination.mappedIPv4 {
            var ip = IPv4Header(totalLength: UInt16(20 + ipv4Options.count + transport.count), protocol: proto,
                                source: s, destination: d)
            ip.timeToLive = hopLimit
            ip.options = ipv4Options
            ip.identification = 1
            if let fragment {
                ip.fragmentOffset = fragment.offset
                ip.flags = fragment.more ? IPv4Header.moreFragmentsFlag : 0
            }
            return ip.withComputedChecksum().bytes + transport
        }
        var chain = extensionHeaders
        if let fragment {
            let offsetField = fragment.offset << 3 | (fragment.more ? 1 : 0)
            chain.append(IPv6ExtensionHeader(kind: .ipv6Fragment,
                                             bytes: [0, 0, UInt8(offsetField >> 8), UInt8(offsetField & 0xFF), 0, 0, 0, 7]))
        }
        // Chain the next-header bytes: each header names the one after it.
        for index in chain.indices {
            chain[index].bytes[0] = index + 1 < chain.count ? chain[index + 1].kind.rawValue : proto.rawValue
        }
        let extensionLength = chain.reduce(0) { $0 + $1.bytes.count }
        var ip = IPv6Header(payloadLength: UInt16(extensionLength + transport.count),
                            nextHeader: chain.first?.kind ?? proto, source: source, destination: destination)
        ip.hopLimit = hopLimit
        ip.extensionHeaders = chain
        return ip.bytes + transport
    }
}

/// Builds GENEVE frames with AWS's options around an inner packet, outer headers included.
public enum GeneveFrameBuilder {
    public static func frame(outerSource: String, outerDestination: String, sourcePort: UInt16 = 50000,
                             inner: [UInt8], endpointID: UInt64, attachmentID: UInt64, cookie: UInt32,
                             udpChecksum: Bool = true, identification: UInt16 = 1, timeToLive: UInt8 = 64) -> [UInt8] {
        let protocolType = inner.first.map { $0 >> 4 == 6 } == true ? Geneve.protocolTypeIPv6 : Geneve.protocolTypeIPv4
        var outer = OuterIPv4UDPHeader(source: IPv4Address(outerSource)!, destination: IPv4Address(outerDestination)!,
                                       sourcePort: sourcePort)
        outer.identification = identification
        outer.timeToLive = timeToLive
        let payloadLength = Geneve.awsHeaderLength + inner.count
        var frame = [UInt8](repeating: 0, count: OuterIPv4UDPHeader.length + payloadLength)
        frame.withUnsafeMutableBytes { buffer in
            let geneve = UnsafeMutableRawBufferPointer(rebasing: buffer[OuterIPv4UDPHeader.length...])
            AWSGeneveMetadata.write(to: geneve, protocolType: protocolType, endpointID: endpointID,
                                    attachmentID: attachmentID, cookie: cookie)
            UnsafeMutableRawBufferPointer(rebasing: geneve[Geneve.awsHeaderLength...]).copyBytes(from: inner)
            outer.write(to: buffer, payloadLength: payloadLength, udpChecksum: udpChecksum)
        }
        return frame
    }
}

extension PacketSummary {
    /// Reads a packet held in an array (tests).
    public init(parsing bytes: [UInt8]) throws(WireError) {
        let result: Result<PacketSummary, WireError> = bytes.withUnsafeBytes { raw in
            do throws(WireError) { return .success(try PacketSummary(parsing: raw)) } catch { return .failure(error) }
        }
        self = try result.get()
    }
}
