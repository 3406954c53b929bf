#if canImport(Glibc)
import Glibc
#endif

/// The two times a worker reads once per loop: monotonic seconds for flow timers, wall-clock
/// nanoseconds for drop records.
public struct DataPlaneTime: Sendable, Hashable {
    public var seconds: UInt32
    public var wallNanoseconds: Int64

    public init(seconds: UInt32, wallNanoseconds: Int64) {
        self.seconds = seconds
        self.wallNanoseconds = wallNanoseconds
    }

    /// Now. Monotonic seconds start at 1 so that 0 never looks like a real time.
    public static func now() -> DataPlaneTime {
        var monotonic = timespec(), wall = timespec()
        clock_gettime(CLOCK_MONOTONIC, &monotonic)
        clock_gettime(CLOCK_REALTIME, &wall)
        return DataPlaneTime(seconds: UInt32(truncatingIfNeeded: monotonic.tv_sec) &+ 1,
                             wallNanoseconds: Int64(wall.tv_sec) * 1_000_000_000 + Int64(wall.tv_nsec))
    }
}
