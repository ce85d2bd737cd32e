public import CairnAMQP
import CairnCore
public import CairnStore
public import Logging
import Metrics
public import ServiceLifecycle

/// Consumes `cairn.events.work` and applies each batch to PostgreSQL in one transaction, acknowledging the batch
/// only after it committed. Stateless: run as many as the load needs.
public struct EventWorker: Service {
    public var prefetch: UInt16 = UInt16(Self.defaultPrefetch)
    /// Unacknowledged deliveries a worker holds at most, unless `prefetch` is set.
    public static let defaultPrefetch = 512
    public var maxBatch = 256
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
