/// A per-second rate from a counter sampled now and then, as the console computes every rate from
/// the stream's counters: over the last interval, or over a window (2, 10 or 40 s, as iftop shows
/// them). A counter that went down was reset (gwlbd restarted): the rate counts from zero, never
/// negative.
public struct CounterRate: Sendable {
    private var last: (value: UInt64, time: Double)?
    /// The counter's increases summed, resets included, at each sample within the longest window.
    private var history: [(time: Double, total: UInt64)] = []
    /// The latest rate; nil until two samples.
    public private(set) var perSecond: Double?
    /// The windows the console offers (`w` cycles them).
    public static let windows: [Double] = [2, 10, 40]

    public init() {}

    public mutating func sample(_ value: UInt64, at time: Double) {
        defer { last = (value, time) }
        guard let last else {
            history = [(time, 0)]
            return
        }
        guard time > last.time else { return }
        let delta = value >= last.value ? value - last.value : value
        perSecond = Double(delta) / (time - last.time)
        history.append((time, (history.last?.total ?? 0) + delta))
        // Keep one sample at least the longest window old, and none older.
        while history.count > 2, time - history[1].time >= Self.windows.last! { history.removeFirst() }
    }

    /// The rate over the last `window` seconds (over what there is, while the history is shorter);
    /// nil until two samples.
    public func perSecond(over window: Double) -> Double? {
        guard let newest = history.last else { return nil }
        let start = history.last { newest.time - $0.time >= window } ?? history[0]
        guard newest.time > start.time else { return nil }
        return Double(newest.total - start.total) / (newest.time - start.time)
    }
}
