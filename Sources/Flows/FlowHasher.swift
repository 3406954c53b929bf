/// SipHash-1-3 keyed hashing of flow keys (the PRF Swift and Rust use for hash tables): with a
/// secret key, nobody outside can craft keys that collide in our table.
public struct FlowHasher: Sendable, Hashable {
    public let key0: UInt64
    public let key1: UInt64

    public init(key0: UInt64, key1: UInt64) {
        self.key0 = key0
        self.key1 = key1
    }

    /// A hasher with a fresh random key: one per process for the flow table.
    public static func random() -> FlowHasher {
        var generator = SystemRandomNumberGenerator()
        return FlowHasher(key0: generator.next(), key1: generator.next())
    }

    @inline(__always)
    public func hash(_ key: FlowKey) -> UInt64 {
        var state = SipState(key0: key0, key1: key1)
        state.compress(key)
        return state.finalize(byteCount: FlowKey.hashedBytes)
    }

    /// Hash of one 64-bit value (a target's identity, for Maglev).
    @inline(__always)
    public func hash(_ value: UInt64) -> UInt64 {
        var state = SipState(key0: key0, key1: key1)
        state.compress(value)
        return state.finalize(byteCount: 8)
    }
}

extension FlowKey {
    /// What a flow key is, hashed: two addresses and a word of ports, protocol and endpoint.
    static let hashedBytes = 40
}

/// SipHash internal state; message words are taken whole, so no tail bytes are ever buffered.
struct SipState {
    var v0: UInt64, v1: UInt64, v2: UInt64, v3: UInt64

    /// Takes a flow key as `FlowKey.hashedBytes` bytes.
    @inline(__always)
    mutating func compress(_ key: FlowKey) {
        compress(UInt64(key.lowAddress.w0) << 32 | UInt64(key.lowAddress.w1))
        compress(UInt64(key.lowAddress.w2) << 32 | UInt64(key.lowAddress.w3))
        compress(UInt64(key.highAddress.w0) << 32 | UInt64(key.highAddress.w1))
        compress(UInt64(key.highAddress.w2) << 32 | UInt64(key.highAddress.w3))
        compress(UInt64(key.lowPort) << 48 | UInt64(key.highPort) << 32 | UInt64(key.protocol.rawValue) << 8 | UInt64(key.endpoint))
    }

    @inline(__always)
    init(key0: UInt64, key1: UInt64) {
        v0 = key0 ^ 0x736f_6d65_7073_6575
        v1 = key1 ^ 0x646f_7261_6e64_6f6d
        v2 = key0 ^ 0x6c79_6765_6e65_7261
        v3 = key1 ^ 0x7465_6462_7974_6573
    }

    @inline(__always)
    mutating func round() {
        v0 &+= v1; v1 = v1.rotatedLeft(13); v1 ^= v0; v0 = v0.rotatedLeft(32)
        v2 &+= v3; v3 = v3.rotatedLeft(16); v3 ^= v2
        v0 &+= v3; v3 = v3.rotatedLeft(21); v3 ^= v0
        v2 &+= v1; v1 = v1.rotatedLeft(17); v1 ^= v2; v2 = v2.rotatedLeft(32)
    }

    @inline(__always)
    mutating func compress(_ word: UInt64) {
        v3 ^= word
        round()
        v0 ^= word
    }

    @inline(__always)
    mutating func finalize(byteCount: Int) -> UInt64 {
        compress(UInt64(truncatingIfNeeded: byteCount) << 56)
        v2 ^= 0xFF
        round(); round(); round()
        return v0 ^ v1 ^ v2 ^ v3
    }
}

extension UInt64 {
    @inline(__always)
    func rotatedLeft(_ count: UInt64) -> UInt64 { self << count | self >> (64 - count) }
}
