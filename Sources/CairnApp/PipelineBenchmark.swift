import CairnAMQP
import CairnCore
import CairnRelay
import CairnStore
import CairnWorker
import Foundation
public import Logging
import PostgresNIO
import Synchronization

/// Measures, in one run on one broker: the raw broker pass-through (publish with confirms to a quorum queue while
/// a consumer acks, no work) and the end-to-end rate from AMQP publish to state committed in PostgreSQL by one
/// worker (with its outbox relay running, as in `cairn worker`). The ratio of the two is the figure to compare
/// across machines; absolute rates on shared machines are noisy.
public struct PipelineBenchmark: Sendable {
    public var events = 20_000
    /// Distinct accounts the events belong to; one end-to-end run per value.
    public var accountCounts = [1_000]
    /// Workers applying the events; one end-to-end run per value (and per account count).
    public var workerCounts = [1]
    /// Messages per publish call and publish calls in flight at once.
    public var chunk = 500
    public var chunksInFlight = 4
    /// Seconds of the event-to-health latency measurement, paced at half the one-worker end-to-end rate just
    /// measured (0 skips it).
    public var latencySeconds = 10
    /// Queue every event before any worker runs, then time the drain (the backlog after an outage), instead of
    /// publishing while the workers apply.
    public var backlog = false
    /// Run at each account count with that many accounts stored (copies of accounts the pipeline wrote), each run's
    /// events over `storedTouched` of them spread across the table, instead of over that many new accounts: the
    /// per-event cost against the size of the customer base stored, with the stream's shape the same in every run.
    public var stored = false
    /// Seconds of the memory measurement: a separate `cairn worker` process applies a steady stream (half the
    /// one-worker rate) while its resident set is read from /proc (0 skips it).
    public var memorySeconds = 0

    let settings: CairnSettings
    let logger: Logger

    public init(settings: CairnSettings, logger: Logger) {
        self.settings = settings
        self.logger = logger
    }

    public struct Result: Sendable, Codable {
        public struct Run: Sendable, Codable {
            public var accounts: Int
            public var workers: Int
            public var seconds: Double
            public var eventsPerSecond: Double
            /// End-to-end rate divided by the raw rate measured in the same run.
            public var ratio: Double
            /// Backlog runs: seconds to queue the whole stream before the workers started (`seconds` is the drain).
            public var queueSeconds: Double?
            /// Stored runs: the distinct accounts the events went to (`accounts` is how many were stored).
            public var touchedAccounts: Int?
            /// Seconds per event divided by those of the first run with as many workers.
            public var relativeCost: Double = 1
        }

        public var events: Int
        public var meanEventBytes: Int
        public var rawSeconds: Double
        public var rawMessagesPerSecond: Double
        /// The same pass-through through Cairn's topology: published to `cairn.events`, routed by account into the
        /// eight work queues, consumed from all of them with acks, no work. The broker's share of the end-to-end path.
        public var workQueueSeconds: Double
        public var workQueueMessagesPerSecond: Double
        public var runs: [Run]
        /// Stored runs: how long storing the accounts for each account count took (not part of any rate).
        public var storing: [StoringStep] = []
        public var healthLatency: LatencyRun?
        public var workerMemory: MemoryRun?
    }

    /// Event published to its account's health committed, for events sent at a steady rate.
    public struct LatencyRun: Sendable, Codable {
        public var accounts: Int
        public var workers: Int
        /// Events per second offered: half the end-to-end rate of the first one-worker run.
        public var offeredRate: Int
        public var events: Int
        public var seconds: Double
        /// How often the log is polled for committed events; a latency can read up to this much (plus one poll
        /// query) high.
        public var pollMilliseconds: Int
        public var latency: LatencySummary
    }

    /// A realistic mix: mostly product usage by several users per account, some identify calls with personas and
    /// a few business events, so the engine does its full work.
    func sample(runID: String, accounts: Int) -> [AccountEvent] {
        (0..<events).map { Self.event(index: $0, runID: runID, accounts: accounts) }
    }

