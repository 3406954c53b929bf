#if canImport(Glibc)
import Glibc
#endif

/// Why a device or socket could not be set up, with a sentence that says what to do.
public struct PacketIOError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable, Hashable {
        case tunUnavailable
        case permissionDenied
        case addressInUse
        case addressNotAvailable
        case system
    }

    public let kind: Kind
    public let description: String

    public init(_ kind: Kind, _ description: String) {
        self.kind = kind
        self.description = description
    }

    /// The error for a failed system call, from `errno`.
    static func system(_ call: String, _ subject: String, errno code: Int32 = errno) -> PacketIOError {
        let reason = String(cString: strerror(code))
        switch code {
        case EPERM, EACCES:
            return PacketIOError(.permissionDenied, "\(call) \(subject): \(reason); gwlbd needs root (or CAP_NET_ADMIN)")
        case EADDRINUSE:
            return PacketIOError(.addressInUse, "\(subject) is already in use (\(reason)); stop the other program or choose another address")
        case EADDRNOTAVAIL:
            return PacketIOError(.addressNotAvailable, "\(subject) is not an address of this host (\(reason)); use one of its own addresses")
        default:
            return PacketIOError(.system, "\(call) \(subject): \(reason)")
        }
    }
}
