#if canImport(Glibc)
import Glibc
#endif

/// Memory for large tables, on transparent huge pages where the kernel allows (madvise mode).
/// A lookup in a million-flow table lands on a random page; with 4 KiB pages each one also misses
/// the TLB, with 2 MiB pages almost none do.
enum HugePageMemory {
    static let hugePageSize = 2 << 20

    /// Uninitialized memory for `count` values of `T`, 2 MiB aligned when large. Release with `free`.
    static func allocate<T>(_ type: T.Type, count: Int) -> UnsafeMutablePointer<T> {
        let byteCount = max(1, count * MemoryLayout<T>.stride)
        let alignment = byteCount >= hugePageSize ? hugePageSize : max(MemoryLayout<T>.alignment, 16)
        var raw: UnsafeMutableRawPointer?
        guard posix_memalign(&raw, alignment, byteCount) == 0, let raw else {
            fatalError("cannot allocate \(byteCount) bytes for a flow table")
        }
        if byteCount >= hugePageSize {
            // Advice only: without THP the table works the same, just with more TLB misses.
            _ = madvise(raw, byteCount, MADV_HUGEPAGE)
        }
        return raw.bindMemory(to: T.self, capacity: count)
    }

    static func free<T>(_ pointer: UnsafeMutablePointer<T>) {
        Glibc.free(UnsafeMutableRawPointer(pointer))
    }
}
