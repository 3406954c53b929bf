import Wire

/// The GENEVE flow cookie of a node of a cluster: a keyed MAC of the flow that any node holding
/// the cluster's key can check, so an appliance's reply is accepted by whichever node it reaches,
/// including one that never saw the flow.
///
/// A single gwlbd's cookie (`FlowCookieCodec`) names an entry of its own flow table, which no other
/// node has. A cluster's cookie instead authenticates what the return carries:
/// `SipHash(key; flow key without its node-local endpoint slot, endpoint ID, appliance address)`.
/// So a node accepts a return when its inner packet belongs to the flow the cookie was made for,
/// it comes from the appliance the flow was sent to, and it names the same endpoint. The flow key
/// is the load balancer's (5-, 3- or 2-tuple, the same both ways), so replies match too.
///
/// The top `ownerBits` bits carry the sending worker in the clear, as single-node cookies do, so
/// the sending node's kernel steers the return to that worker (`ReusePortProgram`). Nodes may run
/// different numbers of workers, so the MAC that is checked is the low `checkedBits` bits, below
/// the widest owner field any node can have.
public struct ClusterCookie: Sendable, Hashable {
    let mac: FlowHasher

    /// The widest owner field: 64 workers (the most gwlbd runs).
    public static let widestOwnerBits = 6
    /// Bits of the MAC every node checks: forging one takes 2^26 tries on average, each a spoofed
    /// datagram from a registered appliance's address.
    public static let checkedBits = 32 - widestOwnerBits
    static let checkedMask = UInt32.max >> widestOwnerBits

    public init(key0: UInt64, key1: UInt64) {
        mac = FlowHasher(key0: key0, key1: key1)
    }

    /// The key as it is shared between nodes (through the cluster's database): 32 hex digits.
    public init?(secret: String) {
        guard secret.count == 32, let high = UInt64(secret.prefix(16), radix: 16), let low = UInt64(secret.suffix(16), radix: 16) else {
            return nil
        }
        self.init(key0: high, key1: low)
    }

    /// A fresh random key in the form `init(secret:)` reads.
    public static func newSecret() -> String {
        var generator = SystemRandomNumberGenerator()
        let hex = { (value: UInt64) in String(repeating: "0", count: 16 - String(value, radix: 16).count) + String(value, radix: 16) }
        return hex(generator.next()) + hex(generator.next())
    }

    /// The cookie for a flow with `key` sent to `appliance` through endpoint `endpointID`, by
    /// worker `owner` of a node whose cookies have `ownerBits` owner bits (0 for one worker).
    @inline(__always)
    public func cookie(_ key: FlowKey, endpointID: UInt64, appliance: IPv4Address, owner: UInt32, ownerBits: Int) -> UInt32 {
        let value = code(key, endpointID: endpointID, appliance: appliance)
        return ownerBits == 0 ? value : owner << (32 - ownerBits) | value & (UInt32.max >> ownerBits)
    }

    /// Whether `cookie` was made (by any node with this key) for the flow with `key`, sent to
    /// `appliance` through endpoint `endpointID`.
    @inline(__always)
    public func admits(_ cookie: UInt32, _ key: FlowKey, endpointID: UInt64, appliance: IPv4Address) -> Bool {
        (cookie ^ code(key, endpointID: endpointID, appliance: appliance)) & Self.checkedMask == 0
    }

    @inline(__always)
    func code(_ key: FlowKey, endpointID: UInt64, appliance: IPv4Address) -> UInt32 {
        // The endpoint's slot is this node's numbering: the endpoint ID names it on every node.
        var shared = key
        shared.endpoint = 0
        var state = SipState(key0: mac.key0, key1: mac.key1)
        state.compress(shared)
        state.compress(endpointID)
        state.compress(UInt64(appliance.rawValue))
        return UInt32(truncatingIfNeeded: state.finalize(byteCount: FlowKey.hashedBytes + 16))
    }
}
