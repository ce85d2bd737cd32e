public import CairnAMQP
import CairnCore
public import CairnStore
public import Logging
import Metrics
public import ServiceLifecycle
import Synchronization

/// Applies the events of the work queues (`cairn.events.work.<n>`, one account's events all on one) to PostgreSQL,
/// one transaction per batch, acknowledging a batch only after it committed. Stateless: run as many as the load needs.
///
/// The workers share the partitions between them: each holds a seat among the running workers and takes every
/// n-th partition by its seat's rank (both are PostgreSQL session locks, see `WorkerSeat`). A worker consumes a
/// partition only while it holds that partition's lock, one batch at a time, so an account's events are applied in
/// the order they were published. When workers come or go, a partition changes hands only after its last owner has
/// applied and acknowledged everything it received from it; the queues also admit one consumer at a time (single
/// active consumer), so two workers never take deliveries from one partition at once.
public struct EventWorker: Service {
    /// The most events applied in one transaction (`CAIRN_WORKER_BATCH`). The worker holds twice as many
    /// unacknowledged deliveries (`prefetch`) per partition, so the next batch is waiting when one commits.
    public var maxBatch = Self.defaultBatch
    public static let defaultBatch = 256
    public static let largestBatch = 8_192
    /// Unacknowledged deliveries the worker holds at most per partition: twice `maxBatch`.
    public var prefetch: UInt16 { UInt16(Self.prefetch(forBatch: maxBatch)) }
    public static func prefetch(forBatch batch: Int) -> Int { 2 * batch }
    /// Unacknowledged deliveries a worker holds at most per partition with the default batch.
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

    /// How often the worker looks at who else is running, and takes or gives partitions.
    public var rebalanceInterval: Duration = .seconds(1)

