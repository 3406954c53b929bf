import Wire

/// What the reference appliance inspects for: drop rules on TCP or UDP ports (either end), so
/// tests can show that inspection decides what passes.
public struct ApplianceRule: Hashable, Sendable, CustomStringConvertible {
    public var `protocol`: IPProtocol
    public var port: UInt16

    /// Parses `tcp:23` or `udp:53`.
    public init?(_ text: String) {
        let parts = text.split(separator: ":")
        guard parts.count == 2, let port = UInt16(parts[1]) else { return nil }
        switch parts[0].lowercased() {
        case "tcp": self.protocol = .tcp
        case "udp": self.protocol = .udp
        default: return nil
        }
        self.port = port
    }

    public func matches(_ packet: PacketSummary) -> Bool {
        packet.protocol == self.protocol && !packet.isFragment && (packet.sourcePort == port || packet.destinationPort == port)
    }

    public var description: String { "\(self.protocol):\(port)" }
}