    /// The `index`th event of a run's stream over `accounts` accounts of its own; message ids sort in stream order.
    static func event(index: Int, runID: String, accounts: Int) -> AccountEvent {
        event(index: index, runID: runID, account: "bench-\(runID)-\(index % accounts)", user: "user-\(index % (accounts * 5))")
    }

    static func event(index: Int, runID: String, account: String, user: String) -> AccountEvent {
        let start = Date(timeIntervalSince1970: 1_790_000_000)
        let at = start.addingTimeInterval(Double(index) * 30)
        let id = "bench-\(runID)-" + Self.sequence(index)
        switch index % 50 {
        case 0:
            return AccountEvent(messageId: id, type: .identify, accountId: account, userId: user, timestamp: at,
                                traits: ["role": .string(sampleRoles[(index / 50) % sampleRoles.count])])
        case 25:
            return AccountEvent(messageId: id, type: .track, event: sampleBusinessEvents[(index / 50) % sampleBusinessEvents.count],
                                accountId: account, userId: user, timestamp: at, properties: ["arr": 60_000, "score": 8, "priority": "low"])
        default:
            return AccountEvent(messageId: id, type: .track, event: index % 7 == 0 ? "Dashboard Shared" : "Report Exported",
                                accountId: account, userId: user, timestamp: at, properties: ["plan": "pro", "seats": 25])
        }
    }

    private static let sampleRoles = ["admin", "champion", "sponsor", "end_user", "end_user"]
    private static let sampleBusinessEvents = [
        CanonicalEvent.contractSigned, CanonicalEvent.kickoffCompleted, CanonicalEvent.npsSubmitted, CanonicalEvent.ticketOpened,
    ]

    public func run() async throws -> Result {
        let runID = String(UUID().uuidString.prefix(8).lowercased())
        let bodies = sample(runID: runID, accounts: accountCounts[0]).map { $0.encoded() }
        let meanBytes = bodies.map(\.count).reduce(0, +) / max(bodies.count, 1)
        let raw = try await measureRaw(bodies: bodies, runID: runID)
        let rawRate = Double(events) / raw
        logger.info("raw pass-through measured", metadata: ["cairn.seconds": "\(raw)"])
        let workQueues = try await measureWorkQueues(sample(runID: "\(runID)-queues", accounts: accountCounts[0]).map(Self.message))
        logger.info("work-queue pass-through measured", metadata: ["cairn.seconds": "\(workQueues)"])
        var runs: [Result.Run] = []
        var storing: [StoringStep] = []
        let touched = min(storedTouched, accountCounts.min() ?? storedTouched)
        for accounts in stored ? accountCounts.sorted() : accountCounts {
            if stored { storing.append(try await storeAccounts(accounts, templates: touched)) }
            for workers in workerCounts {
                let id = "\(runID)-\(accounts)-\(workers)"
                let stream = stored
                    ? storedSample(runID: id, stored: accounts, touched: touched, offset: runs.count)
                    : sample(runID: id, accounts: accounts)
                var queued: Double?
                let seconds: Double
                if backlog {
                    (queued, seconds) = try await measureBacklog(stream, runID: id, workers: workers)
                } else {
                    seconds = try await measureEndToEnd(stream, runID: id, workers: workers)
                }
                let rate = Double(events) / seconds
                let first = runs.first { $0.workers == workers }
                runs.append(.init(
                    accounts: accounts, workers: workers, seconds: seconds, eventsPerSecond: rate, ratio: rate / rawRate,
                    queueSeconds: queued, touchedAccounts: stored ? touched : nil,
                    relativeCost: first.map { $0.eventsPerSecond / rate } ?? 1))
                logger.info("end-to-end measured", metadata: ["cairn.accounts": "\(accounts)", "cairn.workers": "\(workers)"])
            }
        }
        var latency: LatencyRun?
        if latencySeconds > 0, let base = runs.first(where: { $0.workers == 1 }) ?? runs.first {
            let rate = max(1, Int(base.eventsPerSecond / 2))
            let id = "\(runID)-latency"
            let sample = sample(runID: id, accounts: base.accounts).prefix(min(events, rate * latencySeconds))
            latency = try await measureLatency(Array(sample), runID: id, rate: rate, accounts: base.accounts, workers: base.workers)
            logger.info("event-to-health latency measured", metadata: ["cairn.rate": "\(rate)"])
        }
        var memory: MemoryRun?
        if memorySeconds > 0, let base = runs.first(where: { $0.workers == 1 }) ?? runs.first {
            let rate = max(1, Int(base.eventsPerSecond / 2))
            memory = try await measureWorkerMemory(runID: "\(runID)-memory", rate: rate, accounts: base.accounts)
            logger.info("worker memory measured", metadata: ["cairn.rate": "\(rate)"])
        }
        return Result(
            events: events, meanEventBytes: meanBytes, rawSeconds: raw, rawMessagesPerSecond: rawRate,
            workQueueSeconds: workQueues, workQueueMessagesPerSecond: Double(events) / workQueues, runs: runs,
            storing: storing, healthLatency: latency, workerMemory: memory)
    }

