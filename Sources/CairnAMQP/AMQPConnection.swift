public import Logging
public import ServiceLifecycle
import Foundation

/// A RabbitMQ connection with a safe async API over rabbitmq-c.
///
/// All C calls run on one dedicated thread owned by `run()`; the methods here only hand work to that thread.
/// Publishing waits for publisher confirms (many concurrent publishes share one round of confirms); consuming
/// yields deliveries in arrays, as they arrive; acks are sent at once. The connection reconnects by itself with
/// backoff, declares `topology` again and resubscribes its consumers. While the broker is away, `publish` fails
/// fast with a transient `AMQPError` instead of waiting.
public final class AMQPConnection: Service, Sendable {
    public let configuration: AMQPConfiguration
    private let topology: AMQPTopology
    private let mailbox = Mailbox()
    private let logger: Logger
    private let closesOnGracefulShutdown: Bool

    /// - Parameters:
    ///   - topology: declared on every (re)connect before anything else happens on the connection.
    ///   - closesOnGracefulShutdown: false for an owner that still publishes during shutdown and calls `close()`
    ///     itself when done.
    public init(
        configuration: AMQPConfiguration, topology: AMQPTopology = .init(), closesOnGracefulShutdown: Bool = true,
        logger: Logger
    ) {
        self.configuration = configuration
        self.topology = topology
        self.closesOnGracefulShutdown = closesOnGracefulShutdown
        self.logger = logger
    }

    /// Runs the connection thread until graceful shutdown, cancellation or `close()`. Publishes still waiting for
    /// confirms get up to five seconds to finish; unacknowledged deliveries return to their queues.
    public func run() async throws {
        let (configuration, topology, mailbox, logger) = (self.configuration, self.topology, self.mailbox, self.logger)
        let closesOnGracefulShutdown = self.closesOnGracefulShutdown
        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                    let thread = Thread {
                        // Created on its thread and never shared: the driver is confined to it.
                        ConnectionDriver(configuration: configuration, topology: topology, mailbox: mailbox, logger: logger).run()
                        done.resume()
                    }
                    thread.name = "cairn-amqp"
                    thread.start()
                }
            } onCancel: {
                mailbox.requestClose()
            }
        } onGracefulShutdown: {
            if closesOnGracefulShutdown { mailbox.requestClose() }
        }
    }

    /// Asks the connection to close; `run()` returns once it has.
    public func close() { mailbox.requestClose() }

    /// True while connected to the broker.
    public var isConnected: Bool { mailbox.isConnected }

    /// Publishes the messages and returns when the broker has confirmed every one of them.
    ///
    /// Throws a transient `AMQPError` (`isTransient`) when the broker is unreachable or the connection dropped
    /// before all confirms came back: the messages may or may not be queued, so send them again (consumers
    /// deduplicate by message id).
    public func publish(_ messages: [AMQPMessage]) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let job = PublishJob(messages: messages, continuation: continuation)
            if !mailbox.send(.publish(job)) { job.abort(AMQPError.closed("connection closed")) }
        }
    }

    public func publish(_ message: AMQPMessage) async throws {
        try await publish([message])
    }

    /// Declares more of the topology now (for example a queue for a new CSM); it is declared again on reconnects.
    public func declare(_ topology: AMQPTopology) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            if !mailbox.send(.declare(topology, continuation)) {
                continuation.resume(throwing: AMQPError.closed("connection closed"))
            }
        }
    }

    /// Deletes a queue and its messages (benchmarks and tests clean up after themselves with it).
    public func deleteQueue(_ queue: String) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            if !mailbox.send(.deleteQueue(queue, continuation)) {
                continuation.resume(throwing: AMQPError.closed("connection closed"))
            }
        }
    }

    /// Starts consuming `queue` with manual acknowledgement and at most `prefetch` unacknowledged deliveries, on a
    /// channel of its own, so consumers sharing the connection never acknowledge each other's deliveries.
    /// The consumer ends when the connection closes.
    public func consume(queue: String, prefetch: UInt16) -> AMQPConsumer {
        let tag = "cairn-\(UUID().uuidString.lowercased())"
        let consumer = AMQPConsumer(tag: tag, mailbox: mailbox)
        let registration = ConsumerRegistration(queue: queue, prefetch: prefetch, tag: tag, consumer: consumer)
        if !mailbox.send(.consume(registration)) { consumer.finish() }
        return consumer
    }

    /// Takes the next ready message of `queue` without acknowledging it (`basic.get`), or nil when the queue is
    /// empty. The message stays the caller's until it is acked or nacked, or the connection closes (then the broker
    /// puts it back). AMQP has no peek: a look that leaves the queue as it was is a get followed by a requeue.
    public func get(queue: String) async throws -> AMQPGetResult? {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<AMQPGetResult?, any Error>) in
            if !mailbox.send(.get(queue, continuation)) {
                continuation.resume(throwing: AMQPError.closed("connection closed"))
            }
        }
    }

    /// Acknowledges a delivery (and, with `multiple`, every earlier one of the same consumer: each consumer has its
    /// own channel). A stale tag from before a reconnect is ignored: the broker has already put that message back.
    public func ack(_ tag: AMQPDeliveryTag, multiple: Bool = false) {
        _ = mailbox.send(.ack(tag, multiple: multiple))
    }

    /// Rejects a delivery; without `requeue` the queue dead-letters it.
    public func nack(_ tag: AMQPDeliveryTag, multiple: Bool = false, requeue: Bool) {
        _ = mailbox.send(.nack(tag, multiple: multiple, requeue: requeue))
    }
}

