#if canImport(Glibc)
import Glibc
#endif
import Flows

/// The data plane's state that outlives gwlbd: every worker's flow entries and their traffic, the
/// keys of the flow hash and of the cookies, and a record the control side keeps there (target and
/// endpoint slots, health), in one file under `/dev/shm` (README "Restarts keep every flow").
/// A gwlbd that starts on a file built for the same layout takes the flows over, so established
/// connections continue and returns with earlier cookies are accepted; any other file is replaced
/// (a cold start) and `start` says why. Flow timestamps are CLOCK_MONOTONIC seconds, valid across
/// processes within one boot; a reboot empties `/dev/shm`.
///
/// Layout: a 4 KiB header, two control records (written alternately, so a process killed while
/// writing one leaves the other), then each worker's entries and traffic, 2 MiB aligned.
public final class SharedFlowState: @unchecked Sendable {
    // @unchecked: the header and keys are immutable after init; each worker's memory belongs to
    // that worker's table; the control records are written under the control plane's lock only.

    /// What the file must have been built for to be taken over.
    public struct Layout: Hashable, Sendable {
        public var workers: Int
        public var flowsPerWorker: Int
        public var targetSlots: Int

        public init(workers: Int, flowsPerWorker: Int, targetSlots: Int) {
            self.workers = workers
            self.flowsPerWorker = flowsPerWorker
            self.targetSlots = targetSlots
        }
    }

    public enum Start: Hashable, Sendable {
        /// No file was there.
        case created
        /// An earlier gwlbd's flows, taken over.
        case resumed
        /// A file was there but could not be taken over, for this reason; replaced.
        case cold(reason: String)
    }

    public let path: String
    public let layout: Layout
    public let start: Start
    public let hasher: FlowHasher
    public let cookies: FlowCookieCodec

    private let descriptor: Int32
    private let base: UnsafeMutableRawPointer
    private let size: Int

    /// Version of the file's layout; a change of `FlowEntry`, `FlowTraffic` or of this layout bumps it.
    public static let layoutVersion: UInt64 = 1
    static let magic: UInt64 = 0x314D_4853_424C_5747  // "GWLBSHM1"
    static let headerSize = 4096
    /// Each control record's room, header included.
    public static let controlRecordSize = 1 << 20
    static let alignment = 2 << 20

