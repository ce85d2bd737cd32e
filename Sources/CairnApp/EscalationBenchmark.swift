import CairnAMQP
import CairnCore
import CairnEscalator
import CairnRelay
import CairnStore
import CairnWorker
import Foundation
public import Logging
import PostgresNIO
import Synchronization

/// Measures signal → task: signals published to `cairn.signals` (a new champion, so the `new-key-contact` play
/// starts) while one escalator and its outbox relay run exactly as `cairn escalator` runs them; the latency of each
/// is the time from its publish until its task arrives on the account CSM's queue `cairn.tasks.csm.<id>`.
///
/// Two phases on fresh accounts each: signals paced at `rate` per second (the issue's goal is p99 ≤ 1 s at
/// 1,000 signals/s), then the same number published at once, whose drain time gives the escalator's capacity
/// in tasks per second. The accounts are made first through the real worker (`contract.signed` with an
/// enterprise ARR and `csm.assigned`), so the escalator reads the same context a production account has.
public struct EscalationBenchmark: Sendable {
    /// Signals in each phase; each is for an account of its own, so each starts one task.
    public var signals = 5_000
    /// Signals per second in the paced phase.
    public var rate = 1_000

    let settings: CairnSettings
    let logger: Logger

    public init(settings: CairnSettings, logger: Logger) {
        self.settings = settings
        self.logger = logger
    }

    public struct Phase: Sendable, Codable {
        /// Signals per second offered (nil: all at once).
        public var offeredRate: Int?
        public var signals: Int
        /// From the first publish until the last task arrived.
        public var seconds: Double
        public var tasksPerSecond: Double
        public var latency: LatencySummary
    }

    public struct Result: Sendable, Codable {
        public var paced: Phase
        public var burst: Phase
    }

    public func run() async throws -> Result {
        let runID = String(UUID().uuidString.prefix(8).lowercased())
        let csm = "bench-csm-\(runID)"
        let logger = self.logger
        let store = Store(configuration: settings.database, engine: settings.engine, logger: quietPoolLogger(logger))
        let taskQueue = CairnTopology.taskQueue(destination: "csm.\(csm)")
        let workerConnection = AMQPConnection(configuration: settings.amqp, topology: CairnTopology.core, logger: logger)
        let escalatorConnection = AMQPConnection(configuration: settings.amqp, topology: CairnTopology.core, logger: logger)
        let publisher = AMQPConnection(configuration: settings.amqp, topology: CairnTopology.core, logger: logger)
        let consumer = AMQPConnection(configuration: settings.amqp, topology: taskQueue, logger: logger)
        let services: [@Sendable () async throws -> Void] = [
            { try await EventWorker(store: store, connection: workerConnection, logger: logger).run() },
            { try await OutboxRelay(store: store, connection: workerConnection, logger: logger).run() },
            { try await Escalator(store: store, connection: escalatorConnection, logger: logger).run() },
            { try await OutboxRelay(store: store, connection: escalatorConnection, logger: logger).run() },
        ]
        return try await withBenchmarkServices(
            store: store, connections: [workerConnection, escalatorConnection, publisher, consumer], services: services,
            logger: logger
        ) {
            try await publisher.declare(CairnTopology.core)
            try await consumer.declare(taskQueue)

            let accounts = (0..<(2 * signals)).map { "bench-\(runID)-\(String(format: "%06d", $0))" }
            try await seed(accounts, csm: csm, store: store, publisher: publisher, runID: runID)
            try await waitForEscalatorIdle(store)
            logger.info("escalation benchmark accounts ready", metadata: ["cairn.accounts": "\(accounts.count)"])

            let arrivals = TaskArrivals(connection: consumer, queue: taskQueue.queues[0].name, runID: runID)
            async let received = arrivals.collect(count: 2 * signals)
            let paced = try await measure(Array(accounts[..<signals]), rate: rate, phase: "paced", arrivals: arrivals, publisher: publisher, runID: runID)
            let burst = try await measure(Array(accounts[signals...]), rate: nil, phase: "burst", arrivals: arrivals, publisher: publisher, runID: runID)
            _ = try await received
            return Result(paced: paced, burst: burst)
        }
    }

