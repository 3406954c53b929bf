import TestSupport
import Wire
@testable import Flows

/// Flow keys and selections the Flows tests share.
enum Fixtures {
    static func summary(_ bytes: [UInt8]) -> PacketSummary {
        try! bytes.withUnsafeBytes { try PacketSummary(parsing: $0) }
    }

    /// A distinct UDP flow key for each `n`.
    static func udpKey(_ n: Int) -> FlowKey {
        let client = IPv6Address(mapping: IPv4Address(rawValue: 0xC612_0000 | UInt32(n >> 16 & 0xFF) << 8 | UInt32(n >> 8 & 0xFF)))
        return FlowKey(lowAddress: client, highAddress: IPv6Address(mapping: IPv4Address(198, 19, 0, 1)),
                       lowPort: UInt16(truncatingIfNeeded: n), highPort: 53, protocol: .udp)
    }

    static func tcpKey(_ n: Int) -> FlowKey {
        var key = udpKey(n)
        key.protocol = .tcp
        return key
    }

    /// `count` targets in slots 0..<count, identity = slot, all with `health`.
    static func selection(_ count: Int, health: TargetHealth = .healthy, policy: FailoverPolicy = FailoverPolicy(),
                          overrides: [Int: TargetHealth] = [:]) -> TargetSelection {
        TargetSelection(targets: (0..<count).map { (TargetSlot($0), UInt64(0xC612_0000 + $0), overrides[$0] ?? health) },
                        policy: policy)
    }
}

extension FlowTable {
    /// Lookup, and insert when absent: the two-step use the tracker makes.
    func findOrInsert(_ key: FlowKey, target: TargetSlot = TargetSlot(0), isTCP: Bool = false, now: UInt32) -> FlowHandle? {
        switch lookup(key, hash: hasher.hash(key), now: now) {
        case .found(let handle): return handle
        case .absent(let point): return insert(key, at: point, target: target, isTCP: isTCP, now: now)
        }
    }

    func find(_ key: FlowKey, now: UInt32) -> FlowHandle? {
        if case .found(let handle) = lookup(key, hash: hasher.hash(key), now: now) { return handle }
        return nil
    }
}