    public func run() async throws {
        let lanes = Lanes()
        await withDiscardingTaskGroup { group in
            var slot: Int?
            var delay = Duration.milliseconds(200)
            while !Task.isShuttingDownGracefully, !Task.isCancelled {
                do {
                    try await store.withWorkerSeat(preferredSlot: slot) { seat in
                        slot = seat.slot
                        delay = .milliseconds(200)
                        logger.info("worker seat taken", metadata: ["cairn.worker_seat": "\(seat.slot)"])
                        // After a lost session (the database restarted), the partitions still consumed are kept only
                        // where their locks can be taken again; another worker may have taken one meanwhile.
                        for partition in lanes.active where !(try await seat.tryLock(partition: partition)) {
                            lanes.stop(partition)
                        }
                        // New partitions only from the second round: after a database restart every worker takes
                        // its seat again at about the same time, and the first round leaves each time to re-take its
                        // own partitions before another counts the workers and claims them.
                        var round = 0
                        while !Task.isShuttingDownGracefully, !Task.isCancelled {
                            round += 1
                            try await rebalance(seat, lanes: lanes, takingNew: round > 1) { partition, consumer in
                                group.addTask {
                                    await self.consume(partition: partition, consumer)
                                    lanes.finished(partition)
                                }
                            }
                            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: rebalanceInterval) }
                        }
                        // Keep the locks until every partition's last batch is acknowledged, so that no other worker
                        // starts on a partition before this one is done with it.
                        while !lanes.isEmpty, !Task.isCancelled { try? await Task.sleep(for: .milliseconds(20)) }
                    }
                } catch {
                    guard !Task.isShuttingDownGracefully, !Task.isCancelled else { break }
                    // The partitions in hand are kept: their batches wait for the database like any other.
                    logger.warning("worker seat lost; taking it again", metadata: ["error": "\(error)"])
                    let wait = delay
                    try? await cancelWhenGracefulShutdown { try await Task.sleep(for: wait) }
                    delay = min(delay * 2, .seconds(5))
                }
            }
        }
    }

    /// One round: gives back the partitions whose consumers finished, stops those that belong to another worker now,
    /// and starts consuming those that belong to this one and that no other worker holds any more.
    private func rebalance(
        _ seat: WorkerSeat, lanes: Lanes, takingNew: Bool, start: (Int, AMQPConsumer) -> Void
    ) async throws {
        for partition in lanes.takeFinished() { try await seat.unlock(partition: partition) }
        let members = try await seat.members()
        let mine = WorkerSeat.partitions(for: seat.slot, among: members, count: CairnTopology.eventPartitions)
        for partition in lanes.active where !mine.contains(partition) {
            logger.info("partition handed over", metadata: ["cairn.partition": "\(partition)", "cairn.workers": "\(members.count)"])
            lanes.stop(partition)
        }
        for partition in mine.sorted() where takingNew && !lanes.holds(partition) {
            guard try await seat.tryLock(partition: partition) else { continue }
            logger.info("partition taken", metadata: ["cairn.partition": "\(partition)", "cairn.workers": "\(members.count)"])
            let consumer = connection.consume(queue: CairnTopology.eventsWork(partition: partition), prefetch: prefetch)
            lanes.start(partition, consumer)
            start(partition, consumer)
        }
    }

    /// Consumes one partition until it is stopped (then applies and acknowledges what it still received), the
    /// connection closes, or graceful shutdown; then closes the consumer's channel.
    private func consume(partition: Int, _ consumer: AMQPConsumer) async {
        var batches = AMQPBatchConsumer(
            connection: connection, queue: CairnTopology.eventsWork(partition: partition),
            deadLetterExchange: CairnTopology.dead, logger: logger)
        batches.prefetch = prefetch
        batches.maxBatch = maxBatch
        let (store, logger, batchTimeout) = (self.store, self.logger, self.batchTimeout)
        await batches.run(
            consumer,
            // AccountEvent.parse refuses events over 64 KB (twice ingest's 32 KB per Segment event, which an event
            // grows past once ingest stamps it), so a direct publisher's oversized message is dead-lettered too.
            parse: { delivery in try AccountEvent.parse(delivery.body) },
            apply: { events in
                let outcome = try await Watchdog.run(limit: batchTimeout, what: "a batch of \(events.count) events", logger: logger) {
                    try await store.apply(events, partition: partition, logger: logger)
                }
                Counter(label: "cairn_worker_events_applied_total").increment(by: outcome.applied)
                Counter(label: "cairn_worker_events_duplicate_total").increment(by: outcome.duplicates)
                Counter(label: "cairn_worker_signals_total").increment(by: outcome.signals)
                Counter(label: "cairn_worker_events_parked_total").increment(by: outcome.parked)
                Counter(label: "cairn_worker_events_released_total").increment(by: outcome.released)
                logger.debug(
                    "batch committed",
                    metadata: ["cairn.partition": "\(partition)", "cairn.applied": "\(outcome.applied)",
                               "cairn.duplicates": "\(outcome.duplicates)", "cairn.signals": "\(outcome.signals)",
                               "cairn.parked": "\(outcome.parked)", "cairn.released": "\(outcome.released)"])
            },
            // Only a refusal of the data itself isolates and dead-letters a message; any other failure (database
            // away, schema not migrated yet, deadlock) is retried, so no good event is ever discarded.
            isTransient: { error in !Store.isDataError(error) }, describe: Store.describe)
        consumer.close()
    }
}

/// The partitions a worker consumes, and those whose consumers have finished since the last round.
final class Lanes: Sendable {
    private struct State {
        var consumers: [Int: AMQPConsumer] = [:]
        var stopping: Set<Int> = []
        var finished: Set<Int> = []
    }

    private let state = Mutex(State())

    /// Partitions consumed and not asked to stop.
    var active: [Int] { state.withLock { state in state.consumers.keys.filter { !state.stopping.contains($0) }.sorted() } }
    /// Whether the partition is still this worker's: consumed, stopping, or finished but not yet given back.
    func holds(_ partition: Int) -> Bool { state.withLock { $0.consumers[partition] != nil || $0.finished.contains(partition) } }
    var isEmpty: Bool { state.withLock { $0.consumers.isEmpty } }

    func start(_ partition: Int, _ consumer: AMQPConsumer) { state.withLock { $0.consumers[partition] = consumer } }

    /// Asks the partition's consumer to stop; it applies and acknowledges what it received, then finishes.
    func stop(_ partition: Int) {
        let consumer = state.withLock { state -> AMQPConsumer? in
            guard state.stopping.insert(partition).inserted else { return nil }
            return state.consumers[partition]
        }
        consumer?.cancel()
    }

    func finished(_ partition: Int) {
        state.withLock { state in
            state.consumers[partition] = nil
            state.stopping.remove(partition)
            state.finished.insert(partition)
        }
    }

    /// The partitions whose consumers finished since the last call: ready to be given back.
    func takeFinished() -> [Int] {
        state.withLock { state in
            defer { state.finished.removeAll() }
            return state.finished.sorted()
        }
    }
}
