public import CairnAMQP
public import CairnStore
public import Logging
public import ServiceLifecycle

/// Relays the PostgreSQL outbox to RabbitMQ: signals to `cairn.signals`, tasks to `cairn.tasks`.
///
/// A row is marked sent only after the broker confirmed it, in the transaction that claimed it, so a crash
/// anywhere resends rather than loses (consumers recognise a resent message by its id). Task destinations get
/// their queue declared before the first publish, and task messages are mandatory: one that no queue takes fails
/// the round instead of vanishing.
public struct OutboxRelay: Service {
    public var batchSize = 256
    /// Wait after an empty round; doubles while the outbox stays empty, up to `maxIdleDelay`.
    public var minIdleDelay: Duration = .milliseconds(10)
    public var maxIdleDelay: Duration = .milliseconds(200)
    /// How long one round (read, publish, mark sent) may take before the process gives up and exits (see `Watchdog`).
    public var roundTimeout: Duration = .seconds(120)

    let store: Store
    let connection: AMQPConnection
    let logger: Logger

    public init(store: Store, connection: AMQPConnection, logger: Logger) {
        self.store = store
        self.connection = connection
        self.logger = logger
    }

    public func run() async throws {
        var declared = Set<String>()
        var delay = minIdleDelay
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let sent = await relayOnce(declared: &declared)
            delay = sent > 0 ? minIdleDelay : min(delay * 2, maxIdleDelay)
            if sent == 0 {
                let wait = delay
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: wait) }
            }
        }
        // On a graceful shutdown, last rounds until the outbox is empty (or a round fails), so what the batches
        // committed just before it wrote leaves now: one round takes at most `batchSize` rows, and the consumers'
        // last batches can leave more (the shutdown deadline bounds the whole). Cancellation means stop at once:
        // the pool may be closing too, and what is left is sent after a restart.
        var declaredAtEnd = declared
        while !Task.isCancelled, await relayOnce(declared: &declaredAtEnd) > 0 {}
    }

    /// One round: returns how many rows were sent (0 when there was nothing to send or the round failed).
    func relayOnce(declared: inout Set<String>) async -> Int {
        do {
            return try await Watchdog.run(limit: roundTimeout, what: "an outbox round", logger: logger) {
                try await sendRound(declared: &declared)
            }
        } catch is CancellationError {
            return 0  // the service is stopping: nothing failed
        } catch {
            logger.warning("outbox relay round failed; will retry", metadata: ["error": "\(error)"])
            return 0
        }
    }

    /// Reads a batch of unsent rows, publishes them with confirms (declaring task queues first seen), marks them sent.
    private func sendRound(declared: inout Set<String>) async throws -> Int {
        try await store.relayOutbox(limit: batchSize, logger: logger) { rows in
            for destination in Set(rows.filter { $0.exchange == CairnTopology.tasks }.map(\.routingKey)).sorted()
            where destination != "outreach" && !declared.contains(destination) {  // cairn.outreach is in the core topology
                try await connection.declare(CairnTopology.taskQueue(destination: destination))
                declared.insert(destination)
            }
            try await connection.publish(
                rows.map { row in
                    var message = AMQPMessage(
                        exchange: row.exchange, routingKey: row.routingKey, body: Array(row.payload.utf8),
                        messageID: row.messageID)
                    message.mandatory = row.exchange == CairnTopology.tasks
                    return message
                })
        }
    }
}
