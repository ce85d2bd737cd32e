public import CairnCore

/// Passes simulated days on to another sink no faster than `speed` times real time: with `speed` 86,400 a
/// simulated day takes a second. Each `write` is one day (see `Simulation.write(to:)`). Event timestamps stay the
/// simulated ones; only the pace changes.
public actor PacedSink<Inner: EventSink>: EventSink {
    let inner: Inner
    let secondsPerDay: Double
    let start = ContinuousClock.now
    var days = 0

    /// - Parameter speed: simulated seconds per real second; must be positive.
    public init(_ inner: Inner, speed: Double) {
        self.inner = inner
        secondsPerDay = 86_400 / speed
    }

    public func write(_ events: [AccountEvent]) async throws {
        // Day k is passed on at k days of simulated time after the start.
        try await Task.sleep(until: start + .seconds(secondsPerDay * Double(days)), clock: .continuous)
        days += 1
        try await inner.write(events)
    }

    public func finish() async throws {
        try await inner.finish()
    }
}