    /// Each account signs an enterprise contract and gets the CSM, through the worker; returns when all are committed.
    private func seed(_ accounts: [String], csm: String, store: Store, publisher: AMQPConnection, runID: String) async throws {
        let now = Date()
        var messages: [AMQPMessage] = []
        for (index, account) in accounts.enumerated() {
            let events = [
                AccountEvent(
                    messageId: "bench-\(runID)-contract-\(index)", type: .track, event: CanonicalEvent.contractSigned,
                    accountId: account, timestamp: now, properties: ["plan": "enterprise", "seats": 500, "arr": 250_000]),
                AccountEvent(
                    messageId: "bench-\(runID)-csm-\(index)", type: .track, event: CanonicalEvent.csmAssigned, accountId: account,
                    timestamp: now, properties: ["csmId": .string(csm)]),
            ]
            messages += events.map {
                AMQPMessage(exchange: CairnTopology.events, routingKey: $0.routingKey, body: $0.encoded(), messageID: $0.messageId)
            }
        }
        for offset in stride(from: 0, to: messages.count, by: 500) {
            try await publisher.publish(Array(messages[offset..<min(offset + 500, messages.count)]))
        }
        let first = accounts.first!, last = accounts.last!
        while try await scalar(
            store,
            """
            SELECT count(*)::int8 FROM accounts WHERE account_id >= \(first) AND account_id <= \(last)
                AND csm_id = \(csm) AND segment = 'enterprise'
            """) < accounts.count
        {
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// Waits until every signal in the outbox has been relayed and handled by the escalator, so the measurement does
    /// not queue behind the seeding's own signals (or earlier benchmark runs' signals, which no escalator handled).
    private func waitForEscalatorIdle(_ store: Store) async throws {
        while true {
            let pending = try await scalar(
                store,
                """
                SELECT (SELECT count(*) FROM outbox WHERE sent_at IS NULL)
                    + (SELECT count(DISTINCT message_id) FROM outbox WHERE exchange = \(CairnTopology.signals))
                    - (SELECT count(*) FROM processed_messages WHERE consumer = \(Store.escalatorConsumer))
                """)
            if pending <= 0 { return }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    private func measure(
        _ accounts: [String], rate: Int?, phase: String, arrivals: TaskArrivals, publisher: AMQPConnection, runID: String
    ) async throws -> Phase {
        let clock = ContinuousClock()
        let began = clock.now
        let tick = Duration.milliseconds(10)
        let perTick = rate.map { max(1, $0 / 100) } ?? 500
        var next = began
        for offset in stride(from: 0, to: accounts.count, by: perTick) {
            if rate != nil {
                try await Task.sleep(until: next, clock: clock)
                next = next.advanced(by: tick)
            }
            let sentAt = Date().timeIntervalSince1970
            let messages = accounts[offset..<min(offset + perTick, accounts.count)].map { account in
                let signal = Signal(
                    signalId: "bench-\(runID)-\(phase)-\(account)", kind: SignalKind.contactRoleChanged, accountId: account,
                    at: Date(timeIntervalSince1970: sentAt),
                    data: ["role": "champion", "userId": "new-champion", "benchSentAt": .number(sentAt)])
                return AMQPMessage(exchange: CairnTopology.signals, routingKey: signal.kind, body: signal.encoded(), messageID: signal.signalId)
            }
            try await publisher.publish(messages)  // with confirms; all at once, one call of 500 after another
        }
        let latencies = try await arrivals.wait(for: Set(accounts))
        let seconds = (clock.now - began).seconds
        return Phase(
            offeredRate: rate, signals: accounts.count, seconds: seconds, tasksPerSecond: Double(accounts.count) / seconds,
            latency: LatencySummary(latencies))
    }

    private func scalar(_ store: Store, _ query: PostgresQuery) async throws -> Int {
        for try await value in try await store.client.query(query, logger: logger).decode(Int.self) { return value }
        return 0
    }
}

/// Task messages arriving on one queue: for each account of the run, the seconds from its signal's publish
/// (`benchSentAt` in the trigger's detail) to the task's arrival.
final class TaskArrivals: Sendable {
    let connection: AMQPConnection
    let queue: String
    let runID: String
    private let state = Mutex([String: Double]())

    init(connection: AMQPConnection, queue: String, runID: String) {
        self.connection = connection
        self.queue = queue
        self.runID = runID
    }

    /// Consumes until `count` benchmark tasks have arrived (other tasks on the queue, from the seeding's own
    /// signals, are acknowledged and ignored).
    func collect(count: Int) async throws {
        for await deliveries in connection.consume(queue: queue, prefetch: 1000) {
            let now = Date().timeIntervalSince1970
            var arrived: [String: Double] = [:]
            for delivery in deliveries {
                guard let task = try? TaskMessage.parse(delivery.body), task.playbook == "new-key-contact",
                    let sentAt = task.trigger.detail["benchSentAt"]?.doubleValue
                else { continue }
                arrived[task.accountId] = now - sentAt
            }
            if let last = deliveries.last { connection.ack(last.tag, multiple: true) }
            let total = state.withLock { seen in
                seen.merge(arrived) { first, _ in first }
                return seen.count
            }
            if total >= count { return }
        }
        throw BenchmarkError(description: "the task queue \(queue) closed before every task arrived")
    }

    /// Waits (up to two minutes) until every account in `accounts` has its task; their latencies in seconds.
    func wait(for accounts: Set<String>) async throws -> [Double] {
        let deadline = ContinuousClock.now.advanced(by: .seconds(120))
        while ContinuousClock.now < deadline {
            let latencies = state.withLock { seen in accounts.compactMap { seen[$0] } }
            if latencies.count == accounts.count { return latencies }
            try await Task.sleep(for: .milliseconds(5))
        }
        throw BenchmarkError(description: "not every task arrived on \(queue) within two minutes")
    }
}

/// Latency percentiles from every sample (sorted, so exact), in milliseconds.
public struct LatencySummary: Sendable, Codable {
    public var count: Int
    public var p50: Double
    public var p90: Double
    public var p99: Double
    public var max: Double

    init(_ seconds: [Double]) {
        let sorted = seconds.sorted()
        func at(_ fraction: Double) -> Double {
            guard !sorted.isEmpty else { return 0 }
            let index = Swift.min(sorted.count - 1, Int((fraction * Double(sorted.count)).rounded(.up)) - 1)
            return sorted[Swift.max(0, index)] * 1000
        }
        count = sorted.count
        p50 = at(0.50)
        p90 = at(0.90)
        p99 = at(0.99)
        max = (sorted.last ?? 0) * 1000
    }
}

struct BenchmarkError: Error, CustomStringConvertible {
    let description: String
}
