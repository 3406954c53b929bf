/// Why a packet or header could not be read. Each case is a distinct drop reason, so a counter or
/// a drop record can say exactly what was wrong with the bytes.
public enum WireError: Error, Hashable, Sendable, CaseIterable {
    /// Fewer bytes than the header needs.
    case truncated
    /// The version field is not the one this header requires (IPv4 ≠ 4, IPv6 ≠ 6, GENEVE ≠ 0).
    case badVersion
    /// IPv4 header length below 5 words or past the packet.
    case badIHL
    /// A length field disagrees with the bytes present (IPv4 total length, IPv6 payload length,
    /// UDP length, TCP data offset).
    case lengthMismatch
    /// A GENEVE option (or the option block) runs past its end, or an IPv6 extension header
    /// runs past the packet.
    case optionOverrun
    /// A GENEVE option marked critical that we do not understand (RFC 8926 §3.5).
    case unknownCriticalOption
    /// GENEVE protocol type other than IPv4 (0x0800) or IPv6 (0x86DD).
    case unsupportedProtocolType
    /// The inner packet's IP version does not match the GENEVE protocol type.
    case innerVersionMismatch
    /// GENEVE OAM (control) packet: not data, never forwarded.
    case controlPacket
    /// An IPv6 packet with an IPv4-mapped source or destination (RFC 4942 §2.1.4): never valid
    /// on the wire, and it would alias an IPv4 flow.
    case mappedAddress
    /// More IPv6 extension headers than any legitimate packet carries.
    case tooManyExtensionHeaders
    /// A GENEVE packet without one of AWS's endpoint-id, attachment-id or flow-cookie options.
    case missingAWSOption

    /// Short stable name for counters, logs and the console (`snake_case`, as metric labels use).
    public var name: String {
        switch self {
        case .truncated: "truncated"
        case .badVersion: "bad_version"
        case .badIHL: "bad_ihl"
        case .lengthMismatch: "length_mismatch"
        case .optionOverrun: "option_overrun"
        case .unknownCriticalOption: "unknown_critical_option"
        case .unsupportedProtocolType: "unsupported_protocol_type"
        case .innerVersionMismatch: "inner_version_mismatch"
        case .controlPacket: "control_packet"
        case .mappedAddress: "mapped_address"
        case .tooManyExtensionHeaders: "too_many_extension_headers"
        case .missingAWSOption: "missing_aws_option"
        }
    }
}
