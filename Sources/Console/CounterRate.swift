/// A per-second rate from a counter sampled now and then, as the console computes every rate from
/// the stream's counters. A counter that went down was reset (gwlbd restarted): the rate counts
/// from zero, never negative.
public struct CounterRate: Sendable {
    private var last: (value: UInt64, time: Double)?
    /// The latest rate; nil until two samples.
    public private(set) var perSecond: Double?

    public init() {}

    public mutating func sample(_ value: UInt64, at time: Double) {
        defer { last = (value, time) }
        guard let last, time > last.time else { return }
        let delta = value >= last.value ? value - last.value : value
        perSecond = Double(delta) / (time - last.time)
    }
}
