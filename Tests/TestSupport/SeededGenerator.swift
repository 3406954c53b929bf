import Flows

/// Reproducible randomness for tests: the flow engine's own SplitMix64 with a fixed seed.
public typealias SeededGenerator = SplitMix64