    /// Opens (or makes) the file at `path`, 0600, and locks it: one gwlbd per file.
    public init(path: String, layout: Layout) throws(SharedStateError) {
        precondition(_isPOD(FlowEntry.self) && _isPOD(FlowTraffic.self), "shared flow memory holds plain values only")
        self.path = path
        self.layout = layout
        size = Self.size(of: layout)
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw SharedStateError("cannot open \(path): \(String(cString: strerror(errno)))") }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            throw SharedStateError("another gwlbd holds \(path)")
        }
        _ = fchmod(descriptor, 0o600)
        var status = stat()
        fstat(descriptor, &status)
        let existing = Int(status.st_size)
        var start: Start = .created
        if existing > 0 {
            let reason = Self.problem(descriptor: descriptor, fileSize: existing, layout: layout)
            start = reason.map { .cold(reason: $0) } ?? .resumed
        }
        if start != .resumed {
            // Truncating to zero first gives zero-filled memory: every entry free.
            guard ftruncate(descriptor, 0) == 0, ftruncate(descriptor, off_t(size)) == 0 else {
                close(descriptor)
                throw SharedStateError("cannot size \(path) to \(size) bytes: \(String(cString: strerror(errno)))")
            }
        }
        guard let mapped = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, descriptor, 0), mapped != MAP_FAILED else {
            close(descriptor)
            throw SharedStateError("cannot map \(path): \(String(cString: strerror(errno)))")
        }
        self.descriptor = descriptor
        base = mapped
        self.start = start
        if start != .resumed { Self.writeHeader(at: mapped, layout: layout) }
        let keys = (0..<6).map { mapped.load(fromByteOffset: Header.keys + 8 * $0, as: UInt64.self) }
        hasher = FlowHasher(key0: keys[0], key1: keys[1])
        cookies = FlowCookieCodec(capacity: layout.flowsPerWorker, ownerBits: DataPlane.ownerBits(workers: layout.workers),
                                  roundKeys: (keys[2], keys[3], keys[4], keys[5]))
        _ = madvise(mapped + Self.tablesOffset, size - Self.tablesOffset, MADV_HUGEPAGE)
    }

    deinit {
        munmap(base, size)
        close(descriptor)
    }

    /// Worker `worker`'s entries and traffic, to be taken over when the file was.
    public func tableMemory(worker: Int) -> FlowTableMemory {
        precondition(worker < layout.workers)
        let (entries, traffic) = Self.tableOffsets(worker: worker, layout: layout)
        return FlowTableMemory(entries: (base + entries).bindMemory(to: FlowEntry.self, capacity: layout.flowsPerWorker),
                               traffic: (base + traffic).bindMemory(to: FlowTraffic.self, capacity: layout.flowsPerWorker),
                               adopt: start == .resumed, written: start == .resumed ? writtenEntries(from: entries) : 0)
    }

    /// Linux's lseek whences (Glibc exports them only with _GNU_SOURCE).
    static let seekData: Int32 = 3, seekHole: Int32 = 4

    /// How many entries from `offset` on the file holds data for: the end of its last data extent
    /// there (SEEK_DATA/SEEK_HOLE; the rest are holes, never written, zero). A table takes over
    /// only those: reading a hole of a shared mapping would give it a page, so scanning a whole
    /// million-entry table would fill 64 MiB per worker and take a third of a second.
    private func writtenEntries(from offset: Int) -> Int {
        let end = offset + layout.flowsPerWorker * MemoryLayout<FlowEntry>.stride
        var position = off_t(offset), written = offset
        while Int(position) < end {
            let data = lseek(descriptor, position, Self.seekData)
            guard data >= 0, Int(data) < end else { break }
            let hole = lseek(descriptor, data, Self.seekHole)
            guard hole > data else { return layout.flowsPerWorker }  // cannot tell: read them all
            written = min(end, Int(hole))
            position = hole
        }
        return (written - offset + MemoryLayout<FlowEntry>.stride - 1) / MemoryLayout<FlowEntry>.stride
    }

    /// Lets another gwlbd open the file (a takeover: this process's workers have stopped and its
    /// control plane is frozen, so nothing here writes to it any more).
    public func unlock() { _ = flock(descriptor, LOCK_UN) }

    /// Takes the file back after a takeover that did not complete; false if another gwlbd has it.
    public func relock() -> Bool { flock(descriptor, LOCK_EX | LOCK_NB) == 0 }

    /// Removes the file (`gwlbd --cleanup`, or a test when done).
    public static func remove(path: String) { unlink(path) }

    // MARK: Control records

    /// The newest intact control record, if any.
    public func readControlRecord() -> [UInt8]? {
        let records = (0..<2).compactMap { readRecord($0) }
        return records.max { $0.sequence < $1.sequence }?.bytes
    }

    /// Writes `bytes` over the older record; false when they do not fit.
    @discardableResult
    public func writeControlRecord(_ bytes: [UInt8]) -> Bool {
        guard bytes.count <= Self.controlRecordSize - 24 else { return false }
        let sequences = (0..<2).map { readRecord($0)?.sequence ?? 0 }
        let target = sequences[0] <= sequences[1] ? 0 : 1
        let record = base + Self.headerSize + target * Self.controlRecordSize
        // Invalidate, write the bytes, then seal: a process killed in between leaves this record
        // unreadable and the other one intact.
        record.storeBytes(of: 0, as: UInt64.self)
        bytes.withUnsafeBytes { (record + 24).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        record.storeBytes(of: UInt64(bytes.count), toByteOffset: 8, as: UInt64.self)
        record.storeBytes(of: Self.checksum(UnsafeRawBufferPointer(start: record + 24, count: bytes.count)), toByteOffset: 16, as: UInt64.self)
        record.storeBytes(of: max(sequences[0], sequences[1]) + 1, as: UInt64.self)
        return true
    }

    private func readRecord(_ number: Int) -> (sequence: UInt64, bytes: [UInt8])? {
        let record = UnsafeRawPointer(base + Self.headerSize + number * Self.controlRecordSize)
        let sequence = record.load(as: UInt64.self), length = Int(record.load(fromByteOffset: 8, as: UInt64.self))
        guard sequence > 0, length <= Self.controlRecordSize - 24 else { return nil }
        let bytes = UnsafeRawBufferPointer(start: record + 24, count: length)
        guard Self.checksum(bytes) == record.load(fromByteOffset: 16, as: UInt64.self) else { return nil }
        return (sequence, Array(bytes))
    }

    // MARK: Layout

    /// Byte offsets of the header's fields.
    enum Header {
        static let magic = 0, version = 8, workers = 16, flowsPerWorker = 24, targetSlots = 32, entryStride = 40, trafficStride = 48
        static let keys = 56  // six UInt64: the flow hash's two, the cookies' four
        static let checksum = 104
        static let end = 112
    }

    static var tablesOffset: Int { align(headerSize + 2 * controlRecordSize) }

    static func align(_ offset: Int) -> Int { (offset + alignment - 1) / alignment * alignment }

    static func tableOffsets(worker: Int, layout: Layout) -> (entries: Int, traffic: Int) {
        let entries = align(layout.flowsPerWorker * MemoryLayout<FlowEntry>.stride)
        let traffic = align(layout.flowsPerWorker * MemoryLayout<FlowTraffic>.stride)
        let start = tablesOffset + worker * (entries + traffic)
        return (start, start + entries)
    }

    static func size(of layout: Layout) -> Int { tableOffsets(worker: layout.workers, layout: layout).entries }

    /// What `layout` writes into the header, field by field (keys and checksum aside).
    static func expectedFields(_ layout: Layout) -> [(offset: Int, value: UInt64, name: String)] {
        [(Header.version, layoutVersion, "layout version"), (Header.workers, UInt64(layout.workers), "workers"),
         (Header.flowsPerWorker, UInt64(layout.flowsPerWorker), "flows per worker"),
         (Header.targetSlots, UInt64(layout.targetSlots), "target slots"),
         (Header.entryStride, UInt64(MemoryLayout<FlowEntry>.stride), "bytes per flow entry"),
         (Header.trafficStride, UInt64(MemoryLayout<FlowTraffic>.stride), "bytes per flow's traffic")]
    }

    static func writeHeader(at base: UnsafeMutableRawPointer, layout: Layout) {
        var generator = SystemRandomNumberGenerator()
        base.storeBytes(of: magic, toByteOffset: Header.magic, as: UInt64.self)
        for field in expectedFields(layout) { base.storeBytes(of: field.value, toByteOffset: field.offset, as: UInt64.self) }
        for key in 0..<6 { base.storeBytes(of: generator.next() as UInt64, toByteOffset: Header.keys + 8 * key, as: UInt64.self) }
        base.storeBytes(of: checksum(UnsafeRawBufferPointer(start: base, count: Header.checksum)), toByteOffset: Header.checksum, as: UInt64.self)
    }

    /// Why the file open at `descriptor` cannot be taken over for `layout`; nil when it can.
    static func problem(descriptor: Int32, fileSize: Int, layout: Layout) -> String? {
        var header = [UInt8](repeating: 0, count: Header.end)
        let read = header.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, Header.end, 0) }
        guard read == Header.end else { return "damaged: shorter than its header (\(fileSize) bytes)" }
        return header.withUnsafeBytes { problem(header: $0, fileSize: fileSize, layout: layout) }
    }

    /// The checks themselves, in the order a reader would want them named.
    public static func problem(header: UnsafeRawBufferPointer, fileSize: Int, layout: Layout) -> String? {
        guard header.count >= Header.end else { return "damaged: shorter than its header (\(header.count) bytes)" }
        let field = { (offset: Int) in header.loadUnaligned(fromByteOffset: offset, as: UInt64.self) }
        guard field(Header.magic) == magic else { return "not gwlbd's shared flow state (no magic)" }
        guard field(Header.checksum) == checksum(UnsafeRawBufferPointer(rebasing: header[..<Header.checksum])) else {
            return "damaged header (checksum mismatch)"
        }
        for expected in expectedFields(layout) where field(expected.offset) != expected.value {
            return "built for \(field(expected.offset)) \(expected.name), this gwlbd has \(expected.value)"
        }
        guard fileSize == size(of: layout) else { return "size \(fileSize) bytes, \(size(of: layout)) expected" }
        return nil
    }

    /// FNV-1a, 64 bits: catches torn and damaged writes (not an adversary: the file is 0600).
    static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return hash
    }
}

public struct SharedStateError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