    /// Message ids sort in publish order (the latency poll reads the log from the oldest event not yet seen).
    static func sequence(_ index: Int) -> String {
        let digits = String(index)
        return String(repeating: "0", count: max(0, 9 - digits.count)) + digits
    }

    /// Publish with confirms to `cairn.events` (no consumer): the rate HTTP ingest is measured against.
    /// Returns messages per second.
    public func measurePublish() async throws -> Double {
        let runID = UUID().uuidString.prefix(8).lowercased()
        let publisher = AMQPConnection(configuration: settings.amqp, topology: CairnTopology.core, logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await publisher.run() }
            defer { group.cancelAll() }
            let messages = (0..<events).map { index in
                let event = AccountEvent(
                    messageId: "publish-\(runID)-\(index)", type: .track, event: "Report Exported",
                    accountId: "bench-\(index % accountCounts[0])", userId: "user-\(index % (accountCounts[0] * 5))", timestamp: Date(),
                    receivedAt: Date(), properties: ["plan": "pro", "seats": 25])
                return AMQPMessage(exchange: CairnTopology.events, routingKey: event.routingKey, body: event.encoded(), messageID: event.messageId)
            }
            try await publisher.declare(CairnTopology.core)  // waits for the connection
            let clock = ContinuousClock()
            let began = clock.now
            try await publishPipelined(messages, on: publisher)
            return Double(events) / (clock.now - began).seconds
        }
    }

    /// Publish with confirms on one connection, consume with acks on another, no work: seconds for all messages.
    private func measureRaw(bodies: [[UInt8]], runID: String) async throws -> Double {
        let queue = "cairn.bench.raw.\(runID)"
        let messages = bodies.enumerated().map { index, body in
            AMQPMessage(exchange: "", routingKey: queue, body: body, messageID: "raw-\(runID)-\(index)")
        }
        return try await timePassThrough(messages, declaring: AMQPTopology(queues: [.quorum(queue)]), deletingAfter: queue) {
            await consumeAll($0, queue: queue, count: messages.count)
        }
    }

    /// Publish with confirms to `cairn.events` (routed by account into the work queues), consume with acks from every
    /// work queue on one connection, no work: seconds for all messages. Run while no worker consumes.
    private func measureWorkQueues(_ messages: [AMQPMessage]) async throws -> Double {
        try await timePassThrough(messages, declaring: CairnTopology.core) { consumer in
            let consumers = CairnTopology.eventQueues.map { consumer.consume(queue: $0, prefetch: 1000) }
            let received = Tally()
            await withTaskGroup(of: Void.self) { queues in
                for queue in consumers {
                    queues.addTask {
                        for await deliveries in queue {
                            if let last = deliveries.last { consumer.ack(last.tag, multiple: true) }
                            let total = received.add(deliveries.count)
                            // The last delivery stops every queue's consumer; what they still hold was acked above.
                            if total >= messages.count { consumers.forEach { $0.cancel() } }
                        }
                    }
                }
            }
        }
    }

    /// Seconds from the first publish until `consume`, on a connection of its own, has taken every message off: the
    /// messages are published with confirms, pipelined, once `topology` is declared; `deletingAfter` is removed after.
    private func timePassThrough(
        _ messages: [AMQPMessage], declaring topology: AMQPTopology, deletingAfter queue: String? = nil,
        consume: @escaping @Sendable (AMQPConnection) async -> Void
    ) async throws -> Double {
        let publisher = AMQPConnection(configuration: settings.amqp, logger: logger)
        let consumer = AMQPConnection(configuration: settings.amqp, logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await publisher.run() }
            group.addTask { try await consumer.run() }
            defer { group.cancelAll() }
            try await publisher.declare(topology)
            let clock = ContinuousClock()
            let began = clock.now
            async let consumed: Void = consume(consumer)
            try await publishPipelined(messages, on: publisher)
            await consumed
            let elapsed = clock.now - began
            if let queue { try await publisher.deleteQueue(queue) }
            return elapsed.seconds
        }
    }

    private func consumeAll(_ connection: AMQPConnection, queue: String, count: Int) async {
        var received = 0
        for await deliveries in connection.consume(queue: queue, prefetch: 1000) {
            received += deliveries.count
            if let last = deliveries.last { connection.ack(last.tag, multiple: true) }
            if received >= count { return }
        }
    }

    func publishPipelined(_ messages: [AMQPMessage], on connection: AMQPConnection) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            var inFlight = 0
            for offset in stride(from: 0, to: messages.count, by: chunk) {
                if inFlight == chunksInFlight {
                    try await group.next()
                    inFlight -= 1
                }
                let slice = Array(messages[offset..<min(offset + chunk, messages.count)])
                group.addTask { try await connection.publish(slice) }
                inFlight += 1
            }
            try await group.waitForAll()
        }
    }

    /// Publishes the events while `workers` workers (each with its own broker connection, as separate processes
    /// would have) apply them: seconds until the last one is committed.
    private func measureEndToEnd(_ sample: [AccountEvent], runID: String, workers: Int) async throws -> Double {
        try await withPipeline(workers: workers) { store, publisher in
            let prefix = "bench-\(runID)-"
            let clock = ContinuousClock()
            let began = clock.now
            try await publishPipelined(sample.map(Self.message), on: publisher)
            try await waitForAll(sample.count, store: store, prefix: prefix, began: began)
            return (clock.now - began).seconds
        }
    }

    /// Returns once `total` events of the run are committed. Polled about when half the rest should be done at the
    /// rate so far (every 50 ms to 1 s): the poll reads the run's index entries, and polling every 50 ms took 7% of
    /// PostgreSQL's time in a run, time taken from the workers it measures. The end is seen late only when the rest
    /// goes over twice as fast as what came before.
    func waitForAll(_ total: Int, store: Store, prefix: String, began: ContinuousClock.Instant) async throws {
        let clock = ContinuousClock()
        var done = try await count(store, prefix: prefix)
        var progressAt = clock.now
        while done < total {
            let elapsed = (clock.now - began).seconds
            let rate = Double(done) / max(elapsed, 0.001)
            let remaining = rate > 0 ? Double(total - done) / rate : 1
            try await Task.sleep(for: .milliseconds(Int(min(1_000, max(50, remaining * 500)))))
            let now = try await count(store, prefix: prefix)
            if now > done { progressAt = clock.now }
            done = now
            if clock.now - progressAt > .seconds(120) {
                throw BenchmarkError(description: "no event committed for 120 s; \(done) of \(total) committed")
            }
        }
    }

    /// Queues every event while no worker runs, then starts `workers` workers: the seconds the queueing took, and
    /// the seconds from the workers' start until the last event is committed. Then checks that each event was
    /// applied once: the run's accounts counted as many events as the log holds.
    private func measureBacklog(_ sample: [AccountEvent], runID: String, workers: Int) async throws -> (queued: Double, drained: Double) {
        let clock = ContinuousClock()
        let queued = try await withPipeline(workers: 0) { _, publisher in
            let began = clock.now
            try await publishPipelined(sample.map(Self.message), on: publisher)
            return (clock.now - began).seconds
        }
        logger.info("backlog queued", metadata: ["cairn.events": "\(sample.count)", "cairn.seconds": "\(queued)"])
        let prefix = "bench-\(runID)-"
        let (drained, counted) = try await withPipeline(workers: workers) { store, _ in
            let began = clock.now
            try await waitForAll(sample.count, store: store, prefix: prefix, began: began)
            let drained = (clock.now - began).seconds
            var counted = 0
            for try await value in try await store.client.query(
                "SELECT coalesce(sum(event_count), 0)::int8 FROM accounts WHERE account_id LIKE \(prefix + "%")", logger: logger
            ).decode(Int.self) {
                counted = value
            }
            return (drained, counted)
        }
        guard counted == sample.count else {
            throw BenchmarkError(description: "the backlog's accounts counted \(counted) events, the stream had \(sample.count)")
        }
        return (queued, drained)
    }

    /// Publishes the events at `rate` per second (a slice every 10 ms, each with confirms) while the workers apply
    /// them, and polls the log every 10 ms: an event is in the log exactly when its batch, with the account's new
    /// health, committed. Latency is from just before the publish call to the first poll that saw the event.
    private func measureLatency(_ sample: [AccountEvent], runID: String, rate: Int, accounts: Int, workers: Int) async throws -> LatencyRun {
        let poll = Duration.milliseconds(10)
        return try await withPipeline(workers: workers) { store, publisher in
            let clock = ContinuousClock()
            let messages = sample.map(Self.message)
            let began = clock.now
            async let sent = publishPaced(messages, rate: rate, tick: poll, from: began, on: publisher)
            let prefix = "bench-\(runID)-"
            var seenAt = [ContinuousClock.Instant?](repeating: nil, count: messages.count)
            var seen = 0, oldest = 0
            var progressAt = clock.now
            while seen < messages.count {
                let from = prefix + Self.sequence(oldest)
                let end = String(prefix.dropLast()) + "."
                let rows = try await store.client.query(
                    "SELECT message_id FROM events WHERE message_id >= \(from) AND message_id < \(end)", logger: logger)
                let now = clock.now
                for try await id in rows.decode(String.self) {
                    guard let index = Int(id.dropFirst(prefix.count)), index < seenAt.count, seenAt[index] == nil else { continue }
                    seenAt[index] = now
                    seen += 1
                    progressAt = now
                }
                while oldest < seenAt.count, seenAt[oldest] != nil { oldest += 1 }
                if now - progressAt > .seconds(120) {
                    throw BenchmarkError(description: "no event committed for 120 s; \(seen) of \(messages.count) seen")
                }
                try await Task.sleep(for: poll)
            }
            let sentAt = try await sent
            let seconds = (clock.now - began).seconds
            return LatencyRun(
                accounts: accounts, workers: workers, offeredRate: rate, events: messages.count, seconds: seconds,
                pollMilliseconds: 10, latency: LatencySummary(zip(seenAt, sentAt).map { ($0.0! - $0.1).seconds }))
        }
    }

    /// Publishes the messages at `rate` per second, a slice each tick: the publish time of each message.
    private func publishPaced(
        _ messages: [AMQPMessage], rate: Int, tick: Duration, from began: ContinuousClock.Instant, on publisher: AMQPConnection
    ) async throws -> [ContinuousClock.Instant] {
        let clock = ContinuousClock()
        var sent: [ContinuousClock.Instant] = []
        sent.reserveCapacity(messages.count)
        var next = began
        while sent.count < messages.count {
            try await Task.sleep(until: next, clock: clock)
            next = next.advanced(by: tick)
            // Every message due by now at `rate`, so a late tick catches up instead of lowering the rate.
            let due = min(messages.count, Int((clock.now - began).seconds * Double(rate)) + 1)
            guard due > sent.count else { continue }
            let slice = Array(messages[sent.count..<due])
            sent += Array(repeating: clock.now, count: slice.count)
            try await publisher.publish(slice)
        }
        return sent
    }

    static func message(_ event: AccountEvent) -> AMQPMessage {
        AMQPMessage(exchange: CairnTopology.events, routingKey: event.routingKey, body: event.encoded(), messageID: event.messageId)
    }

    /// Runs `body` with a store, a publisher and `workers` workers (each with its outbox relay, its own broker
    /// connection and its own database pool, as `cairn worker` processes have), all stopped when it returns.
    func withPipeline<T: Sendable>(
        workers: Int, _ body: @Sendable (Store, AMQPConnection) async throws -> T
    ) async throws -> T {
        let logger = self.logger
        let store = Store(configuration: settings.database, logger: quietPoolLogger(logger))
        // Each worker with its own connection pool, as `cairn worker` processes have: a worker keeps one of its
        // connections for its seat and partition locks, and applies its partitions' batches on the others.
        let workerStores = (0..<workers).map { _ in Store(configuration: settings.database, logger: quietPoolLogger(logger)) }
        let connections = (0..<workers).map { _ in
            AMQPConnection(configuration: settings.amqp, topology: CairnTopology.core, logger: logger)
        }
        let publisher = AMQPConnection(configuration: settings.amqp, topology: CairnTopology.core, logger: logger)
        let batch = settings.workerBatch
        let services = zip(connections, workerStores).flatMap { connection, store -> [@Sendable () async throws -> Void] in
            [
                { try await OutboxRelay(store: store, connection: connection, logger: logger).run() },
                {
                    var worker = EventWorker(store: store, connection: connection, logger: logger)
                    worker.maxBatch = batch
                    try await worker.run()
                },
            ]
        }
        return try await withBenchmarkServices(
            store: store, otherStores: workerStores, connections: connections + [publisher], services: services, logger: logger
        ) {
            try await body(store, publisher)
        }
    }

    /// Events of one run committed so far (or, `in: .accounts`, accounts stored under a prefix): a range of the
    /// table's primary key, so the poll reads only the run's index entries instead of scanning the whole table (it
    /// shares the database with the workers it measures).
    func count(_ store: Store, prefix: String, in table: KeyedTable = .events) async throws -> Int {
        // The prefix ends in "-"; "." is the next character, so the range holds exactly the keys with the prefix.
        let end = String(prefix.dropLast()) + "."
        let query: PostgresQuery = switch table {
        case .events: "SELECT count(*)::int8 FROM events WHERE message_id >= \(prefix) AND message_id < \(end)"
        case .accounts: "SELECT count(*)::int8 FROM accounts WHERE account_id >= \(prefix) AND account_id < \(end)"
        }
        for try await value in try await store.client.query(query, logger: logger).decode(Int.self) {
            return value
        }
        return 0
    }

    enum KeyedTable { case events, accounts }
}

extension Duration {
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}

/// A count that concurrent tasks add to.
private final class Tally: Sendable {
    private let count = Mutex(0)

    /// Adds `amount`; returns the new total.
    func add(_ amount: Int) -> Int {
        count.withLock { count in
            count += amount
            return count
        }
    }
}
