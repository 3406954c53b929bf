import Synchronization

/// The one ring between two threads in gwlb: one producer, one consumer, a fixed number of slots,
/// no locks, never waiting. Each slot holds a `Header` and, when the ring has `slotSize` bytes per
/// slot, up to that many bytes (a packet). Used for packets handed between workers, captured
/// packets on their way to the API, and flow-log records on their way to the writer.
///
/// `tail` counts pushes and is written by the producer only; `head` counts slots freed and is
/// written by the consumer only. A slot is written only by the producer, after it loaded `head`
/// (acquiring: the consumer is done with the slot) and before it stores `tail` (releasing); it is
/// read only by the consumer, after it loaded `tail` (acquiring: the producer's writes are seen)
/// and before it stores `head` (releasing). The counters grow without wrapping (2^63 pushes).
final class SPSCRing<Header>: @unchecked Sendable {
    // @unchecked: slot memory is shared, ordered by the protocol above.
    let capacity: Int
    let slotSize: Int
    private let headers: UnsafeMutablePointer<Header>
    private let lengths: UnsafeMutablePointer<Int>
    private let bytes: UnsafeMutableRawPointer
    private let head = Atomic<Int>(0)
    // Keeps `head` and `tail` on separate cache lines: each thread writes one of them.
    private let padding: (Int, Int, Int, Int, Int, Int, Int, Int) = (0, 0, 0, 0, 0, 0, 0, 0)
    private let tail = Atomic<Int>(0)

    /// `filler` initializes the header slots (never read before a push writes them).
    init(capacity: Int, slotSize: Int = 0, filler: Header) {
        precondition(capacity > 0 && slotSize >= 0)
        self.capacity = capacity
        self.slotSize = slotSize
        headers = .allocate(capacity: capacity)
        headers.initialize(repeating: filler, count: capacity)
        lengths = .allocate(capacity: capacity)
        lengths.initialize(repeating: 0, count: capacity)
        bytes = .allocate(byteCount: max(1, capacity * slotSize), alignment: 64)
    }

    deinit {
        headers.deinitialize(count: capacity)
        headers.deallocate()
        lengths.deallocate()
        bytes.deallocate()
    }

    /// Producer: copies `header` and `payload` into the next slot. False when the ring is full or
    /// the payload is larger than a slot (the caller counts what it could not hand over).
    @inline(__always)
    func push(_ header: Header, _ payload: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0)) -> Bool {
        let tail = self.tail.load(ordering: .relaxed)
        guard tail - head.load(ordering: .acquiring) < capacity, payload.count <= slotSize else { return false }
        let index = tail % capacity
        // Safe: index < capacity, and payload.count <= slotSize bytes fit the slot.
        if let source = payload.baseAddress, payload.count > 0 { (bytes + index * slotSize).copyMemory(from: source, byteCount: payload.count) }
        headers[index] = header
        lengths[index] = payload.count
        self.tail.store(tail + 1, ordering: .releasing)
        return true
    }

    var isEmpty: Bool { head.load(ordering: .relaxed) == tail.load(ordering: .acquiring) }

    /// Consumer: hands each waiting slot to `body` (at most `limit`, oldest first), then frees
    /// them all at once. The bytes are valid only during the call. Returns how many.
    @discardableResult @inline(__always)
    func drain(limit: Int = .max, _ body: (Header, UnsafeRawBufferPointer) -> Void) -> Int {
        let head = self.head.load(ordering: .relaxed)
        let available = min(limit, tail.load(ordering: .acquiring) - head)
        for offset in 0..<available {
            let index = (head + offset) % capacity
            // Safe: index < capacity; the producer wrote this slot before its store of `tail`.
            body(headers[index], UnsafeRawBufferPointer(start: bytes + index * slotSize, count: lengths[index]))
        }
        self.head.store(head + available, ordering: .releasing)
        return available
    }
}
