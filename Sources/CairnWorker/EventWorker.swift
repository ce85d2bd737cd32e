public import CairnAMQP
import CairnCore
public import CairnStore
public import Logging
import Metrics
public import ServiceLifecycle

/// Consumes `cairn.events.work` and applies each batch to PostgreSQL in one transaction, acknowledging the batch
/// only after it committed. Stateless: run as many as the load needs.
public struct EventWorker: Service {
    /// The most events applied in one transaction (`CAIRN_WORKER_BATCH`). The worker holds twice as many
    /// unacknowledged deliveries (`prefetch`), so the next batch is waiting when one commits.
    public var maxBatch = Self.defaultBatch
    public static let defaultBatch = 256
    public static let largestBatch = 8_192
    /// Unacknowledged deliveries the worker holds at most: twice `maxBatch`.
    public var prefetch: UInt16 { UInt16(Self.prefetch(forBatch: maxBatch)) }
    public static func prefetch(forBatch batch: Int) -> Int { 2 * batch }
    /// Unacknowledged deliveries a worker holds at most with the default batch.
    public static let defaultPrefetch = prefetch(forBatch: defaultBatch)
    /// How long one batch's transaction may take before the process gives up and exits (see `Watchdog`).
    public var batchTimeout: Duration = .seconds(120)

    let store: Store
    let connection: AMQPConnection
    let logger: Logger

    public init(store: Store, connection: AMQPConnection, logger: Logger) {
        self.store = store
        self.connection = connection
        self.logger = logger
    }

    public func run() async throws {
        var consumer = AMQPBatchConsumer(
            connection: connection, queue: CairnTopology.eventsWork, deadLetterExchange: CairnTopology.dead, logger: logger)
        consumer.prefetch = prefetch
        consumer.maxBatch = maxBatch
        let (store, logger, batchTimeout) = (self.store, self.logger, self.batchTimeout)
        await consumer.run(
            // AccountEvent.parse refuses events over 64 KB (twice ingest's 32 KB per Segment event, which an event
            // grows past once ingest stamps it), so a direct publisher's oversized message is dead-lettered too.
            parse: { delivery in try AccountEvent.parse(delivery.body) },
            apply: { events in
                let outcome = try await Watchdog.run(limit: batchTimeout, what: "a batch of \(events.count) events", logger: logger) {
                    try await store.apply(events, logger: logger)
                }
                Counter(label: "cairn_worker_events_applied_total").increment(by: outcome.applied)
                Counter(label: "cairn_worker_events_duplicate_total").increment(by: outcome.duplicates)
                Counter(label: "cairn_worker_signals_total").increment(by: outcome.signals)
                Counter(label: "cairn_worker_events_parked_total").increment(by: outcome.parked)
                Counter(label: "cairn_worker_events_released_total").increment(by: outcome.released)
                logger.debug(
                    "batch committed",
                    metadata: ["cairn.applied": "\(outcome.applied)", "cairn.duplicates": "\(outcome.duplicates)",
                               "cairn.signals": "\(outcome.signals)", "cairn.parked": "\(outcome.parked)",
                               "cairn.released": "\(outcome.released)"])
            },
            // Only a refusal of the data itself isolates and dead-letters a message; any other failure (database
            // away, schema not migrated yet, deadlock) is retried, so no good event is ever discarded.
            isTransient: { error in !Store.isDataError(error) }, describe: Store.describe)
    }
}
