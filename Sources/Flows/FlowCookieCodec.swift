/// Turns a flow's place in its table into the 32-bit GENEVE flow cookie and back. The cookie is a
/// keyed permutation (a 4-round Feistel network with per-process round keys) of
/// `generation | owner | entry index`, so:
/// - the return path finds the flow from the cookie alone, even when the appliance rewrote the
///   inner packet (NAT), and checks it against the entry's stored cookie;
/// - cookies are unpredictable to outsiders, and a new flow in a reused entry gets a new cookie
///   (the generation advances);
/// - `owner` names the worker whose table holds the flow, for hand-off between workers.
public struct FlowCookieCodec: Sendable {
    public let indexBits: Int
    public let ownerBits: Int
    public var generationBits: Int { 32 - indexBits - ownerBits }
    let roundKeys: (UInt64, UInt64, UInt64, UInt64)

    /// `capacity` entries need `indexBits` = ⌈log2(capacity)⌉; at least 4 bits stay for generations.
    public init(capacity: Int, ownerBits: Int = 0, roundKeys: (UInt64, UInt64, UInt64, UInt64)) {
        indexBits = max(1, Int.bitWidth - (max(capacity, 2) - 1).leadingZeroBitCount)
        self.ownerBits = ownerBits
        precondition(32 - indexBits - ownerBits >= 4, "flow table too large for 32-bit cookies")
        self.roundKeys = roundKeys
    }

    /// A codec with fresh random round keys.
    public static func random(capacity: Int, ownerBits: Int = 0) -> FlowCookieCodec {
        var generator = SystemRandomNumberGenerator()
        return FlowCookieCodec(capacity: capacity, ownerBits: ownerBits,
                               roundKeys: (generator.next(), generator.next(), generator.next(), generator.next()))
    }

    public struct Fields: Hashable, Sendable {
        public var index: Int
        public var owner: UInt32
        public var generation: UInt32
    }

    @inline(__always)
    public func encode(index: Int, owner: UInt32 = 0, generation: UInt32) -> UInt32 {
        let generationMask = UInt32.max >> (32 - generationBits)
        let plain = (generation & generationMask) << (indexBits + ownerBits) | owner << indexBits | UInt32(index)
        return permute(plain)
    }

    @inline(__always)
    public func decode(_ cookie: UInt32) -> Fields {
        let plain = unpermute(cookie)
        let indexMask = UInt32.max >> (32 - indexBits)
        let ownerMask = ownerBits == 0 ? 0 : UInt32.max >> (32 - ownerBits)
        return Fields(index: Int(plain & indexMask), owner: plain >> indexBits & ownerMask,
                      generation: plain >> (indexBits + ownerBits))
    }

    @inline(__always)
    func roundFunction(_ half: UInt32, _ key: UInt64) -> UInt32 {
        // splitmix64's finalizer: every output bit depends on every input and key bit.
        var x = UInt64(half) ^ key
        x = (x ^ (x >> 30)) &* 0xBF58_476D_1CE4_E5B9
        x = (x ^ (x >> 27)) &* 0x94D0_49BB_1331_11EB
        x ^= x >> 31
        return UInt32(truncatingIfNeeded: x) & 0xFFFF
    }

    @inline(__always)
    func permute(_ value: UInt32) -> UInt32 {
        var left = value >> 16, right = value & 0xFFFF
        (left, right) = (right, left ^ roundFunction(right, roundKeys.0))
        (left, right) = (right, left ^ roundFunction(right, roundKeys.1))
        (left, right) = (right, left ^ roundFunction(right, roundKeys.2))
        (left, right) = (right, left ^ roundFunction(right, roundKeys.3))
        return left << 16 | right
    }

    @inline(__always)
    func unpermute(_ value: UInt32) -> UInt32 {
        var left = value >> 16, right = value & 0xFFFF
        (left, right) = (right ^ roundFunction(left, roundKeys.3), left)
        (left, right) = (right ^ roundFunction(left, roundKeys.2), left)
        (left, right) = (right ^ roundFunction(left, roundKeys.1), left)
        (left, right) = (right ^ roundFunction(left, roundKeys.0), left)
        return left << 16 | right
    }
}
