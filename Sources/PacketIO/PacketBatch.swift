import Wire

/// A UDP peer: IPv4 address and port.
public struct UDPPeer: Hashable, Sendable, CustomStringConvertible {
    public var address: IPv4Address
    public var port: UInt16

    public init(address: IPv4Address, port: UInt16) {
        self.address = address
        self.port = port
    }

    public var description: String { "\(address):\(port)" }
}

/// Preallocated packet buffers for one batch: `capacity` slots of `slotSize` bytes, each with
/// `headroom` bytes in front of where a read puts the packet, so that headers (GENEVE) can be
/// written in place before it. Per slot: where the data starts, its length and its UDP peer.
/// Owned by one worker; nothing here allocates after init.
public final class PacketBatch {
    /// Largest packet a slot holds after its headroom: above the lab's 9001-byte links.
    public static let defaultPacketCapacity = 9216
    /// GENEVE with AWS's options plus an outer IPv4 and UDP header, rounded up to a cache line.
    public static let defaultHeadroom = 128

    public let capacity: Int
    public let headroom: Int
    public let slotSize: Int
    public let offsets: UnsafeMutableBufferPointer<Int>
    public let lengths: UnsafeMutableBufferPointer<Int>
    public let peers: UnsafeMutableBufferPointer<UDPPeer>
    /// Per slot: 0 for one datagram, else the size of the datagrams the kernel coalesced into it
    /// (UDP GRO): the slot holds `lengths / segmentSizes` of them back to back, the last maybe shorter.
    public let segmentSizes: UnsafeMutableBufferPointer<Int>
    /// Number of slots in use.
    public var count = 0
    private let memory: UnsafeMutableRawPointer

    public init(capacity: Int = 64, packetCapacity: Int = PacketBatch.defaultPacketCapacity,
                headroom: Int = PacketBatch.defaultHeadroom) {
        self.capacity = capacity
        self.headroom = headroom
        slotSize = (headroom + packetCapacity + 63) & ~63
        memory = .allocate(byteCount: capacity * slotSize, alignment: 64)
        offsets = .allocate(capacity: capacity)
        offsets.initialize(repeating: headroom)
        lengths = .allocate(capacity: capacity)
        lengths.initialize(repeating: 0)
        peers = .allocate(capacity: capacity)
        peers.initialize(repeating: UDPPeer(address: IPv4Address(rawValue: 0), port: 0))
        segmentSizes = .allocate(capacity: capacity)
        segmentSizes.initialize(repeating: 0)
    }

    deinit {
        memory.deallocate()
        offsets.deallocate()
        lengths.deallocate()
        peers.deallocate()
        segmentSizes.deallocate()
    }

    /// The whole of slot `index`, headroom included.
    @inline(__always)
    public func slot(_ index: Int) -> UnsafeMutableRawBufferPointer {
        // Safe: index < capacity is the caller's contract; each slot is slotSize bytes of `memory`.
        UnsafeMutableRawBufferPointer(start: memory + index * slotSize, count: slotSize)
    }

    /// Where reads put data in slot `index` (after the headroom), with room for a whole packet.
    @inline(__always)
    public func readArea(_ index: Int) -> UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(start: memory + index * slotSize + headroom, count: slotSize - headroom)
    }

    /// The data of slot `index`: `lengths[index]` bytes from `offsets[index]`.
    @inline(__always)
    public func data(_ index: Int) -> UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(start: memory + index * slotSize + offsets[index], count: lengths[index])
    }
}
