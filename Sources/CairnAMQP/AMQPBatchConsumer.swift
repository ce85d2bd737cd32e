public import Logging
import Metrics
import ServiceLifecycle

/// Consumes a queue in batches with the guarantees Cairn's roles share:
///
/// - a batch is acknowledged only after `apply` returned for it (after its transaction committed);
/// - a message that cannot be parsed, or that `apply` keeps refusing on its own, is published to the dead-letter
///   exchange with the reason in `x-cairn-error`, and acknowledged only once the broker confirmed the dead letter;
/// - while `apply` fails for a transient reason (database away), the batch is retried with backoff, never acked;
/// - on graceful shutdown the batch in hand is finished and acknowledged, then consumption stops.
public struct AMQPBatchConsumer: Sendable {
    public var queue: String
    public var prefetch: UInt16 = 512
    public var maxBatch: Int = 256
    public var deadLetterExchange: String
    public var maxRetryDelay: Duration = .seconds(5)

    let connection: AMQPConnection
    let logger: Logger

    public init(connection: AMQPConnection, queue: String, deadLetterExchange: String, logger: Logger) {
        self.connection = connection
        self.queue = queue
        self.deadLetterExchange = deadLetterExchange
        self.logger = logger
    }

    /// A message refused for good, and why.
    struct DeadLetter {
        let delivery: AMQPDelivery
        let reason: String
    }

    /// Runs until graceful shutdown or until the connection closes.
    /// - Parameters:
    ///   - parse: turns a delivery into an item; a throw dead-letters the delivery with the error's description.
    ///   - apply: applies a batch atomically; a throw means nothing of it was applied.
    ///   - isTransient: whether an `apply` error may go away by itself (then the batch is retried as it is);
    ///     otherwise the batch is split to find the message at fault.
    ///   - describe: the words for a lasting `apply` error in the dead letter's reason.
    public func run<Item: Sendable>(
        parse: @Sendable (AMQPDelivery) throws -> Item,
        apply: @Sendable ([Item]) async throws -> Void,
        isTransient: @Sendable (any Error) async -> Bool,
        describe: @Sendable (any Error) -> String = { "\($0)" }
    ) async {
        await run(connection.consume(queue: queue, prefetch: prefetch), parse: parse, apply: apply, isTransient: isTransient, describe: describe)
    }

    /// Runs on a consumer of `queue` that the caller started (so it can `cancel()` it): until graceful shutdown, the
    /// connection's close, or the consumer's cancel, after which the deliveries it still had are applied and
    /// acknowledged first.
    public func run<Item: Sendable>(
        _ consumer: AMQPConsumer,
        parse: @Sendable (AMQPDelivery) throws -> Item,
        apply: @Sendable ([Item]) async throws -> Void,
        isTransient: @Sendable (any Error) async -> Bool,
        describe: @Sendable (any Error) -> String = { "\($0)" }
    ) async {
        let maxBatch = self.maxBatch
        // Checked before each batch too: with deliveries already buffered, `next` answers at once and never sees
        // the cancellation, so without it a draining consumer would go on to empty the whole queue.
        while !Task.isShuttingDownGracefully,
            let batch = await cancelWhenGracefulShutdown({ await consumer.next(maxCount: maxBatch) })
        {
            guard await process(batch, parse: parse, apply: apply, isTransient: isTransient, describe: describe) else {
                logger.info("stopped consuming; the batch in hand is left to the broker", metadata: ["amqp.queue": "\(queue)"])
                return
            }
        }
        logger.info("stopped consuming", metadata: ["amqp.queue": "\(queue)"])
    }

