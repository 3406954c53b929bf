/// Turns a flow's place in its table into the 32-bit GENEVE flow cookie and back. The cookie is
/// `owner | permuted(generation | entry index)`: the owner bits in the clear at the top (so the
/// kernel can steer a returning datagram to the owner's socket with a classic BPF program, see
/// `ReusePortProgram`), the rest a keyed permutation (a 4-round Feistel network with per-process
/// round keys, halves of unequal width when the owner bits make the width odd), so:
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
    // The halves: `rightBits` low bits and the rest; each round changes one half by a function of
    // the other, alternately, which any width allows and is undone in reverse order.
    let rightBits: Int
    let rightMask: UInt32
    let leftMask: UInt32

    /// Generation bits a cookie keeps at least, so a reused entry's new flow gets a new cookie.
    public static let minimumGenerationBits = 4

    /// Bits that name an entry of a table of `capacity`: ⌈log2(capacity)⌉, at least 1.
    public static func indexBits(capacity: Int) -> Int {
        max(1, Int.bitWidth - (max(capacity, 2) - 1).leadingZeroBitCount)
    }

    /// The largest table whose cookies keep `minimumGenerationBits` beside `ownerBits` owner bits.
    public static func maximumCapacity(ownerBits: Int) -> Int {
        1 << (32 - minimumGenerationBits - ownerBits)
    }

    /// `capacity` entries need `indexBits` = ⌈log2(capacity)⌉; at least 4 bits stay for generations
    /// (configurations are checked against `maximumCapacity(ownerBits:)` before they get here).
    public init(capacity: Int, ownerBits: Int = 0, roundKeys: (UInt64, UInt64, UInt64, UInt64)) {
        indexBits = Self.indexBits(capacity: capacity)
        self.ownerBits = ownerBits
        precondition(32 - indexBits - ownerBits >= Self.minimumGenerationBits, "flow table too large for 32-bit cookies")
        self.roundKeys = roundKeys
        let permuted = 32 - ownerBits
        rightBits = permuted / 2
        rightMask = UInt32.max >> (32 - rightBits)
        leftMask = UInt32.max >> (32 - (permuted - rightBits))
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

    /// Bits of the permuted part.
    var permutedBits: Int { 32 - ownerBits }

    @inline(__always)
    public func encode(index: Int, owner: UInt32 = 0, generation: UInt32) -> UInt32 {
        let generationMask = UInt32.max >> (32 - generationBits)
        let plain = (generation & generationMask) << indexBits | UInt32(index)
        let permuted = permute(plain)
        return ownerBits == 0 ? permuted : owner << permutedBits | permuted
    }

    @inline(__always)
    public func decode(_ cookie: UInt32) -> Fields {
        let owner = ownerBits == 0 ? 0 : cookie >> permutedBits
        let plain = unpermute(ownerBits == 0 ? cookie : cookie & (UInt32.max >> ownerBits))
        let indexMask = UInt32.max >> (32 - indexBits)
        return Fields(index: Int(plain & indexMask), owner: owner, generation: plain >> indexBits)
    }

    /// The owner bits of a cookie, without decoding the rest.
    @inline(__always)
    public func owner(of cookie: UInt32) -> UInt32 {
        ownerBits == 0 ? 0 : cookie >> permutedBits
    }

    @inline(__always)
    func roundFunction(_ half: UInt32, _ key: UInt64) -> UInt32 {
        // splitmix64's finalizer: every output bit depends on every input and key bit.
        var x = UInt64(half) ^ key
        x = (x ^ (x >> 30)) &* 0xBF58_476D_1CE4_E5B9
        x = (x ^ (x >> 27)) &* 0x94D0_49BB_1331_11EB
        x ^= x >> 31
        return UInt32(truncatingIfNeeded: x)
    }


    @inline(__always)
    func permute(_ value: UInt32) -> UInt32 {
        var left = value >> rightBits, right = value & rightMask
        left ^= roundFunction(right, roundKeys.0) & leftMask
        right ^= roundFunction(left, roundKeys.1) & rightMask
        left ^= roundFunction(right, roundKeys.2) & leftMask
        right ^= roundFunction(left, roundKeys.3) & rightMask
        return left << rightBits | right
    }

    @inline(__always)
    func unpermute(_ value: UInt32) -> UInt32 {
        var left = value >> rightBits, right = value & rightMask
        right ^= roundFunction(left, roundKeys.3) & rightMask
        left ^= roundFunction(right, roundKeys.2) & leftMask
        right ^= roundFunction(left, roundKeys.1) & rightMask
        left ^= roundFunction(right, roundKeys.0) & leftMask
        return left << rightBits | right
    }
}
