import Wire

/// The open-addressing index behind `FlowTable`: linear probing from a home slot, each slot an
/// entry's index and a tag of its hash, backward-shift deletion.
extension FlowTable {

    @inline(__always)
    func homeSlot(_ hash: UInt64) -> Int {
        // Lemire's multiply-shift range reduction: no division, any slot count.
        Int(((hash & 0xFFFF_FFFF) &* UInt64(slotCount)) >> 32)
    }

    func insertionPoint(_ hash: UInt64) -> FlowInsertionPoint {
        var slot = homeSlot(hash)
        while slots[slot] != 0 { slot = slot + 1 == slotCount ? 0 : slot + 1 }
        return FlowInsertionPoint(slot: slot, tag: UInt32(truncatingIfNeeded: hash >> 56) << 24)
    }

    /// The index slot that points at live entry `index`.
    func slot(of index: Int) -> Int {
        let target = UInt32(index + 1)
        var slot = homeSlot(hasher.hash(entries[index].key))
        while slots[slot] & Self.indexMask != target { slot = slot + 1 == slotCount ? 0 : slot + 1 }
        return slot
    }

    func expireEntry(_ index: Int, slot: Int) {
        let entry = entries[index]
        onRelease(FlowHandle(index: index), entry)
        freeEntry(index, slot: slot)
        counters.expired += 1
        onExpire(entry)
    }

    @inline(__always)
    func countProtocol(of key: FlowKey, _ change: Int) {
        if key.protocol == .tcp { counters.activeTCP += change } else if key.protocol == .udp { counters.activeUDP += change }
    }

    func freeEntry(_ index: Int, slot: Int) {
        countProtocol(of: entries[index].key, -1)
        countTarget(entries[index].target, -1)
        deleteSlot(slot)
        entries[index].flags = []
        entries[index].lastSeen = freeHead
        freeHead = UInt32(index)
        count -= 1
    }

    /// Backward-shift deletion (Knuth 6.4 algorithm R): later members of the probe run move back
    /// into the hole unless that would put them before their home slot.
    func deleteSlot(_ start: Int) {
        var hole = start
        var probe = start
        while true {
            probe = probe + 1 == slotCount ? 0 : probe + 1
            let value = slots[probe]
            if value == 0 { break }
            let home = homeSlot(hasher.hash(entries[Int(value & Self.indexMask) - 1].key))
            // Move when home is not in the cyclic range (hole, probe].
            let stays = hole <= probe ? (hole < home && home <= probe) : (hole < home || home <= probe)
            if !stays {
                slots[hole] = value
                hole = probe
            }
        }
        slots[hole] = 0
    }
}
