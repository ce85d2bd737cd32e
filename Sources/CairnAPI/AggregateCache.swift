import Foundation

/// Encoded answers of the aggregate endpoints (funnel, health distribution and trend, cohorts), each computed at most
/// once per `maxAge` by this process however many clients ask.
///
/// An aggregate reads every account (or every day of every account's health history): at 100k accounts one takes
/// hundreds of milliseconds of database time, so answering each request with a fresh query would let a few
/// dashboards saturate the database. Instead a request gets the last answer computed for its key; when that answer
/// is older than `maxAge` one new computation starts, and the requests that arrive while it runs still get the last
/// answer (up to `staleLimit` old; beyond that they wait for the new one). Requests for a key with no answer yet share
/// one computation. Responses carry the answer's age in seconds (HTTP `Age`), so a client knows how fresh it is.
actor AggregateCache {
    /// An answer and how old it is.
    struct Answer: Sendable {
        let body: Data
        let age: Duration
    }

    private struct Entry {
        var body: Data?
        /// When the computation that produced `body` started (the answer reflects the database at about that time).
        var computedAt: ContinuousClock.Instant
        var lastUsed: ContinuousClock.Instant
        var refresh: Task<Data, any Error>?
    }

    let maxAge: Duration
    let staleLimit: Duration
    /// Keys held at most (keys include request parameters such as a segment name, so they are bounded).
    let capacity: Int
    private var entries: [String: Entry] = [:]
    private let clock = ContinuousClock()

    init(maxAge: Duration, staleLimit: Duration, capacity: Int = 256) {
        precondition(maxAge <= staleLimit, "maxAge must not exceed staleLimit")
        self.maxAge = maxAge
        self.staleLimit = staleLimit
        self.capacity = capacity
    }

    /// The answer for `key`: the cached one when it is fresh enough, else from `compute` (shared with any other
    /// request for the same key that is waiting for it).
    func answer(_ key: String, compute: @escaping @Sendable () async throws -> Data) async throws -> Answer {
        let now = clock.now
        if var entry = entries[key] {
            entry.lastUsed = now
            entries[key] = entry
            if let body = entry.body {
                let age = now - entry.computedAt
                if age >= maxAge && entry.refresh == nil { _ = startRefresh(key, compute) }
                if age < staleLimit { return Answer(body: body, age: age) }
            }
        }
        let task = entries[key]?.refresh ?? startRefresh(key, compute)
        let body = try await task.value
        return Answer(body: body, age: clock.now - (entries[key]?.computedAt ?? clock.now))
    }

    /// Keys held now (for tests).
    var count: Int { entries.count }

    private func startRefresh(_ key: String, _ compute: @escaping @Sendable () async throws -> Data) -> Task<Data, any Error> {
        let started = clock.now
        let task = Task {
            do {
                let body = try await compute()
                self.finished(key, body: body, started: started)
                return body
            } catch {
                self.failed(key)
                throw error
            }
        }
        if entries[key] == nil {
            evictIfFull()
            entries[key] = Entry(body: nil, computedAt: started, lastUsed: started)
        }
        entries[key]?.refresh = task
        return task
    }

    private func finished(_ key: String, body: Data, started: ContinuousClock.Instant) {
        guard var entry = entries[key] else { return }
        entry.body = body
        entry.computedAt = started
        entry.refresh = nil
        entries[key] = entry
    }

    /// A failed computation leaves the last answer in place (still served until `staleLimit`); the next request
    /// tries again.
    private func failed(_ key: String) {
        entries[key]?.refresh = nil
        if entries[key]?.body == nil { entries[key] = nil }
    }

    /// Makes room for one more key: drops the least recently asked-for keys that are not being computed.
    private func evictIfFull() {
        guard entries.count >= capacity else { return }
        let idle = entries.filter { $0.value.refresh == nil }.sorted { $0.value.lastUsed < $1.value.lastUsed }
        for (key, _) in idle.prefix(entries.count - capacity + 1) { entries[key] = nil }
    }
}
