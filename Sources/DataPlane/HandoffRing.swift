import PacketIO
import Synchronization

/// Passes packets from one worker to another (single producer, single consumer, no locks): a
/// packet read by a worker that does not own its flow goes to the worker that does.
final class HandoffRing: @unchecked Sendable {
    // @unchecked: slots are written only by the producer between its load of `head` and its store
    // of `tail`, and read only by the consumer between its load of `tail` and its store of `head`;
    // the acquire/release pairs on those two atomics order every slot access.

    /// What a handed-off packet is.
    enum Kind: Equatable {
        /// Read from endpoint `Int` (the packet at the slot is an inner IP packet).
        case fromEndpoint(Int)
        /// Received on the GENEVE socket from this peer (the slot holds the whole datagram).
        case fromAppliance(UDPPeer)
    }

    let capacity: Int
    let slotSize: Int
    private let memory: UnsafeMutableRawPointer
    private let lengths: UnsafeMutablePointer<Int>
    private let kinds: UnsafeMutablePointer<Kind>
    private let head = Atomic<Int>(0)
    private let tail = Atomic<Int>(0)

    init(capacity: Int = 256, slotSize: Int = PacketBatch.defaultPacketCapacity) {
        self.capacity = capacity
        self.slotSize = slotSize
        memory = .allocate(byteCount: capacity * slotSize, alignment: 64)
        lengths = .allocate(capacity: capacity)
        lengths.initialize(repeating: 0, count: capacity)
        kinds = .allocate(capacity: capacity)
        kinds.initialize(repeating: .fromEndpoint(0), count: capacity)
    }

    deinit {
        memory.deallocate()
        lengths.deallocate()
        kinds.deallocate()
    }

    /// Producer: copies `packet` in. False when the ring is full (or the packet too large).
    func push(_ kind: Kind, _ packet: UnsafeRawBufferPointer) -> Bool {
        let tail = self.tail.load(ordering: .relaxed)
        guard tail - head.load(ordering: .acquiring) < capacity, packet.count <= slotSize else { return false }
        let index = tail % capacity
        UnsafeMutableRawBufferPointer(start: memory + index * slotSize, count: packet.count).copyMemory(from: packet)
        lengths[index] = packet.count
        kinds[index] = kind
        self.tail.store(tail + 1, ordering: .releasing)
        return true
    }

    var isEmpty: Bool { head.load(ordering: .relaxed) == tail.load(ordering: .acquiring) }

    /// Consumer: hands each waiting packet to `body` (at most `limit`), then frees their slots.
    func drain(limit: Int, _ body: (Kind, UnsafeRawBufferPointer) -> Void) -> Int {
        let head = self.head.load(ordering: .relaxed)
        let available = min(limit, tail.load(ordering: .acquiring) - head)
        for offset in 0..<available {
            let index = (head + offset) % capacity
            body(kinds[index], UnsafeRawBufferPointer(start: memory + index * slotSize, count: lengths[index]))
        }
        self.head.store(head + available, ordering: .releasing)
        return available
    }
}
