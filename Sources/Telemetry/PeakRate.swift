/// CloudWatch's Peak…PerSecond: the highest 10-second average rate within the last minute, from
/// a running total sampled about once a second.
public struct PeakRate: Sendable {
    public static let window = 10.0
    public static let horizon = 60.0
    /// Start of the current window: time and total.
    private var windowStart: (time: Double, total: UInt64)?
    /// Finished windows: end time and average rate.
    private var averages: [(end: Double, rate: Double)] = []

    public init() {}

    /// Takes the total at `time` (seconds, monotonic); returns the peak now.
    public mutating func sample(total: UInt64, at time: Double) -> Double {
        guard let start = windowStart, total >= start.total else {
            windowStart = (time, total)  // first sample, or the total went back (a restart)
            return peak(at: time)
        }
        if time - start.time >= Self.window {
            averages.append((time, Double(total - start.total) / (time - start.time)))
            windowStart = (time, total)
        }
        return peak(at: time)
    }

    private mutating func peak(at time: Double) -> Double {
        averages.removeAll { time - $0.end > Self.horizon }
        return averages.map(\.rate).max() ?? 0
    }
}
