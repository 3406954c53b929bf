/// The Internet checksum (RFC 1071): one's-complement sum of 16-bit words, and its incremental
/// update (RFC 1624) for rewriting a field without summing the packet again.
public struct InternetChecksum: Sendable {
    /// Running sum, folded only at the end. 64 bits cannot overflow for any IP packet.
    public private(set) var sum: UInt64 = 0

    public init() {}

    /// Adds `bytes` as if they started at an even offset of the checksummed data.
    public mutating func add(_ bytes: UnsafeRawBufferPointer) {
        var index = 0
        let count = bytes.count
        #if _endian(little)
        // 8 bytes at a time in the host's order: the one's-complement sum of byte-swapped words is
        // the byte-swapped sum (RFC 1071 §2(B)), so one swap at the end puts it in network order.
        if count >= 16, let base = bytes.baseAddress {
            // Four independent sums of 32-bit halves, so the additions overlap in the CPU.
            var a: UInt64 = 0, b: UInt64 = 0, c: UInt64 = 0, d: UInt64 = 0
            while index + 32 <= count {
                // Safe: index + 32 <= count.
                let w0 = base.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                let w1 = base.loadUnaligned(fromByteOffset: index + 8, as: UInt64.self)
                let w2 = base.loadUnaligned(fromByteOffset: index + 16, as: UInt64.self)
                let w3 = base.loadUnaligned(fromByteOffset: index + 24, as: UInt64.self)
                a &+= (w0 & 0xFFFF_FFFF) &+ (w0 >> 32)
                b &+= (w1 & 0xFFFF_FFFF) &+ (w1 >> 32)
                c &+= (w2 & 0xFFFF_FFFF) &+ (w2 >> 32)
                d &+= (w3 & 0xFFFF_FFFF) &+ (w3 >> 32)
                index += 32
            }
            while index + 8 <= count {
                // Safe: index + 8 <= count.
                let word = base.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                a &+= (word & 0xFFFF_FFFF) &+ (word >> 32)
                index += 8
            }
            // Each sum stays below 2^33 per 8 bytes, far from overflow for any IP packet.
            sum &+= UInt64(Self.fold(a &+ b &+ c &+ d).byteSwapped)
        }
        #endif
        // 4 bytes at a time: fewer loads, same one's-complement result.
        while index + 4 <= count {
            sum &+= UInt64(bytes.u32(index))
            index += 4
        }
        if index + 2 <= count {
            sum &+= UInt64(bytes.u16(index))
            index += 2
        }
        if index < count { sum &+= UInt64(bytes.u8(index)) << 8 }
    }

    public mutating func add(_ word: UInt16) { sum &+= UInt64(word) }
    public mutating func add(_ word: UInt32) { sum &+= UInt64(word) }

    public mutating func add(_ address: IPv6Address) {
        sum &+= UInt64(address.w0) &+ UInt64(address.w1) &+ UInt64(address.w2) &+ UInt64(address.w3)
    }

    /// The checksum field value: the complement of the folded sum.
    public var value: UInt16 { ~Self.fold(sum) }

    @inline(__always)
    static func fold(_ wide: UInt64) -> UInt16 {
        var sum = (wide & 0xFFFF_FFFF) &+ (wide >> 32)
        sum = (sum & 0xFFFF) &+ (sum >> 16)
        sum = (sum & 0xFFFF) &+ (sum >> 16)
        sum = (sum & 0xFFFF) &+ (sum >> 16)
        return UInt16(truncatingIfNeeded: sum)
    }

    /// The checksum of `bytes` alone.
    public static func of(_ bytes: UnsafeRawBufferPointer) -> UInt16 {
        var checksum = InternetChecksum()
        checksum.add(bytes)
        return checksum.value
    }

    /// RFC 1624 eqn. 3: the new checksum after a 16-bit word changes from `old` to `new`.
    @inline(__always)
    public static func updated(_ checksum: UInt16, replacing old: UInt16, with new: UInt16) -> UInt16 {
        let sum = UInt64(~checksum) &+ UInt64(~old) &+ UInt64(new)
        return ~fold(sum)
    }

    /// RFC 1624 for a 32-bit field (an IPv4 address), as two 16-bit words.
    @inline(__always)
    public static func updated(_ checksum: UInt16, replacing old: UInt32, with new: UInt32) -> UInt16 {
        let sum = UInt64(~checksum) &+ UInt64(~UInt16(truncatingIfNeeded: old >> 16))
            &+ UInt64(~UInt16(truncatingIfNeeded: old)) &+ UInt64(new >> 16) &+ UInt64(new & 0xFFFF)
        return ~fold(sum)
    }

    /// Pseudo-header sum for TCP/UDP over IPv4 (RFC 768, RFC 9293 §3.1).
    public mutating func addPseudoHeader(source: IPv4Address, destination: IPv4Address,
                                         protocol proto: IPProtocol, length: Int) {
        add(source.rawValue)
        add(destination.rawValue)
        add(UInt16(proto.rawValue))
        add(UInt32(length))
    }

    /// Pseudo-header sum for upper layers over IPv6 (RFC 8200 §8.1).
    public mutating func addPseudoHeader(source: IPv6Address, destination: IPv6Address,
                                         protocol proto: IPProtocol, length: Int) {
        add(source)
        add(destination)
        add(UInt32(length))
        add(UInt16(proto.rawValue))
    }
}
