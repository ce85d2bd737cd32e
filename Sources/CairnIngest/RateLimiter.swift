import Synchronization

/// A token bucket: `rate` tokens a second, holding at most `capacity`. A value type, testable without a clock.
struct TokenBucket: Sendable {
    let rate: Double
    let capacity: Double
    private(set) var tokens: Double
    private var updated: ContinuousClock.Instant

    init(rate: Double, capacity: Double, now: ContinuousClock.Instant) {
        self.rate = rate
        self.capacity = capacity
        self.tokens = capacity
        self.updated = now
    }

    /// Takes `cost` tokens if the bucket allows it; otherwise how long to wait before the same request fits.
    ///
    /// A request costing more than the whole bucket is allowed once the bucket is full, and leaves it in debt,
    /// so a batch larger than the burst is slowed down rather than refused for ever.
    mutating func take(_ cost: Int, now: ContinuousClock.Instant) -> Duration? {
        let elapsed = now - updated
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        tokens = min(capacity, tokens + max(0, seconds) * rate)
        updated = now
        let needed = min(Double(cost), capacity)
        guard tokens >= needed else {
            return .milliseconds(Int64(((needed - tokens) / rate * 1000).rounded(.up)))
        }
        tokens -= Double(cost)
        return nil
    }
}

/// One token bucket per write key, counted in events (`CAIRN_INGEST_RATE_LIMIT`).
final class RateLimiter: Sendable {
    private let buckets: Mutex<[Int: TokenBucket]>
    private let rate: Double
    private let capacity: Double

    /// - Parameters:
    ///   - rate: events a second per key; 0 or less means no limit.
    ///   - burst: the unused allowance a key may save up.
    init(rate: Double, burst: Duration) {
        self.rate = rate
        let seconds = Double(burst.components.seconds) + Double(burst.components.attoseconds) / 1e18
        self.capacity = max(1, rate * seconds)
        self.buckets = Mutex([:])
    }

    /// Charges `cost` events to the key at `keyIndex`. Returns nil when allowed, else the whole seconds to wait
    /// (at least 1), for `Retry-After`.
    func take(keyIndex: Int, cost: Int, now: ContinuousClock.Instant = .now) -> Int? {
        guard rate > 0 else { return nil }
        let wait = buckets.withLock { buckets in
            var bucket = buckets[keyIndex] ?? TokenBucket(rate: rate, capacity: capacity, now: now)
            defer { buckets[keyIndex] = bucket }
            return bucket.take(cost, now: now)
        }
        guard let wait else { return nil }
        return max(1, Int(wait.components.seconds) + (wait.components.attoseconds > 0 ? 1 : 0))
    }
}
