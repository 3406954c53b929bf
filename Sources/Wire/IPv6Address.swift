/// An IPv6 address as four 32-bit words, most significant first. Four words rather than two
/// 64-bit halves keep the alignment at 4, so flow entries that embed two addresses pack tightly.
public struct IPv6Address: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var w0: UInt32, w1: UInt32, w2: UInt32, w3: UInt32

    public init(_ w0: UInt32, _ w1: UInt32, _ w2: UInt32, _ w3: UInt32) {
        (self.w0, self.w1, self.w2, self.w3) = (w0, w1, w2, w3)
    }

    /// The IPv4-mapped form `::ffff:a.b.c.d` (RFC 4291 §2.5.5.2), used to hold either family in
    /// one key.
    public init(mapping v4: IPv4Address) { self.init(0, 0, 0xFFFF, v4.rawValue) }

    public static let zero = IPv6Address(0, 0, 0, 0)

    /// True for `::ffff:0:0/96`.
    @inline(__always)
    public var isIPv4Mapped: Bool { w0 == 0 && w1 == 0 && w2 == 0xFFFF }

    /// The IPv4 address inside an IPv4-mapped address.
    public var mappedIPv4: IPv4Address? { isIPv4Mapped ? IPv4Address(rawValue: w3) : nil }

    /// Text as an operator expects it: a dotted quad for an IPv4-mapped address (which is how
    /// IPv4 addresses are held in flow keys), RFC 5952 otherwise.
    public var unmappedDescription: String { mappedIPv4?.description ?? description }

    /// The eight 16-bit groups of the text form.
    public var groups: [UInt16] {
        [w0, w1, w2, w3].flatMap { [UInt16(truncatingIfNeeded: $0 >> 16), UInt16(truncatingIfNeeded: $0)] }
    }

    public init(groups: [UInt16]) {
        precondition(groups.count == 8)
        func word(_ i: Int) -> UInt32 { UInt32(groups[i]) << 16 | UInt32(groups[i + 1]) }
        self.init(word(0), word(2), word(4), word(6))
    }

    /// Parses RFC 4291 text: full, `::`-compressed, or with a trailing dotted quad. Nil otherwise.
    public init?(_ text: some StringProtocol) {
        let string = String(text)
        guard string.count >= 2, string.allSatisfy(\.isASCII) else { return nil }
        let halves = string.split(separator: "::", omittingEmptySubsequences: false).map(String.init)
        guard halves.count <= 2 else { return nil }
        func parse(_ part: String, allowsTrailingIPv4: Bool) -> [UInt16]? {
            if part.isEmpty { return [] }
            var groups: [UInt16] = []
            let pieces = part.split(separator: ":", omittingEmptySubsequences: false)
            for (index, piece) in pieces.enumerated() {
                if allowsTrailingIPv4, index == pieces.count - 1, piece.contains(".") {
                    guard let v4 = IPv4Address(piece) else { return nil }
                    groups += [UInt16(v4.rawValue >> 16), UInt16(v4.rawValue & 0xFFFF)]
                } else {
                    guard (1...4).contains(piece.count), let group = UInt16(piece, radix: 16) else { return nil }
                    groups.append(group)
                }
            }
            return groups
        }
        if halves.count == 1 {
            guard let groups = parse(halves[0], allowsTrailingIPv4: true), groups.count == 8 else { return nil }
            self.init(groups: groups)
        } else {
            guard let head = parse(halves[0], allowsTrailingIPv4: false),
                  let tail = parse(halves[1], allowsTrailingIPv4: true),
                  head.count + tail.count <= 7 else { return nil }
            self.init(groups: head + Array(repeating: 0, count: 8 - head.count - tail.count) + tail)
        }
    }

    /// RFC 5952 text: lowercase, leading zeros dropped, the longest run (≥ 2) of zero groups as `::`,
    /// IPv4-mapped addresses with a dotted quad.
    public var description: String {
        if let v4 = mappedIPv4 { return "::ffff:\(v4)" }
        let groups = self.groups
        var bestStart = -1, bestLength = 0, index = 0
        while index < 8 {
            guard groups[index] == 0 else { index += 1; continue }
            var end = index
            while end < 8, groups[end] == 0 { end += 1 }
            if end - index > bestLength { (bestStart, bestLength) = (index, end - index) }
            index = end
        }
        let hex = groups.map { String($0, radix: 16) }
        guard bestLength >= 2 else { return hex.joined(separator: ":") }
        let head = hex[..<bestStart].joined(separator: ":")
        let tail = hex[(bestStart + bestLength)...].joined(separator: ":")
        return head + "::" + tail
    }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.w0, lhs.w1, lhs.w2, lhs.w3) < (rhs.w0, rhs.w1, rhs.w2, rhs.w3)
    }
}

extension UnsafeRawBufferPointer {
    @inline(__always)
    func ipv6Address(_ offset: Int) -> IPv6Address {
        IPv6Address(u32(offset), u32(offset + 4), u32(offset + 8), u32(offset + 12))
    }
}

extension UnsafeMutableRawBufferPointer {
    @inline(__always)
    func setIPv6Address(_ address: IPv6Address, at offset: Int) {
        setU32(address.w0, at: offset)
        setU32(address.w1, at: offset + 4)
        setU32(address.w2, at: offset + 8)
        setU32(address.w3, at: offset + 12)
    }
}
