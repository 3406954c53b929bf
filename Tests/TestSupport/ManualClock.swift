/// A clock tests move by hand: seconds, as `FlowTable` takes them.
public struct ManualClock {
    public var now: UInt32

    public init(now: UInt32 = 1_000) { self.now = now }

    public mutating func advance(by seconds: UInt32) { now += seconds }
}
