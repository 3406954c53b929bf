/// Maglev consistent hashing (Eisenbud et al., NSDI 2016, §3.4): a lookup table of prime size M in
/// which every target owns ⌊M/N⌋ or ⌈M/N⌉ entries, and removing one of N targets moves little more
/// than its own 1/N share of placements.
public enum Maglev {
    /// AWS-sized default: prime, and ≥ 100 × targets up to 655 targets.
    public static let defaultTableSize = 65537

    /// Offsets and skips come from fixed keys, not per-process ones, so that every gwlbd node with
    /// the same target set builds the same table (ECMP in front of several nodes needs no shared state).
    public static let permutationHasher = FlowHasher(key0: 0x676C_625F_6D61_676C, key1: 0x6576_5F6F_6666_7365)
    static let skipHasher = FlowHasher(key0: 0x676C_625F_6D61_676C, key1: 0x6576_5F73_6B69_7073)

    /// 65537, or for more than 655 targets the first prime ≥ 100 × targets.
    public static func tableSize(forTargets count: Int) -> Int {
        var size = max(defaultTableSize, 100 * count)
        while !isPrime(size) { size += 1 }
        return size
    }

    static func isPrime(_ n: Int) -> Bool {
        guard n >= 2 else { return false }
        if n < 4 { return true }
        if n % 2 == 0 { return false }
        var divisor = 3
        while divisor * divisor <= n {
            if n % divisor == 0 { return false }
            divisor += 2
        }
        return true
    }

    /// Builds the table for targets named by stable `identities` (for example address and port):
    /// entry i is a position in `identities`. The result does not depend on the order of
    /// `identities`, only on the set. `size` must be prime and > the number of targets; an empty
    /// target list gives an empty table.
    public static func build(identities: [UInt64], size: Int = defaultTableSize) -> [UInt16] {
        let count = identities.count
        guard count > 0 else { return [] }
        precondition(count <= Int(UInt16.max) && size > count && isPrime(size), "Maglev needs a prime size above the target count")
        // Fill in identity order, so the table depends on the set, not on how it was listed.
        let order = identities.indices.sorted { identities[$0] < identities[$1] }
        let modulus = UInt64(size)
        var position = order.map { Int(permutationHasher.hash(identities[$0]) % modulus) }
        let skip = order.map { Int(skipHasher.hash(identities[$0]) % (modulus - 1)) + 1 }
        let empty = UInt16.max
        var table = [UInt16](repeating: empty, count: size)
        table.withUnsafeMutableBufferPointer { table in
            var filled = 0
            while true {
                for turn in 0..<count {
                    var slot = position[turn]
                    while table[slot] != empty {
                        slot += skip[turn]
                        if slot >= size { slot -= size }
                    }
                    table[slot] = UInt16(order[turn])
                    slot += skip[turn]
                    position[turn] = slot >= size ? slot - size : slot
                    filled += 1
                    if filled == size { return }
                }
            }
        }
        return table
    }
}