    /// Returns false when shutting down left the batch unfinished (it is not acked, so the broker redelivers it).
    private func process<Item: Sendable>(
        _ batch: [AMQPDelivery], parse: (AMQPDelivery) throws -> Item, apply: ([Item]) async throws -> Void,
        isTransient: (any Error) async -> Bool, describe: (any Error) -> String
    ) async -> Bool {
        var items: [(AMQPDelivery, Item)] = []
        var dead: [DeadLetter] = []
        for delivery in batch {
            do {
                items.append((delivery, try parse(delivery)))
            } catch {
                dead.append(DeadLetter(delivery: delivery, reason: "\(error)"))
            }
        }
        let started = ContinuousClock.now
        guard await applyIsolating(items[...], dead: &dead, apply: apply, isTransient: isTransient, describe: describe),
            await publish(dead)
        else { return false }
        if let last = batch.map(\.tag).max() { connection.ack(last, multiple: true) }
        let dimensions = [("queue", queue)]
        Recorder(label: "cairn_consumer_batch_size", dimensions: dimensions).record(batch.count)
        Timer(label: "cairn_consumer_batch_seconds", dimensions: dimensions).record(duration: ContinuousClock.now - started)
        Counter(label: "cairn_consumer_messages_total", dimensions: dimensions + [("outcome", "applied")])
            .increment(by: batch.count - dead.count)
        if !dead.isEmpty {
            Counter(label: "cairn_consumer_messages_total", dimensions: dimensions + [("outcome", "dead_lettered")])
                .increment(by: dead.count)
        }
        return true
    }

    /// Applies the items; when `apply` refuses them for a lasting reason, splits them until the items at fault
    /// are alone, and dead-letters those.
    private func applyIsolating<Item>(
        _ items: ArraySlice<(AMQPDelivery, Item)>, dead: inout [DeadLetter], apply: ([Item]) async throws -> Void,
        isTransient: (any Error) async -> Bool, describe: (any Error) -> String
    ) async -> Bool {
        guard !items.isEmpty else { return true }
        var delay = Duration.milliseconds(100)
        while true {
            do {
                try await apply(items.map(\.1))
                return true
            } catch {
                if await isTransient(error) {
                    logger.warning("batch failed; retrying", metadata: ["cairn.queue": "\(queue)", "error": "\(error)"])
                    Counter(label: "cairn_consumer_batch_retries_total", dimensions: [("queue", queue)]).increment()
                    guard (try? await Task.sleep(for: delay)) != nil, !Task.isShuttingDownGracefully else { return false }
                    delay = min(delay * 2, maxRetryDelay)
                    continue
                }
                guard items.count > 1 else {
                    dead.append(DeadLetter(delivery: items.first!.0, reason: "rejected while applying: \(describe(error))"))
                    return true
                }
                let middle = items.startIndex + items.count / 2
                guard await applyIsolating(items[..<middle], dead: &dead, apply: apply, isTransient: isTransient, describe: describe) else {
                    return false
                }
                return await applyIsolating(items[middle...], dead: &dead, apply: apply, isTransient: isTransient, describe: describe)
            }
        }
    }

    /// Publishes dead letters with their reasons and waits for the broker's confirm.
    private func publish(_ dead: [DeadLetter]) async -> Bool {
        guard !dead.isEmpty else { return true }
        let messages = dead.map { letter in
            var message = AMQPMessage(
                exchange: deadLetterExchange, routingKey: queue, body: letter.delivery.body,
                messageID: letter.delivery.messageID)
            message.contentType = letter.delivery.contentType ?? "application/octet-stream"
            // Where it came from, so `cairn dead-letters replay` can send it back the same way.
            message.headers = [
                "x-cairn-error": String(letter.reason.prefix(1000)), "x-cairn-queue": queue,
                "x-cairn-exchange": letter.delivery.exchange, "x-cairn-routing-key": letter.delivery.routingKey,
            ]
            return message
        }
        var delay = Duration.milliseconds(100)
        while true {
            do {
                try await connection.publish(messages)
                for letter in dead {
                    logger.warning(
                        "message dead-lettered",
                        metadata: ["cairn.queue": "\(queue)", "cairn.message_id": "\(letter.delivery.messageID ?? "-")",
                                   "cairn.reason": "\(letter.reason.prefix(200))"])
                }
                return true
            } catch {
                logger.warning("dead-letter publish failed; retrying", metadata: ["error": "\(error)"])
                guard (try? await Task.sleep(for: delay)) != nil, !Task.isShuttingDownGracefully else { return false }
                delay = min(delay * 2, maxRetryDelay)
            }
        }
    }
}
