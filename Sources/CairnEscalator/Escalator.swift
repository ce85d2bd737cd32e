public import CairnAMQP
import CairnCore
public import CairnStore
import Foundation
public import Logging
import Metrics
public import ServiceLifecycle

/// Consumes `cairn.signals.escalator` and turns signals into playbook tasks: at most one open task per account
/// and playbook, written with its outbox row in one transaction (the relay publishes it to the destination queue).
public struct Escalator: Service {
    public var prefetch: UInt16 = 256
    public var maxBatch = 128
    /// How long one batch's transaction may take before the process gives up and exits (see `Watchdog`).
    public var batchTimeout: Duration = .seconds(120)

    let store: Store
    let connection: AMQPConnection
    let clock: EvaluationClock
    let logger: Logger

    /// - Parameter clock: "now" for a signal's age and a task's creation time: the wall clock, or on the stream
    ///   clock (simulations, replays) each account's own latest event time.
    public init(store: Store, connection: AMQPConnection, clock: EvaluationClock = .wall, logger: Logger) {
        self.store = store
        self.connection = connection
        self.clock = clock
        self.logger = logger
    }

    public func run() async throws {
        var consumer = AMQPBatchConsumer(
            connection: connection, queue: CairnTopology.signalsEscalator, deadLetterExchange: CairnTopology.dead,
            logger: logger)
        consumer.prefetch = prefetch
        consumer.maxBatch = maxBatch
        let (store, logger, clock, batchTimeout) = (self.store, self.logger, self.clock, self.batchTimeout)
        await consumer.run(
            parse: { delivery in try Signal.parse(delivery.body) },
            apply: { signals in
                let configuration = store.engine
                let wall = Date()
                // On the stream clock an account's "now" is its own latest event time, so what a signal starts
                // does not depend on how far behind the escalator runs.
                let decide = { @Sendable (signal: Signal, account: AccountContext) -> EscalationPlan in
                    let now = clock == .stream ? max(account.lastEventAt ?? signal.at, signal.at) : wall
                    return Escalation.plan(for: signal, account: account, configuration: configuration, now: now)
                }
                let outcome = try await Watchdog.run(limit: batchTimeout, what: "a batch of \(signals.count) signals", logger: logger) {
                    try await store.handle(signals, logger: logger, decide: decide)
                }
                Counter(label: "cairn_escalator_tasks_created_total").increment(by: outcome.created)
                Counter(label: "cairn_escalator_tasks_updated_total").increment(by: outcome.updated)
                Counter(label: "cairn_escalator_tasks_cooled_down_total").increment(by: outcome.cooledDown)
                Counter(label: "cairn_escalator_outreach_total").increment(by: outcome.outreach)
                if outcome.created > 0 {
                    logger.info("tasks created", metadata: ["cairn.tasks_created": "\(outcome.created)"])
                }
            },
            // Only a refusal of the data itself isolates and dead-letters a message; any other failure (database
            // away, schema not migrated yet, deadlock) is retried, so no good event is ever discarded.
            isTransient: { error in !Store.isDataError(error) }, describe: Store.describe)
    }
}
